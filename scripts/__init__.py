"""Maintenance scripts. Those that use test helpers run as modules from the repo root,
e.g. `.venv/bin/python -m scripts.hardening_table`, so `tests.helpers` imports without any path patch."""
