"""Groups of `hookline` subcommands that outgrew cli.py, one module a group."""
