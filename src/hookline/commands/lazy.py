"""A click group whose subcommands are imported only when one of them runs.

Every `hookline` process starts through hookline.cli, and the admin commands import the models,
the services and Celery: `hookline web`, `console`, `flower`, `metrics-exporter` and `dev` paid for
all of them at each start. `--help` lists them from their functions' docstrings, read from source.
"""

from __future__ import annotations

import ast
import importlib
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import click


class LazyGroup(click.Group):
    """`lazy`: {command name: "module:attribute"}, imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, _, attribute = self.lazy[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name=name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, with the help of commands not imported yet taken from their source."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names), default=0)
        rows = []
        for name in names:
            if name in self.lazy and name not in self.commands:
                rows.append((name, click.Command(name, help=_docstring(self.lazy[name])).get_short_help_str(limit)))
            elif (command := self.get_command(ctx, name)) is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _docstring(target: str) -> str:
    """The docstring of "module:function", from the module's source (nothing is imported)."""
    module, _, attribute = target.partition(":")
    spec = find_spec(module)
    if spec is None or spec.origin is None:
        return ""
    for node in ast.parse(Path(spec.origin).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name == attribute:
            return ast.get_docstring(node) or ""
    return ""
