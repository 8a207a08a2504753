"""Helpers shared by the `ape run` scripts: accounts, amounts and durations, time on local chains,
tables, and one-line errors.

Conventions every command follows:

* Amounts of ETH or NCOM go through Ape's conversion: `"0.1 ether"`, `"500 gwei"`, `"10 wei"`;
  a bare number means whole units (ether, or whole NCOM): `2.5` is `2.5 ether`.
* Durations take a unit: `2d`, `6h`, `30m`, `45s`, `1w`; a bare number means seconds.
* A wrong input ends with one line `error: <what is wrong and what to do>` and exit status 1
  (2 for a malformed command line); `-v DEBUG` shows the traceback of unexpected errors.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
import warnings
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation, localcontext

import click
from ape.cli import ConnectedProviderCommand, account_option
from rich.console import Console
from rich.table import Table

from offchain.errors import InvalidInput, NeuralCommonsError

# pydantic-settings warns about a forward reference in ape-vyper's config model the first time the project's
# config is loaded (after the script is imported, when a command first touches `project`): a library's
# harmless notice that users cannot act on. Every script imports this module first, so the filter is in place.
warnings.filterwarnings("ignore", message=r"Field '.*' has an incomplete definition")

# Piped or captured output is not folded at 80 columns: ids and addresses stay whole for copying and grep.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
ETH = 10**18
UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_AMOUNT = re.compile(r"^\s*(\S+)\s*([a-zA-Z]*)\s*$")
_WEI_UNITS = {"wei": 1, "kwei": 10**3, "mwei": 10**6, "gwei": 10**9, "szabo": 10**12, "finney": 10**15,
              "ether": ETH, "eth": ETH, "ncom": ETH}


def resolve_account(account, provider):
    """The `--account` given, else the first test account on a local network."""
    if account is not None:
        return account
    if provider.network.name == "local":
        from ape import accounts

        return accounts.test_accounts[0]
    raise InvalidInput(f"--account is required on network '{provider.network.name}': pass --account <alias>")


def require_local(provider, what: str) -> None:
    """Time travel and test accounts exist only on local chains."""
    if provider.network.name != "local":
        raise InvalidInput(f"{what} needs a local network (the embedded chain or anvil); on "
                           f"'{provider.network.name}' time passes by itself")


def advance_time(seconds: int) -> int:
    """Moves a local chain's clock `seconds` past its head block and mines a block; returns the new head time."""
    from ape import chain

    return advance_to(chain.blocks.head.timestamp + seconds)


def advance_to(timestamp: int) -> int:
    """Mines a block at `timestamp`, or now where that is later; returns the new head time.

    Works on any local dev node: the embedded chain, anvil, hardhat (`evm_increaseTime` and `evm_mine` where
    the provider has no helper). Give deadlines as absolute times: the pending block of a node that follows the
    wall clock (anvil) is seconds ahead of the head on a slow machine, so "deadline - pending" added to the head
    can land before the deadline."""
    from ape import chain
    from ape.exceptions import APINotImplementedError

    try:
        chain.mine(timestamp=max(timestamp, chain.pending_timestamp))
    except (APINotImplementedError, NotImplementedError):
        chain.provider.make_request("evm_increaseTime", [max(0, timestamp - chain.blocks.head.timestamp)])
        chain.provider.make_request("evm_mine", [])
    return chain.blocks.head.timestamp


def parse_amount(text: str | int, what: str = "amount", *, allow_zero: bool = False) -> int:
    """Wei from `"0.1 ether"`, `"500 gwei"`, `"10 wei"` or a bare number of ether (`2.5`)."""
    raw = str(text).strip()
    match = _AMOUNT.match(raw)
    hint = "write it like 0.1, '0.1 ether' or '500 gwei'"
    if not match:
        raise InvalidInput(f"{what} '{text}' is not an amount: {hint}")
    number, unit = match.group(1), (match.group(2).lower() or "ether")
    if unit not in _WEI_UNITS:
        raise InvalidInput(f"{what} '{text}' has an unknown unit '{unit}': use ether, gwei or wei")
    try:
        value = Decimal(number.replace("_", ""))
    except InvalidOperation:
        raise InvalidInput(f"{what} '{text}' is not a number: {hint}") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} '{text}' is not a number: {hint}")
    if value < 0:
        raise InvalidInput(f"{what} '{text}' is negative: amounts are positive")
    with localcontext(prec=100):  # exact for any uint256 amount (the default 28 digits would round)
        wei = value * _WEI_UNITS[unit]
    if wei != wei.to_integral_value():
        raise InvalidInput(f"{what} '{text}' is a fraction of a wei")
    if wei == 0 and not allow_zero:
        raise InvalidInput(f"{what} '{text}' is zero: give a positive amount")
    return int(wei)


