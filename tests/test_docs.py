"""docs/architecture.md stays a map a newcomer reads in ten minutes, and names only what exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "hookline"
MAP = ROOT / "docs" / "architecture.md"
MAX_LINES = 250

SOURCE_PATH = re.compile(r"src/hookline/[\w/.-]*\w")
# `hookline.a.b`, or the same without its `hookline.` (`services.inbox.take`).
PACKAGES = sorted(path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file())
MODULE = re.compile(rf"(?<![\w/.])(?:hookline|{'|'.join(PACKAGES)})(?:\.\w+)+")
# A bare module file name, as in the folder tree: it must be somewhere in the package.
FILE_NAME = re.compile(r"(?<![\w/.-])(\w+\.py)\b")
# A relative file path such as `ingress/app.py` or `bench/ingress.py`: under src/hookline/ or the checkout.
FILE_PATH = re.compile(r"(?<![\w/.-])((?:\w+/)+\w+\.(?:py|md|html|txt|toml|yaml|lua))\b")


def module_file(dotted: str) -> Path | None:
    """The file or package of a dotted module name under src/, or None."""
    path = ROOT / "src" / Path(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def defines(module: Path, name: str) -> bool:
    """Whether `module` binds `name` at its top level (a function, a class, an assignment, an import)."""
    tree = ast.parse(module.read_text())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(target, ast.Name) and target.id == name for target in targets):
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (alias.asname or alias.name) == name for alias in node.names):
            return True
    return False


def module_exists(dotted: str) -> bool:
    """`hookline.a.b` is a module or package, or `hookline.a.b.name` a top-level name of one."""
    if module_file(dotted) is not None:
        return True
    parent, _, name = dotted.rpartition(".")
    found = module_file(parent) if "." in parent else None
    return found is not None and defines(found, name)


def untrue_names(text: str) -> list[str]:
    """Every source path, module and file path in `text` that the checkout does not have."""
    missing = []
    for match in SOURCE_PATH.findall(text):
        if not (ROOT / match).exists():
            missing.append(match)
    for match in MODULE.findall(text):
        if not module_exists(match if match.startswith("hookline.") else f"hookline.{match}"):
            missing.append(match)
    names = {path.name for path in PACKAGE.rglob("*.py")}
    missing.extend(name for name in FILE_NAME.findall(text) if name not in names)
    for match in FILE_PATH.findall(text):
        if not any((base / match).exists() for base in (PACKAGE, ROOT)) and not match.startswith("src/"):
            missing.append(match)
    return missing


def test_the_map_is_short() -> None:
    lines = MAP.read_text().count("\n")
    assert lines <= MAX_LINES, f"docs/architecture.md has {lines} lines; the map keeps to {MAX_LINES}"


def test_the_map_names_only_what_exists() -> None:
    assert untrue_names(MAP.read_text()) == []


def test_an_untrue_name_is_found() -> None:
    text = ("`src/hookline/ingress/app.py`, `hookline.ingress.app`, `hookline.ingress.app.create_app`, "
            "`ingress/ghl.py`, `bench/ingress.py`, `services.inbox.take`, `redaction.py`; and untrue: "
            "`src/hookline/ingress/gone.py`, `hookline.ingress.gone`, `hookline.ingress.app.no_such_name`, "
            "`services.inbox.no_such_name`, `gone.py`, `workers/gone.py`")
    assert untrue_names(text) == ["src/hookline/ingress/gone.py", "hookline.ingress.gone",
                                  "hookline.ingress.app.no_such_name", "services.inbox.no_such_name", "gone.py",
                                  "workers/gone.py"]
