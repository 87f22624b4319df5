"""The CLI imports an admin command only when it runs: every process of `hookline dev` starts through hookline.cli."""

import subprocess
import sys

from click.testing import CliRunner

from hookline.cli import COMMANDS, main


def test_importing_the_cli_imports_no_command_module_nor_the_database_layer():
    code = ("import sys, hookline.cli; print(sorted(m for m in sys.modules if m.startswith('hookline.commands.')"
            " or m in ('hookline.db', 'sqlalchemy', 'celery')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert loaded == "['hookline.commands.lazy']"


def test_help_lists_every_command_with_its_docstring_and_each_one_runs():
    listing = CliRunner().invoke(main, ["--help"]).output

    for name in COMMANDS:
        assert f"\n  {name} " in listing, name
    assert "Webhook events in the inbox: look at them, replay them." in listing  # events' docstring, read from source
    events = CliRunner().invoke(main, ["events", "--help"])
    assert events.exit_code == 0 and "Usage: main events" in events.output
    assert CliRunner().invoke(main, ["no-such-command"]).exit_code == 2
