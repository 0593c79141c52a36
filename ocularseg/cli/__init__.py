"""Command-line interface (Typer). The only layer that prints or exits."""
