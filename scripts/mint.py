"""Mint an NFT whose image a community-owned model draws: for collectors and app builders.

    ape run mint deploy                               # the collection for the listed pixels model (once per chain)
    ape run mint --digit 3 --seed 42                  # pay; the token is minted when the market settles
    ape run mint --digit 3 --seed 42 --wait --out .   # ... and wait: prints the token id and the image file
    ape run mint show TOKEN_ID [--out DIR]            # metadata, and the on-chain image written as a PNG file
    ape run mint reclaim REQUEST_ID                   # your payment back when no worker drew it in time

The price is the market's quote for the model plus the prepaid callback gas (`--max-price` caps it:
`0.01`, `"0.01 ether"`, `"2000000 gwei"`). The token is minted at settlement, after the market's
challenge window; --timeout takes a duration (`10m`, `2h`). Needs a deployment with the pixels model
listed and a worker serving it (`ape run worker start --models pixels`). Every command takes
--network and --account.
"""

from pathlib import Path

import click
from ape import chain, project
from eth_utils import keccak

from offchain.cli import chain_command
from offchain.cli import DefaultRequestGroup, console, deployment_of, fmt_eth, fmt_time, parse_amount, parse_count, \
    parse_duration, resolve_account, table
from offchain.deploy import save_deployment
from offchain.errors import InvalidInput, ModelNotFound, NeuralCommonsError
from offchain.market import MAX_CALLBACK_GAS, RequestState
from offchain.inputs import encode_image_seed

PENDING, MINTED, RECLAIMED = 1, 2, 3
STATE_MASK = 0x7F  # the state without the callback flag
WAITING = (RequestState.REQUESTED, RequestState.CLAIMED)




@click.group(cls=DefaultRequestGroup)
def cli():
    """Mint image NFTs drawn on the inference market; show them; reclaim unserved mints."""


def _minter(provider):
    deployment = deployment_of(provider)
    minter = deployment.contracts.get("NFTMinter")
    if minter is None:
        raise InvalidInput("no NFTMinter in this network's deployment: run `ape run mint deploy` first")
    return deployment, minter


@chain_command(
    cli,
    click.option("--callback-gas", default=700_000, show_default=True,
                 help="Gas the market gives the minting callback (at most 2,000,000)."),
    click.option("--ttl", default="1h", show_default=True, help="Time a worker has to draw an image."),
)
def deploy(provider, account, callback_gas, ttl):
    """Deploy the collection for the listed pixels model and record it in the deployment."""
    from offchain.demos.nft import deploy_minter
    from offchain.models import load_spec
    from offchain.serve import find_model_id

    gas, ttl = parse_count(callback_gas, "--callback-gas"), parse_duration(ttl, "--ttl")
    if gas > MAX_CALLBACK_GAS:
        raise InvalidInput(f"--callback-gas {gas:,} is above the market's bound of {MAX_CALLBACK_GAS:,}: "
                           "it would refuse every mint")
    sender = resolve_account(account, provider)
    deployment = deployment_of(provider)
    if deployment.contracts.get("NFTMinter") is not None:
        raise InvalidInput(f"this deployment already has an NFTMinter at {deployment.NFTMinter.address}")
    try:
        model_id = find_model_id(deployment.ModelRegistry, load_spec("pixels").artifact_hash)
    except ModelNotFound as exc:
        raise InvalidInput(f"{exc}: register the pixels model and list it through the DAO first") from None
    minter = deploy_minter(project, deployment, sender, model_id, callback_gas=gas, ttl=ttl)
    save_deployment(deployment)
    console.print(f"NFTMinter {minter.address} for model {model_id}; a mint costs {fmt_eth(minter.price())} ETH")


@chain_command(
    cli,
    click.option("--digit", required=True, type=int, help="The digit to draw, 0..9."),
    click.option("--seed", required=True, help="Any whole number below 2**256; with the digit it fixes the image."),
    click.option("--max-price", default=None, help="Refuse to pay more than this (e.g. 0.01, '2000000 gwei')."),
    click.option("--wait", is_flag=True, help="Wait for the token; print its id and write its image."),
    click.option("--timeout", default="2h", show_default=True, help="How long --wait waits."),
    click.option("--out", default=".", show_default=True, help="Folder for the image file (with --wait)."),
)
def request(provider, account, digit, seed, max_price, wait, timeout, out):
    """Pay for one NFT; with --wait, print its token id and image file once minted."""
    sender = resolve_account(account, provider)
    if not 0 <= digit <= 9:
        raise InvalidInput(f"--digit {digit} is not a digit: use 0..9")
    seed_value = _seed(seed)
    timeout_s = parse_duration(timeout, "--timeout")
    deployment, minter = _minter(provider)
    price = minter.price()
    if max_price is not None and price > parse_amount(max_price, "--max-price"):
        raise InvalidInput(f"a mint costs {fmt_eth(price)} ETH, more than --max-price {max_price}")
    holder = minter.taken(keccak(encode_image_seed(seed_value, digit)))
    if holder:
        raise InvalidInput(f"digit {digit} with seed {seed_value} is already taken (request {holder}): "
                           f"pick another seed")
    if provider.get_balance(sender.address) < price:
        raise InvalidInput(f"a mint costs {fmt_eth(price)} ETH; your balance is lower")
    receipt = minter.mint(digit, seed_value, sender=sender, value=price)
    request_id = receipt.decode_logs(minter.MintRequested)[0].request_id
    console.print(f"request {request_id}: paid {fmt_eth(price)} ETH for digit {digit}, seed {seed_value}")
    if not wait:
        console.print(f"the token is minted when the market settles it: `ape run mint show` then; "
                      f"`ape run mint reclaim {request_id}` if no worker serves it in time")
        return
    token_id = _wait_minted(minter, deployment.InferenceMarket, request_id, timeout_s)
    _show(minter, token_id, Path(out))


