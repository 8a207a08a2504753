"""Every `ape run` command and subcommand answers `--help` (exit 0, a usage line, no traceback)."""

import click
import pytest

from tests.unit.cli.conftest import COMMANDS, load_script


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
