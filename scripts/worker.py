"""Workers from a terminal: stake NCOM, register, serve, unbond.

    ape run worker register --stake 10000 --endpoint https://worker.example [--signer ADDRESS]
    ape run worker stake 5000                       # add NCOM to your stake
    ape run worker signer ADDRESS                   # rotate the attestation key
    ape run worker endpoint URL                     # where clients reach your channel API
    ape run worker status [ADDRESS]                 # stake, locks, free stake, reputation, unbonding
    ape run worker unbond                           # start the unbonding delay (stops new work)
    ape run worker withdraw                         # after the delay: take the free stake back
    ape run worker start [--models digits] [--dry-run]   # run the silverback bot (prints the command first)
    ape run worker verify [--models minilm] [--dry-run]  # join the models' verifier pools, run the verifier bot

Stake amounts are NCOM: a bare number is whole NCOM (`10000`), or `"0.5 ether"`. Every command takes
--network and --account.
"""

import os
import shlex
import shutil

import click

from offchain.cli import chain_command, deployment_of
from offchain.cli import Group, console, fmt_time, fmt_tokens, parse_address, parse_amount, \
    resolve_account, table
from offchain.errors import InvalidInput
from offchain.market import claim_lock, claim_room

ZERO = "0x" + "00" * 20


@click.group(cls=Group)
def cli():
    """Stake, register, inspect and run a worker."""


def _approve(token, spender, amount: int, sender) -> None:
    held = token.balanceOf(sender)
    if amount > held:
        raise InvalidInput(f"you hold {fmt_tokens(held)} NCOM, less than the {fmt_tokens(amount)} to stake: "
                           f"get NCOM first (README: 'Getting NCOM')")
    if token.allowance(sender, spender) < amount:
        token.approve(spender, amount, sender=sender)


@chain_command(
    cli,
    click.option("--stake", "stake", required=True, help="NCOM to stake (at least the registry's minimum)."),
    click.option("--endpoint", default="", help="URL of your channel API (`ape run serve_channels`)."),
    click.option("--signer", default=None, help="Address whose key signs attestations [default: your account]."),
)
def register(provider, account, stake, endpoint, signer):
    """Stake NCOM and register as a worker."""
    sender = resolve_account(account, provider)
    amount = parse_amount(stake, "--stake")
    signer = parse_address(signer, "--signer") if signer else sender.address
    d = deployment_of(provider)
    workers = d.WorkerRegistry
    if workers.workers(sender).signer != ZERO:
        raise InvalidInput(f"{sender.address} is already registered: `ape run worker stake AMOUNT` adds stake")
    if amount < workers.min_stake():
        raise InvalidInput(f"--stake {fmt_tokens(amount)} NCOM is below the minimum of "
                           f"{fmt_tokens(workers.min_stake())} NCOM")
    _approve(d.GovernanceToken, workers.address, amount, sender)
    workers.register(signer, endpoint, amount, sender=sender)
    console.print(f"worker {sender.address} registered with {fmt_tokens(amount)} NCOM staked, signer {signer}")
    lock = claim_lock(d.InferenceMarket)
    if lock:
        console.print(f"it may hold {amount // lock:,} market requests claimed at once ({fmt_tokens(lock)} NCOM "
                      "locked each until the request settles)")


@chain_command(cli, click.argument("amount"))
def stake(provider, account, amount):
    """Add AMOUNT NCOM to your stake."""
    sender = resolve_account(account, provider)
    wei = parse_amount(amount, "amount")
    d = deployment_of(provider)
    _registered(d.WorkerRegistry, sender.address)
    _approve(d.GovernanceToken, d.WorkerRegistry.address, wei, sender)
    d.WorkerRegistry.add_stake(wei, sender=sender)
    console.print(f"stake is now {fmt_tokens(d.WorkerRegistry.workers(sender).stake)} NCOM")


@chain_command(cli, click.argument("address"))
def signer(provider, account, address):
    """Rotate the key that signs your attestations and receipts."""
    sender = resolve_account(account, provider)
    new = parse_address(address, "signer")
    workers = deployment_of(provider).WorkerRegistry
    _registered(workers, sender.address)
    tx = workers.set_signer(new, sender=sender)
    until = tx.decode_logs(workers.SignerChanged)[0].old_binds_until
    console.print(f"signer of {sender.address} is now {new}")
    if until:
        console.print(f"what the old key signed binds you until {fmt_time(until, tx.timestamp)}")


@chain_command(cli, click.argument("url"))
def endpoint(provider, account, url):
    """Set the URL where clients reach your channel API."""
    sender = resolve_account(account, provider)
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"endpoint '{url}' is not an http(s) URL")
    workers = deployment_of(provider).WorkerRegistry
    _registered(workers, sender.address)
    workers.set_endpoint(url, sender=sender)
    console.print(f"endpoint of {sender.address} is now {url}")


def _registered(workers, address: str):
    w = workers.workers(address)
    if w.signer == ZERO:
        raise InvalidInput(f"{address} is not a registered worker: `ape run worker register --stake ...` first")
    return w


