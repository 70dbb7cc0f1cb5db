"""One module per subcommand; each exposes a Typer `app` (see t2l_edge/cli.py)."""
