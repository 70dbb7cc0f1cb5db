"""Evaluation in llama.cpp, the runtime users get (never torch)."""