@chain_command(cli, click.argument("address", required=False))
def status(provider, account, address):
    """Stake, locks, free stake, reputation and unbonding of ADDRESS (default: your account)."""
    from ape import chain

    who = parse_address(address) if address else resolve_account(account, provider).address
    d = deployment_of(provider)
    workers = d.WorkerRegistry
    w = _registered(workers, who)
    now = chain.blocks.head.timestamp
    room = claim_room(d.InferenceMarket, workers, who)
    console.print(table(f"Worker {who}", ["field", "value"], [
        ("active", "yes" if workers.is_active(who) else "no"),
        ("stake (NCOM)", fmt_tokens(w.stake)),
        ("locked (NCOM)", fmt_tokens(workers.locked(who))),
        ("free (NCOM)", fmt_tokens(workers.free_stake(who))),
        (f"more requests it may claim ({fmt_tokens(claim_lock(d.InferenceMarket))} NCOM locked each)",
         "no limit" if room is None else f"{room:,}"),
        ("signer", w.signer),
        ("endpoint", w.endpoint or "-"),
        ("fulfilled / missed / slashed", f"{workers.fulfilled(who)} / {workers.missed(who)} / {workers.slashed(who)}"),
        ("unbonding", fmt_time(w.withdrawable_at, now) if w.withdrawable_at else "no (bonded)"),
    ]))


@chain_command(cli)
def unbond(provider, account):
    """Start the unbonding delay: no new work; withdraw the free stake when it ends."""
    from ape import chain

    sender = resolve_account(account, provider)
    workers = deployment_of(provider).WorkerRegistry
    _registered(workers, sender.address)
    workers.unbond(sender=sender)
    at = workers.workers(sender).withdrawable_at
    console.print(f"unbonding: withdraw from {fmt_time(at, chain.blocks.head.timestamp)}")


@chain_command(cli)
def withdraw(provider, account):
    """After the unbonding delay: take back the stake no lock holds."""
    from ape import chain

    sender = resolve_account(account, provider)
    workers = deployment_of(provider).WorkerRegistry
    w = _registered(workers, sender.address)
    if not w.withdrawable_at:
        raise InvalidInput("you are not unbonding: `ape run worker unbond` first")
    now = chain.blocks.head.timestamp
    if now < w.withdrawable_at:
        raise InvalidInput(f"the unbonding delay ends {fmt_time(w.withdrawable_at, now)}: withdraw then")
    free = workers.free_stake(sender)
    workers.withdraw_stake(sender=sender)
    console.print(f"withdrew {fmt_tokens(free)} NCOM")


def bot_command(network: str, account: str, bot: str = "bots.worker:bot") -> list[str]:
    """The exact silverback command that runs the worker bot (or the verifier bot)."""
    return ["silverback", "run", bot, "--runner", "bots.runner:WorkerRunner",
            "--network", network, "--account", account]


@chain_command(
    cli,
    click.option("--models", default="digits", show_default=True, help="Comma-separated model folders to serve."),
    click.option("--dir", "workdir", default=None, help="State folder [default: NC_WORKER_DIR, else .cache/worker]."),
    click.option("--result-port", default=None, type=int, help="Port of the result server [default: NC_RESULT_PORT]."),
    click.option("--dry-run", is_flag=True, help="Print the command and stop."),
)
def start(provider, account, models, workdir, result_port, dry_run):
    """Run the worker bot: prints the silverback command, then replaces this process with it."""
    sender = resolve_account(account, provider)
    workers = deployment_of(provider).WorkerRegistry
    _registered(workers, sender.address)
    _exec_bot(provider, sender, "bots.worker:bot", models, workdir, result_port, dry_run)


@chain_command(
    cli,
    click.option("--models", default="minilm", show_default=True, help="Comma-separated model folders to verify."),
    click.option("--dir", "workdir", default=None, help="State folder [default: NC_WORKER_DIR, else .cache/worker]; "
                 "use another than your worker bot's."),
    click.option("--result-port", default=None, type=int, help="Port of the verifier's result server."),
    click.option("--dry-run", is_flag=True, help="Join the pools, print the command and stop."),
)
def verify(provider, account, models, workdir, result_port, dry_run):
    """Join the models' verifier pools in the DisputeCourt and run the verifier bot (prints the command)."""
    from offchain.models import load_spec
    from offchain.serve import find_model_ids

    sender = resolve_account(account, provider)
    d = deployment_of(provider)
    _registered(d.WorkerRegistry, sender.address)
    if not d.WorkerRegistry.is_active(sender.address):
        raise InvalidInput(f"{sender.address} is not an active worker (unbonding, or stake below the minimum): "
                           f"only active workers verify")
    court = d.DisputeCourt
    for name in [n.strip() for n in models.split(",") if n.strip()]:
        for model_id in find_model_ids(d.ModelRegistry, load_spec(name).artifact_hash):
            if court.is_member(model_id, sender.address):
                console.print(f"already in the verifier pool of {name} (model {model_id})")
            else:
                court.join(model_id, sender=sender)
                console.print(f"joined the verifier pool of {name} (model {model_id})")
    _exec_bot(provider, sender, "bots.verifier:bot", models, workdir, result_port, dry_run)


def _exec_bot(provider, sender, bot: str, models: str, workdir, result_port, dry_run: bool) -> None:
    network = provider.network_choice
    alias = getattr(sender, "alias", None) or f"TEST::{_test_index(sender)}"
    env = {"NC_MODELS": models}
    if workdir:
        env["NC_WORKER_DIR"] = workdir
    if result_port:
        env["NC_RESULT_PORT"] = str(result_port)
    command = bot_command(network, alias, bot)
    console.print(" ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()), *map(shlex.quote, command)]))
    if dry_run:
        return
    if provider.network.name == "local" and provider.name == "test":
        raise InvalidInput("the embedded chain ends with this command: run the bot against a node "
                           "(--network ethereum:local:foundry with `make anvil`, or a live network)")
    executable = shutil.which("silverback")
    if not executable:
        raise InvalidInput("silverback is not installed here: `make setup` installs it")
    os.execvpe(executable, command, {**os.environ, **env})


def _test_index(account) -> int:
    from ape import accounts

    for index, candidate in enumerate(accounts.test_accounts):
        if candidate.address == account.address:
            return index
    raise InvalidInput(f"{account.address} has no alias: pass --account <alias>")
