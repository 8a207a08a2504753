"""Models from a terminal: for model authors and app builders.

    ape run model list
    ape run model show MODEL_ID                              # status, price, owner, shareholders, revenue
    ape run model register models/NAME [--price "0.001 ether"] [--shareholder ADDRESS=SHARES ...]
                                                             # a folder with manifest.json, or the manifest itself
    ape run model price MODEL_ID "0.002 ether"               # owners: the price of later requests
    ape run model publish PARENT_ID models/NAME [--price ...]  # owners: a new version (new artifact or metadata)

A registration is pending until the DAO lists it (`ape run dao propose "List" --action
"ModelRegistry.approve_model(ID)"`) unless listing is open. Every command takes --network and --account.
"""

from pathlib import Path

import click

from offchain.cli import chain_command, deployment_of
from offchain.cli import Group, console, fmt_eth, parse_address, parse_amount, parse_count, \
    resolve_account, table
from offchain.errors import InvalidInput, ModelNotFound
from offchain.models import load_spec

STATUS = {1: "pending (awaits DAO approval)", 2: "active", 3: "suspended", 4: "retired"}
MAX_HOLDERS = 16  # ModelRegistry's bound on shareholders per registration


@click.group(cls=Group)
def cli():
    """Register, list, inspect and price models."""


def _model(registry, model_id: int):
    model = registry.models(model_id)
    if not model.status:
        raise ModelNotFound(f"no model {model_id} on this chain: `ape run model list` shows the registered ones")
    return model


@chain_command(cli, name="list")
def list_command(provider, account):
    """Every registered model."""
    registry = deployment_of(provider).ModelRegistry
    rows = []
    for model_id in range(1, registry.model_count() + 1):
        m = registry.models(model_id)
        rows.append((model_id, STATUS.get(m.status, m.status), fmt_eth(m.price), m.owner, m.parent or "-",
                     m.metadata_uri))
    if not rows:
        raise ModelNotFound("no models on this chain yet: `ape run model register models/<name>` lists one")
    console.print(table("Models", ["id", "status", "price (ETH)", "owner", "parent", "metadata"], rows))


@chain_command(cli, click.argument("model_id"))
def show(provider, account, model_id):
    """A model's status, price, owner, shareholders and the revenue its shares were credited."""
    model_id = parse_count(model_id, "MODEL_ID")
    d = deployment_of(provider)
    m = _model(d.ModelRegistry, model_id)
    shares = d.ModelShares
    holders = {str(log._to) for log in shares.TransferSingle.range(0, None) if int(log._id) == model_id}
    holders |= {str(log._to) for log in shares.TransferBatch.range(0, None) if model_id in [int(i) for i in log._ids]}
    supply = shares.total_supply(model_id)
    revenue = sum(log.amount for log in shares.RevenueCredited.range(0, None, search_topics={"id": model_id}))
    console.print(table(f"Model {model_id}", ["field", "value"], [
        ("status", STATUS.get(m.status, m.status)),
        ("price per inference (ETH)", fmt_eth(m.price)),
        ("owner", m.owner),
        ("parent", m.parent or "-"),
        ("artifact keccak256", "0x" + bytes(m.artifact_hash).hex()),
        ("manifest keccak256", "0x" + bytes(m.manifest_hash).hex()),
        ("metadata", m.metadata_uri),
        ("revenue credited to shareholders (ETH)", fmt_eth(revenue)),
    ]))
    rows = [(h, f"{shares.balanceOf(h, model_id):,}", f"{shares.balanceOf(h, model_id) / supply:.2%}" if supply
             else "-") for h in sorted(holders) if shares.balanceOf(h, model_id)]
    console.print(table("Shareholders", ["holder", "shares", "of supply"], rows))


def _holders(sender, shareholder: tuple[str, ...]) -> tuple[list[str], list[int]]:
    if not shareholder:
        return [sender.address], [1_000_000]
    if len(shareholder) > MAX_HOLDERS:
        raise InvalidInput(f"{len(shareholder)} shareholders: a registration takes at most {MAX_HOLDERS}")
    addresses, amounts = [], []
    for item in shareholder:
        address, sep, amount = item.partition("=")
        if not sep:
            raise InvalidInput(f"--shareholder '{item}': write it as ADDRESS=SHARES, e.g. 0xabc...=600000")
        addresses.append(parse_address(address, "shareholder"))
        amounts.append(parse_count(amount, f"shares of {address}"))
    return addresses, amounts


