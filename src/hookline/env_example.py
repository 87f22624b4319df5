""".env.example, rendered from the Settings class: every variable, its default, and the comments above it.

The comments in config.py are the settings' documentation, so they are read from its source (a
comment block above a field describes it and the fields that follow it without a blank line).
Nothing reads the environment: the defaults are the class's own.
"""

from __future__ import annotations

import ast
import inspect
import io
import tokenize
import typing
from dataclasses import dataclass, field

from pydantic.fields import FieldInfo

from hookline import config
from hookline.config import ENV_PREFIX, Settings

HEADER = f"""\
# Hookline's settings: every {ENV_PREFIX}* variable with its default, commented out. Copy what you change
# into .env (read from the working directory at start) or into the environment, and uncomment it.
# Generated from src/hookline/config.py by `hookline settings example > .env.example`: do not edit by
# hand (tests/test_env_example.py fails when the two differ)."""


@dataclass
class Group:
    """Fields declared together under one comment block."""

    comment: list[str]
    fields: list[tuple[str, str | None]] = field(default_factory=list)  # (name, its own trailing comment)


def groups(source: str, class_name: str = "Settings") -> list[Group]:
    """The class's annotated fields in source order, grouped under the comment blocks above them."""
    comments, alone = {}, set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
            if token.line.lstrip().startswith("#"):
                alone.add(token.start[0])
    [cls] = [node for node in ast.parse(source).body if isinstance(node, ast.ClassDef) and node.name == class_name]
    found: list[Group] = []
    previous_end = None
    for node in cls.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above: list[str] = []
        line = node.lineno - 1
        while line in alone:
            above.insert(0, comments[line])
            line -= 1
        if above or previous_end != node.lineno - 1 or not found:  # a comment or a blank line starts a group
            found.append(Group(above))
        end = node.end_lineno or node.lineno  # ast.parse always sets end_lineno
        own = comments.get(end) if end not in alone else None
        found[-1].fields.append((node.target.id, own))
        previous_end = end
    return found


def default_text(info: FieldInfo) -> str:
    """The default as an environment variable spells it; empty for "unset"."""
    value = info.get_default(call_default_factory=True)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    if "\n" in text:
        return f"<built in: {len(text.splitlines())} lines, too long to show>"
    return text


def choices(info: FieldInfo) -> str | None:
    if typing.get_origin(info.annotation) is typing.Literal:
        return " | ".join(map(str, typing.get_args(info.annotation)))
    return None


def render() -> str:
    fields = Settings.model_fields
    out = [HEADER]
    for group in groups(inspect.getsource(config)):
        out.append("")
        out.extend(f"# {line}".rstrip() for line in group.comment)
        for name, own in group.fields:
            info = fields[name]
            for note in filter(None, (own, info.description)):  # a trailing comment, a Field(description=…)
                out.append(f"# {name.upper()}: {note}")
            if choices(info):
                out.append(f"# one of: {choices(info)}")
            out.append(f"# {ENV_PREFIX}{name.upper()}={default_text(info)}")
    return "\n".join(out) + "\n"


def undocumented() -> list[str]:
    """Fields with no comment at all: a setting nobody can look up."""
    return [name for group in groups(inspect.getsource(config)) for name, own in group.fields
            if not group.comment and not own and not Settings.model_fields[name].description]
