"""Prepaid payment channels from a terminal: for app builders who make many calls.

    ape run channel open WORKER MODEL_ID --deposit "0.05 ether" [--url URL]
    ape run channel list                              # your channels
    ape run channel status CHANNEL_ID
    ape run channel fund CHANNEL_ID "0.05 ether"
    ape run channel call CHANNEL_ID --input models/digits/sample.json [--credit N]   # one paid call, receipt verified
    ape run channel close CHANNEL_ID                  # first: request the close; after the delay: close
    ape run channel withdraw                          # collect the unspent deposit of closed channels

A channel pays per call with signed vouchers (cumulative amounts); the latest one you signed, what your calls
used of it and the session token that spends the rest are kept in --state-dir (default NC_PAYER_STATE, else
~/.neural-commons/payer) so later calls continue from it. With --credit N a voucher pays for N calls and the
next N-1 calls need no signature (the worker may cash the calls paid ahead even if you never make them).
CHANNEL_ID is the 0x id `open` and `list` print. Every command takes --network and --account.
"""

import json
import os
from pathlib import Path

import click
from ape import chain
from ape.cli import account_option

from offchain.channels.client import ChannelClient
from offchain.cli import deployment_of, withdraw_owed
from offchain.cli import Command, Group, console, fmt_eth, fmt_time, parse_address, parse_amount, parse_count, \
    resolve_account, table, user_errors
from offchain.errors import InvalidInput
from offchain.inputs import parse as check_input
from offchain.models import load_spec
from offchain.settings import write_state

ZERO = "0x" + "00" * 20
LABELS = {"class": "predicted class"}
STATE_OPTION = click.option(
    "--state-dir", default=None, help="Where your latest vouchers are kept [default: NC_PAYER_STATE, else "
    "~/.neural-commons/payer].")


@click.group(cls=Group)
def cli():
    """Open, fund, call through, inspect and close payment channels."""


def _state_file(state_dir: str | None, channel_id: bytes) -> Path:
    root = Path(state_dir or os.environ.get("NC_PAYER_STATE") or Path.home() / ".neural-commons" / "payer")
    return root / f"{chain.chain_id}-0x{channel_id.hex()}.json"


