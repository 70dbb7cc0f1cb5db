"""Helpers shared by the tests and a few scripts: tiny models built in code, fixtures, case lists."""
