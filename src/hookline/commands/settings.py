"""`hookline settings …`: the settings as a file (.env.example), rendered from the Settings class."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("settings")
def settings_group() -> None:
    """Hookline's settings (HOOKLINE_* variables)."""


@settings_group.command("example")
@click.option("--check", "check", type=click.Path(dir_okay=False, path_type=Path),
              help="Compare with this file instead of printing; exit 1 if it differs.")
def example(check: Path | None) -> None:
    """Every variable with its default and description, commented out: the text of .env.example."""
    from hookline.env_example import render

    text = render()
    if check is None:
        click.echo(text, nl=False)
        return
    if not check.is_file() or check.read_text() != text:
        raise click.ClickException(f"{check} differs from the settings class: "
                                   f"run `hookline settings example > {check}`")
    click.echo(f"{check} is up to date")