def _channel_id(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text[2:] if text.lower().startswith("0x") else text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise InvalidInput(f"channel id '{text}' is not 0x + 64 hex digits: `ape run channel list` shows yours")
    return raw


def _channel(channels, channel_id: bytes):
    c = channels.channels(channel_id)
    if c.payer == ZERO:
        raise InvalidInput(f"no channel 0x{channel_id.hex()} on this chain: `ape run channel list` shows yours")
    return c


def _mine(channels, channel_id: bytes, sender):
    c = _channel(channels, channel_id)
    if c.payer != sender.address:
        raise InvalidInput(f"channel 0x{channel_id.hex()} is paid by {c.payer}, not by {sender.address}")
    return c


@cli.command(name="open", cls=Command)
@account_option(prompt=False)
@click.argument("worker")
@click.argument("model_id")
@click.option("--deposit", required=True, help="Prepaid ETH: '0.05 ether', '500000 gwei' or 0.05.")
@user_errors
def open_command(provider, account, worker, model_id, deposit):
    """Open a channel to WORKER for MODEL_ID with a deposit."""
    sender = resolve_account(account, provider)
    worker, model_id = parse_address(worker, "WORKER"), parse_count(model_id, "MODEL_ID")
    wei = parse_amount(deposit, "--deposit")
    d = deployment_of(provider)
    active, price = d.ModelRegistry.model_terms(model_id)
    if not active:
        raise InvalidInput(f"model {model_id} is not active: `ape run model list` shows the listed models")
    if d.WorkerRegistry.active_signer(worker) == ZERO:
        raise InvalidInput(f"{worker} is not an active worker: `ape run worker status {worker}`")
    if provider.get_balance(sender.address) < wei:
        raise InvalidInput(f"your balance {fmt_eth(provider.get_balance(sender.address))} ETH is below the deposit")
    client = ChannelClient(d.PaymentChannels, d.ModelRegistry, d.WorkerRegistry, sender, chain_id=chain.chain_id)
    channel_id = client.open(worker, model_id, wei)
    console.print(f"channel 0x{channel_id.hex()} open: {fmt_eth(wei)} ETH for {wei // price if price else '-'} "
                  f"calls at {fmt_eth(price)} ETH")


@cli.command(name="list", cls=Command)
@account_option(prompt=False)
@user_errors
def list_command(provider, account):
    """Channels you pay through."""
    sender = resolve_account(account, provider)
    channels = deployment_of(provider).PaymentChannels
    rows = []
    for log in channels.ChannelOpened.range(0, None, search_topics={"payer": sender.address}):
        c = channels.channels(log.channel_id)
        state = "closed" if c.closed else "closing" if c.closes_at else "open"
        rows.append(("0x" + bytes(log.channel_id).hex(), c.worker, c.model_id, fmt_eth(c.deposit - c.settled), state))
    console.print(table(f"Channels paid by {sender.address}", ["channel", "worker", "model", "left (ETH)", "state"],
                        rows))


@cli.command(cls=Command)
@account_option(prompt=False)  # accepted everywhere; read-only commands ignore it
@click.argument("channel_id")
@STATE_OPTION
@user_errors
def status(provider, account, channel_id, state_dir):
    """A channel's deposit, settled and signed amounts, and close time."""
    raw = _channel_id(channel_id)
    c = _channel(deployment_of(provider).PaymentChannels, raw)
    path = _state_file(state_dir, raw)
    saved = json.loads(path.read_text()) if path.exists() else {}
    signed = saved.get("spent")
    now = chain.blocks.head.timestamp
    console.print(table(f"Channel 0x{raw.hex()}", ["field", "value"], [
        ("payer", c.payer), ("worker", c.worker), ("model", c.model_id),
        ("deposit (ETH)", fmt_eth(c.deposit)), ("settled (ETH)", fmt_eth(c.settled)),
        ("signed by you (ETH)", fmt_eth(signed) if signed is not None else "- (no voucher kept here)"),
        ("of which paid ahead, not yet used (ETH)",
         fmt_eth(signed - saved.get("used", signed)) if signed is not None else "-"),
        ("state", "closed" if c.closed else f"closing at {fmt_time(c.closes_at, now)}" if c.closes_at else "open"),
    ]))


@cli.command(cls=Command)
@account_option(prompt=False)
@click.argument("channel_id")
@click.argument("amount")
@user_errors
def fund(provider, account, channel_id, amount):
    """Add AMOUNT ETH to your channel's deposit."""
    sender = resolve_account(account, provider)
    raw, wei = _channel_id(channel_id), parse_amount(amount, "amount")
    channels = deployment_of(provider).PaymentChannels
    c = _mine(channels, raw, sender)
    if c.closed:
        raise InvalidInput("the channel is closed: open a new one")
    if c.closes_at:
        raise InvalidInput("the channel is closing: open a new one after it closes")
    channels.fund(raw, sender=sender, value=wei)
    console.print(f"channel 0x{raw.hex()}: deposit {fmt_eth(channels.channels(raw).deposit)} ETH")


@cli.command(cls=Command)
@account_option(prompt=False)
@click.argument("channel_id")
@click.option("--input", "input_path", required=True, help="The input document (JSON), e.g. models/digits/sample.json.")
@click.option("--model", "model_name", default="digits", show_default=True, help="Model folder whose schema to check.")
@click.option("--url", default=None, help="The worker's API [default: its registered endpoint].")
@click.option("--credit", default=1, show_default=True, type=click.IntRange(1),
              help="Calls a new voucher pays for: the next ones spend its credit without a signature.")
@STATE_OPTION
@user_errors
def call(provider, account, channel_id, input_path, model_name, url, credit, state_dir):
    """One paid call: signs the next voucher (unless the last one's credit pays), sends the input, checks the
    signed receipt and the output."""
    import httpx

    sender = resolve_account(account, provider)
    raw = _channel_id(channel_id)
    path = Path(input_path)
    if not path.is_file():
        raise InvalidInput(f"--input {input_path} is not a file")
    document = path.read_bytes()
    check_input(load_spec(model_name).input_schema, document)  # a bad input is refused before any voucher
    d = deployment_of(provider)
    c = _mine(d.PaymentChannels, raw, sender)
    if c.closes_at:
        raise InvalidInput("the channel is closing: calls are no longer served")
    client = ChannelClient(d.PaymentChannels, d.ModelRegistry, d.WorkerRegistry, sender, chain_id=chain.chain_id,
                           credit=credit)
    client.channel_id, client.worker, client.deposit = raw, c.worker, c.deposit
    client.price = d.ModelRegistry.model_terms(c.model_id)[1]
    client.url = (url or d.WorkerRegistry.workers(c.worker).endpoint).rstrip("/")
    if not client.url:
        raise InvalidInput(f"worker {c.worker} registered no endpoint: pass --url")
    client.read_signer()
    state = _state_file(state_dir, raw)
    saved = json.loads(state.read_text()) if state.exists() else {}
    client.spent = max(saved.get("spent", 0), c.settled)
    client.used = min(saved.get("used", client.spent), client.spent)
    client.signed, client.unanswered = saved.get("signed", 0), saved.get("unanswered", 0)
    if "session" in saved:
        client.session = bytes.fromhex(saved["session"])
    if client.spent - client.used < client.price and client.used + client.price > c.deposit:
        raise InvalidInput(f"the deposit is spent ({fmt_eth(client.spent)} of {fmt_eth(c.deposit)} ETH): "
                           f"`ape run channel fund 0x{raw.hex()} AMOUNT`")
    with httpx.Client(timeout=30) as http:
        try:
            result = client.call(document, http)
        except httpx.HTTPError as exc:
            raise InvalidInput(f"cannot reach the worker at {client.url}: {exc}") from exc
        finally:  # a call that failed may still have been charged: the next one catches up from this
            write_state(state, {"spent": client.spent, "used": client.used, "session": client.session.hex(),
                                "signed": client.signed, "unanswered": client.unanswered})
    console.print(table(f"Call {result.seq} on 0x{raw.hex()[:10]}", ["field", "value"], [
        ("paid so far (ETH)", fmt_eth(client.spent)),
        ("prepaid credit left (ETH)", fmt_eth(client.spent - client.used)),
        ("result hash", "0x" + result.result_hash.hex()),
        ("receipt", "signed by the worker's registered key"),
        *((LABELS.get(k, k), ", ".join(f"{p:.3f}" for p in v) if isinstance(v, list) else v)
          for k, v in result.decoded.items()),
    ]))


@cli.command(cls=Command)
@account_option(prompt=False)
@click.argument("channel_id")
@user_errors
def close(provider, account, channel_id):
    """First call: request the close (the worker settles meanwhile). After the delay: close and credit the rest."""
    sender = resolve_account(account, provider)
    raw = _channel_id(channel_id)
    channels = deployment_of(provider).PaymentChannels
    c = _mine(channels, raw, sender)
    now = chain.blocks.head.timestamp
    if c.closed:
        raise InvalidInput("the channel is already closed: `ape run channel withdraw` collects what is owed")
    if not c.closes_at:
        channels.request_close(raw, sender=sender)
        at = channels.channels(raw).closes_at
        console.print(f"close requested: run `ape run channel close 0x{raw.hex()}` again from "
                      f"{fmt_time(at, chain.blocks.head.timestamp)}")
        return
    if now < c.closes_at:
        raise InvalidInput(f"the close delay ends {fmt_time(c.closes_at, now)}: close then")
    refunded = channels.close(raw, sender=sender).decode_logs(channels.ChannelClosed)[0].refunded
    console.print(f"closed: {fmt_eth(refunded)} ETH credited to you (`ape run channel withdraw`)")


@cli.command(cls=Command)
@account_option(prompt=False)
@user_errors
def withdraw(provider, account):
    """Collect the ETH the channels owe you (unspent deposits, returned bonds)."""
    sender = resolve_account(account, provider)
    channels = deployment_of(provider).PaymentChannels
    withdraw_owed(channels.owed(sender), lambda: channels.withdraw(sender=sender),
                  "the channels owe you nothing: close a channel first")