def _spec(path: str):
    folder = Path(path)
    if folder.name == "manifest.json":
        folder = folder.parent
    spec = load_spec(folder)
    if not spec.artifact_path.exists():
        raise ModelNotFound(f"{spec.artifact_path} is missing: build the model first (models/<name>/build.py)")
    return spec


def _price(price: str | None, spec) -> int:
    if price is not None:
        return parse_amount(price, "--price")
    if "price_wei" in spec.manifest:
        return int(spec.manifest["price_wei"])
    raise InvalidInput("the manifest has no price_wei: pass --price, e.g. --price '0.001 ether'")


_SHARE_HELP = "ADDRESS=SHARES; repeat for each holder (default: all 1,000,000 shares to you)."


@chain_command(
    cli,
    click.argument("folder"),
    click.option("--price", default=None, help="Per inference: '0.001 ether', '500 gwei' [default: the manifest's]."),
    click.option("--shareholder", multiple=True, help=_SHARE_HELP),
    click.option("--uri", default=None, help="Where the model folder can be fetched [default: models/<name>]."),
)
def register(provider, account, folder, price, shareholder, uri):
    """Register the model in FOLDER (models/<name>, or its manifest.json)."""
    sender = resolve_account(account, provider)
    spec = _spec(folder)
    wei = _price(price, spec)
    holders, amounts = _holders(sender, shareholder)
    registry = deployment_of(provider).ModelRegistry
    tx = registry.register_model(spec.artifact_hash, spec.manifest_hash, uri or f"models/{spec.folder.name}", wei,
                                 holders, amounts, sender=sender)
    model_id = tx.decode_logs(registry.ModelRegistered)[0].model_id
    console.print(f"model {model_id} ({spec.name}) registered: {STATUS[registry.models(model_id).status]}, "
                  f"{fmt_eth(wei)} ETH per inference")


@chain_command(cli, click.argument("model_id"), click.argument("price"))
def price(provider, account, model_id, price):
    """Owners: set MODEL_ID's price per inference ('0.002 ether', '500 gwei')."""
    sender = resolve_account(account, provider)
    model_id, wei = parse_count(model_id, "MODEL_ID"), parse_amount(price, "price")
    registry = deployment_of(provider).ModelRegistry
    m = _model(registry, model_id)
    if m.owner != sender.address:
        raise InvalidInput(f"model {model_id} is owned by {m.owner}, not by {sender.address}: pass its --account")
    registry.set_price(model_id, wei, sender=sender)
    console.print(f"model {model_id}: {fmt_eth(m.price)} -> {fmt_eth(wei)} ETH per inference")


@chain_command(
    cli,
    click.argument("parent_id"),
    click.argument("folder"),
    click.option("--price", default=None, help="Per inference [default: the manifest's]."),
    click.option("--shareholder", multiple=True, help=_SHARE_HELP),
    click.option("--uri", default=None, help="Where the model folder can be fetched [default: models/<name>]."),
)
def publish(provider, account, parent_id, folder, price, shareholder, uri):
    """Owners: publish FOLDER as a new version of PARENT_ID (new artifact, manifest or metadata)."""
    sender = resolve_account(account, provider)
    parent_id = parse_count(parent_id, "PARENT_ID")
    spec = _spec(folder)
    wei = _price(price, spec)
    holders, amounts = _holders(sender, shareholder)
    registry = deployment_of(provider).ModelRegistry
    _model(registry, parent_id)
    tx = registry.publish_version(parent_id, spec.artifact_hash, spec.manifest_hash,
                                  uri or f"models/{spec.folder.name}", wei, holders, amounts, sender=sender)
    model_id = tx.decode_logs(registry.ModelRegistered)[0].model_id
    console.print(f"model {model_id}: version of {parent_id}, {STATUS[registry.models(model_id).status]}")