def parse_duration(text: str | int, what: str = "duration") -> int:
    """Seconds from `2d`, `6h`, `30m`, `45s`, `1w` or a bare number of seconds."""
    match = _DURATION.match(str(text))
    if not match:
        raise InvalidInput(f"{what} '{text}' is not a duration: write it like 2d, 6h, 30m or 45s")
    seconds = Decimal(match.group(1)) * UNITS[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise InvalidInput(f"{what} '{text}' is not positive")
    return int(seconds)


def parse_count(text: str | int, what: str) -> int:
    """A positive whole number."""
    try:
        value = int(str(text).replace("_", ""))
    except ValueError:
        raise InvalidInput(f"{what} '{text}' is not a whole number") from None
    if value <= 0:
        raise InvalidInput(f"{what} must be positive, got {text}")
    return value


def parse_address(text: str, what: str = "address") -> str:
    """A checksummed address from `0x` + 40 hex digits, or an account alias Ape knows (`TEST::5` for a test
    account)."""
    from eth_utils import is_address, to_checksum_address

    if is_address(text):
        return to_checksum_address(text)
    try:
        from ape import accounts

        if (test := re.fullmatch(r"TEST::(\d+)", text.strip())) is not None:  # as `--account TEST::5` names them
            return str(accounts.test_accounts[int(test.group(1))].address)
        return str(accounts.load(text).address)
    except Exception:  # noqa: BLE001  (any failure to resolve an alias is the same user error)
        raise InvalidInput(f"{what} '{text}' is neither an address (0x + 40 hex digits) nor an account alias") from None


def fmt_eth(wei: int) -> str:
    """ETH with at least 6 decimals, and every further one that is not zero (1 gwei is 0.000000001)."""
    whole, _, fraction = f"{Decimal(int(wei)) / ETH:,.18f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(6, '0')}"


def fmt_tokens(wei: int) -> str:
    return f"{wei / ETH:,.0f}"


def fmt_time(timestamp: int, now: int | None = None) -> str:
    """`2026-11-29 12:00 UTC (in 2d 3h)`; `-` for zero."""
    if not timestamp:
        return "-"
    when = datetime.fromtimestamp(int(timestamp), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    if now is None:
        return when
    delta = int(timestamp) - int(now)
    return f"{when} ({'in ' + fmt_span(delta) if delta > 0 else fmt_span(-delta) + ' ago' if delta else 'now'})"


def fmt_span(seconds: int) -> str:
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def short_id(value: int) -> str:
    """The first 10 hex digits of a long id (proposal ids are 256-bit hashes): enough to tell them apart."""
    return f"{int(value):064x}"[:10]


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


def _verbose() -> bool:
    from ape.logging import LogLevel, logger

    return logger.level <= LogLevel.DEBUG


class _DropRevertNoise(logging.Filter):
    """Ape logs a call trace or a failed attempt to get one before a revert; the one-line error says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Problem retrieving traceback") or "Call trace" in message
                    or message.lstrip().startswith("┌") or message.startswith("Transaction trace"))


@contextlib.contextmanager
def _quiet_revert_traces():
    """Ape's providers print a transaction's call trace to stdout whenever it reverts (before the error is even
    raised), with no setting to turn that off. The one-line error already carries the revert reason, so while a
    command runs the trace is shown only under `-v DEBUG`."""
    from ape_ethereum.trace import Trace

    show = Trace.show

    def quiet_show(self, *args, **kwargs):
        return show(self, *args, **kwargs) if _verbose() else None

    Trace.show = quiet_show
    try:
        yield
    finally:
        Trace.show = show


def fail(message: str, code: int = 1) -> None:
    """Prints `error: message` as one line on stderr and exits."""
    click.echo(f"error: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


def user_errors(func: Callable) -> Callable:
    """Turns every error into one line `error: ...` and exit 1: this package's typed errors, ape's (reverts,
    conversions, connections), and anything unexpected (with its traceback under `-v DEBUG`)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ape.exceptions import ApeException, ContractLogicError

        noise = _DropRevertNoise()
        targets = [] if _verbose() else [logging.getLogger("ape"), *logging.getLogger("ape").handlers]
        for target in targets:
            target.addFilter(noise)
        try:
            with _quiet_revert_traces():
                return func(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt):
            raise
        except click.exceptions.Exit:
            raise
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code or 1)
        except ContractLogicError as exc:
            if _verbose():
                raise
            fail(str(exc.message or exc))
        except (NeuralCommonsError, ApeException) as exc:
            if _verbose():
                raise
            fail(str(exc))
        except Exception as exc:  # noqa: BLE001  (the last resort: never a traceback by default)
            if _verbose():
                raise
            fail(f"{type(exc).__name__}: {exc} (rerun with -v DEBUG for the traceback)")
        finally:
            for target in targets:
                target.removeFilter(noise)

    return wrapper


class _OneLineUsage:
    """Mixin: a malformed command line (a missing argument, a value click cannot convert) is one line too."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            if re.match(r"^-\d", exc.option_name or ""):
                # click reads `-5` as an option: say what is really wrong with it.
                fail(f"'{exc.option_name}' is negative: amounts, counts, ids and durations are positive")
            hint = f" (see `{ctx.command_path} --help`)" if ctx.command_path else ""
            fail(exc.format_message() + hint, 2)
        except click.UsageError as exc:
            hint = f" (see `{ctx.command_path} --help`)" if ctx.command_path else ""
            fail(exc.format_message() + hint, 2)


class Command(_OneLineUsage, ConnectedProviderCommand):
    """ConnectedProviderCommand (`--network`, the provider connected) with one-line usage errors."""


class Group(_OneLineUsage, click.Group):
    """click.Group with one-line usage errors (an unknown or missing subcommand)."""

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            fail(f"{exc.format_message()} (see `{ctx.command_path} --help`)", 2)


def chain_command(group: click.Group | None, *params: Callable, name: str | None = None) -> Callable:
    """The decorator stack of every `ape run` command that talks to the chain: a `Command` of `group`
    (a standalone one for None) named `name` (the function's name by default), with `--account`
    (ape's account option, never prompting; read-only commands accept it and ignore it) first, then
    `params` (click arguments and options, in the order given: the order `--help` lists them), and
    every error turned into one line (`user_errors`)."""

    def decorate(func: Callable) -> click.Command:
        func = user_errors(func)
        for param in reversed(params):
            func = param(func)
        func = account_option(prompt=False)(func)
        make = click.command if group is None else group.command
        return make(name=name, cls=Command)(func)

    return decorate


class DefaultRequestGroup(Group):
    """A group whose first word may be an option: `ape run infer --model ...` is `ape run infer
    request --model ...` (the same for `mint`)."""

    def parse_args(self, ctx, args):
        if args and args[0].startswith("-") and args[0] not in ("-h", "--help"):
            args = ["request", *args]
        return super().parse_args(ctx, args)


def local_command(what: str, *params: Callable) -> Callable:
    """A standalone `ape run` command for local chains only (a benchmark or a demo that deploys and
    advances time): refuses other networks with one line naming `what`, quiets ape's logs, then runs;
    `params` are its click arguments and options, in `--help` order; every error is one line."""

    def decorate(func: Callable) -> click.Command:
        @functools.wraps(func)
        def local(provider, *args, **kwargs):
            require_local(provider, what)
            quiet_ape()
            return func(provider, *args, **kwargs)

        command = user_errors(local)
        for param in reversed(params):
            command = param(command)
        return click.command(cls=Command)(command)

    return decorate


def withdraw_owed(owed: int, send: Callable[[], object], nothing: str, what: str = "ETH") -> None:
    """A pull-payment withdrawal: `error: <nothing>` when nothing is owed; otherwise `send()` and one
    line `withdrew <amount> <what>`."""
    if not owed:
        raise InvalidInput(nothing)
    send()
    console.print(f"withdrew {fmt_eth(owed)} {what}")


def own_node(provider) -> bool:
    """True when ape started a node for this command alone (the foundry provider with no node at its
    host): that chain vanishes when the command ends."""
    return getattr(provider, "process", None) is not None


def deployment_of(provider):
    """The connected network's deployment, checked to be alive: a record whose contracts have no code
    (anvil restarted, or a node ape started for this command alone) is an error, not a string of reverts."""
    from ape import project

    from offchain.deploy import load_deployment

    if own_node(provider):
        raise InvalidInput(f"no node is running at {getattr(provider, 'uri', 'the configured host')}: ape started "
                           f"a fresh one for this command alone; start a node first (`make anvil`)")
    deployment = load_deployment(project, provider)
    governor = deployment.contracts.get("Governor")
    if governor is not None and not provider.get_code(governor.address):
        if provider.network.name == "local" and provider.name == "test":
            raise InvalidInput("the embedded chain lives only as long as one command, so the deployment of an "
                               "earlier command is gone: use a node (`make anvil`, then --network "
                               "ethereum:local:foundry)")
        raise InvalidInput(f"the deployment record for '{deployment.network}' points at contracts that are not on "
                           f"this chain (was the node restarted?): run `ape run deploy` again")
    return deployment


def delegate_votes(provider, account, delegatee: str | None) -> None:
    """`token delegate` and `dao delegate`: the account's votes go to `delegatee` (itself when None)."""
    sender = resolve_account(account, provider)
    target = parse_address(delegatee, "--to") if delegatee else sender.address
    token = deployment_of(provider).GovernanceToken
    token.invoke_transaction("delegate", target, sender=sender)
    console.print(f"{sender.address} delegates to {target}: {fmt_tokens(token.getVotes(target))} votes there")
