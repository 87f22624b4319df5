""".env.example is the Settings class rendered: every variable, its default and its comment; it cannot drift."""

from pathlib import Path

from hookline.config import ENV_PREFIX, Settings
from hookline.env_example import Group, groups, render, undocumented
from tests.support.cli import hookline

ROOT = Path(__file__).resolve().parents[1]


def test_committed_env_example_is_the_rendered_settings_class():
    assert (ROOT / ".env.example").read_text() == render(), \
        "settings changed: run `uv run hookline settings example > .env.example`"


def test_every_setting_is_in_the_file_with_its_default():
    text = render()

    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = "" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
        line = f"# {ENV_PREFIX}{name.upper()}="
        assert line in text
        if "\n" not in shown:
            assert f"{line}{shown}\n" in text


def test_every_setting_has_a_comment_in_the_class():
    assert undocumented() == []


def test_a_comment_block_describes_the_fields_below_it_until_a_blank_line():
    source = '''
class Settings:
    model_config = {}
    # Where it listens.
    host: str = "x"
    port: int = 1  # the TCP port

    plain: int = 2
    # Two lines
    # of comment.
    other: bool = True
'''

    assert groups(source) == [
        Group(["Where it listens."], [("host", None), ("port", "the TCP port")]),
        Group([], [("plain", None)]),
        Group(["Two lines", "of comment."], [("other", None)]),
    ]


def test_check_command_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / ".env.example"
    stale.write_text(render().replace(f"# {ENV_PREFIX}PORT=8000", f"# {ENV_PREFIX}PORT=8001"))

    assert hookline("settings", "example", "--check", str(ROOT / ".env.example")).returncode == 0
    failed = hookline("settings", "example", "--check", str(stale))
    assert failed.returncode == 1 and "hookline settings example >" in failed.stderr
