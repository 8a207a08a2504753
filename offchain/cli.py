"""Helpers shared by the `ape run` scripts: accounts, time on local chains, tables, errors."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable

import click
from rich.console import Console
from rich.table import Table

from offchain.errors import NeuralCommonsError

console = Console()
ETH = 10**18


def resolve_account(account, provider):
    """The `--account` given, else the first test account on a local network."""
    if account is not None:
        return account
    if provider.network.name == "local":
        from ape import accounts

        return accounts.test_accounts[0]
    raise click.UsageError(f"--account is required on network '{provider.network.name}'")


def require_local(provider, what: str) -> None:
    """Time travel and test accounts exist only on local chains."""
    if provider.network.name != "local":
        raise click.UsageError(f"{what} needs a local network (the embedded chain or anvil)")


def advance_time(seconds: int) -> None:
    """Moves a local chain's clock forward and mines a block."""
    from ape import chain

    chain.pending_timestamp += seconds
    chain.mine()


def fmt_eth(wei: int) -> str:
    return f"{wei / ETH:,.6f}"


def fmt_tokens(wei: int) -> str:
    return f"{wei / ETH:,.0f}"


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable]) -> Table:
    t = Table(title=title, title_justify="left")
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*[str(cell) for cell in row])
    return t


def quiet_ape() -> None:
    """Keeps ape's per-transaction INFO lines out of tables meant for people."""
    from ape.logging import logger

    logger.set_level("WARNING")


def user_errors(func: Callable) -> Callable:
    """Turns this package's errors and ape's (reverts, conversions, connections) into one line and exit 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ape.exceptions import ApeException

        try:
            return func(*args, **kwargs)
        except (NeuralCommonsError, ApeException) as exc:
            console.print(f"[red]error:[/red] {exc}")
            sys.exit(1)

    return wrapper
