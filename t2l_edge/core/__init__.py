"""Shared foundations every stage uses: the architecture table, the base model's identity,
the in-memory Adapter, user-facing errors, paths, atomic writes and the digest cache.
Imports neither torch nor llama.cpp."""
