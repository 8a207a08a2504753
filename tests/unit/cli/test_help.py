"""Every `ape run` command and subcommand answers `--help` (exit 0, a usage line, no traceback)."""

import re

import click
import pytest

from tests.unit.cli.conftest import COMMANDS, SCRIPTS, load_script


def _invocations() -> list[tuple[str, ...]]:
    found = []
    for name in COMMANDS:
        command = load_script(name).cli
        found.append((name,))
        if isinstance(command, click.Group):
            found.extend((name, sub) for sub in sorted(command.commands))
    return found


INVOCATIONS = _invocations()


def test_help__covers_every_user_group():
    names = {invocation[0] for invocation in INVOCATIONS}
    assert {"token", "model", "worker", "infer", "channel", "treasury", "dao", "campaign", "bounty", "deploy",
            "serve_channels"} <= names
    assert len(INVOCATIONS) >= 60


@pytest.mark.parametrize("invocation", INVOCATIONS, ids=" ".join)
def test_help__every_command__usage_and_exit_zero(run_cli, invocation):
    ran = run_cli(*invocation, "--help")
    assert ran.code == 0, ran.out
    assert "Usage:" in ran.out
    assert "Traceback" not in ran.out


def _command_rows() -> dict[str, str]:
    """docs/commands.md's "Every command" table: the row of each command (its first cell, unquoted)."""
    text = (SCRIPTS.parent / "docs" / "commands.md").read_text()
    table = text.split("## Every command\n", 1)[1].split("\n## ", 1)[0]
    return {row.split("|")[1].strip().strip("`"): row for row in table.splitlines() if row.startswith("| `")}


def test_commands_doc__every_command_and_subcommand__has_a_row():
    rows = _command_rows()
    for invocation in INVOCATIONS:
        name = invocation[0]
        assert name in rows, f"docs/commands.md's 'Every command' table has no row for `{name}`"
        if len(invocation) == 2:
            sub = invocation[1]
            assert f"{name} {sub}" in rows or re.search(rf"[`/ [(]{re.escape(sub)}[ /`\])]", rows[name].split("|")[3]), \
                f"docs/commands.md's row of `{name}` does not name its subcommand `{sub}`"