def _seed(text: str) -> int:
    try:
        value = int(str(text).replace("_", ""), 0)
    except ValueError:
        raise InvalidInput(f"--seed '{text}' is not a whole number") from None
    if not 0 <= value < 2**256:
        raise InvalidInput(f"--seed {text} is out of range: 0 .. 2**256-1")
    return value


def _wait_minted(minter, market, request_id: int, timeout_s: int) -> int:
    import time

    deadline = time.monotonic() + timeout_s
    told = False
    while True:
        order = minter.orders(request_id)
        if order.status == MINTED:
            return order.token_id
        view = market.get_request(request_id)
        state = view.state & STATE_MASK
        if state == RequestState.REFUNDED or (state in WAITING and chain.blocks.head.timestamp > view.deadline):
            raise InvalidInput(f"request {request_id} was not served in time: `ape run mint reclaim {request_id}`")
        if state == 5 and order.status == PENDING:
            raise NeuralCommonsError(f"request {request_id} settled but the collection did not mint "
                                     f"(the callback failed: see the market's CallbackDelivered event)")
        if state == 3 and not told:
            window = market.params().challenge_window
            console.print(f"image drawn and attested; minted at settlement, after "
                          f"{fmt_time(view.stamp + window, chain.blocks.head.timestamp)}")
            told = True
        if time.monotonic() > deadline:
            raise InvalidInput(f"request {request_id} not minted within --timeout; `ape run mint show` later")
        time.sleep(1.0)


def _show(minter, token_id: int, out: Path) -> None:
    from offchain.demos.nft import save_token_image, token_png

    metadata, png = token_png(minter, token_id)
    path = save_token_image(minter, token_id, out)
    traits = {a["trait_type"]: a["value"] for a in metadata.get("attributes", [])}
    console.print(table(f"Token {token_id}", ["field", "value"], [
        ("token id", token_id),
        ("owner", minter.ownerOf(token_id)),
        ("name", metadata.get("name", "")),
        ("digit / seed", f"{traits.get('digit')} / {traits.get('seed')}"),
        ("image keccak256", "0x" + bytes(minter.image_hash(token_id)).hex()),
        ("image file", str(path.resolve())),
        ("image bytes", len(png)),
    ]))


@chain_command(
    cli,
    click.argument("token_id"),
    click.option("--out", default=".", show_default=True, help="Folder for the image file."),
)
def show(provider, account, token_id, out):
    """A token's metadata, and its on-chain image written to a PNG file."""
    _, minter = _minter(provider)
    token_id = parse_count(token_id, "TOKEN_ID")
    if not 0 < token_id <= minter.minted_count():
        raise InvalidInput(f"no token {token_id}: {minter.minted_count()} minted so far")
    _show(minter, token_id, Path(out))


@chain_command(cli, click.argument("request_id"))
def reclaim(provider, account, request_id):
    """Your payment back for a mint no worker drew by its deadline."""
    sender = resolve_account(account, provider)
    deployment, minter = _minter(provider)
    request_id = parse_count(request_id, "REQUEST_ID")
    order = minter.orders(request_id)
    if order.buyer == "0x" + "00" * 20:
        raise InvalidInput(f"request {request_id} is not a mint of this collection")
    if order.buyer != sender.address:
        raise InvalidInput(f"request {request_id} was paid by {order.buyer}, not {sender.address}")
    if order.status != PENDING:
        raise InvalidInput(f"request {request_id} is {'minted' if order.status == MINTED else 'already reclaimed'}")
    view = deployment.InferenceMarket.get_request(request_id)
    now = chain.blocks.head.timestamp
    if view.state & STATE_MASK in WAITING and now <= view.deadline:
        raise InvalidInput(f"request {request_id} may still be served until {fmt_time(view.deadline, now)}")
    if view.state & STATE_MASK not in (*WAITING, RequestState.REFUNDED):
        raise InvalidInput(f"request {request_id} was served: its token is minted at settlement")
    minter.reclaim(request_id, sender=sender)
    console.print(f"request {request_id} reclaimed: {fmt_eth(order.paid)} ETH back to {sender.address}")
