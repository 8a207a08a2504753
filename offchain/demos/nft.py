"""The NFT demo: images drawn by a community-owned model, minted on-chain.

Deploy; register the `pixels` image model (shares: 70 % author, 30 % dave)
and list it through a real DAO proposal; deploy the NFTMinter collection
for it; stake a worker. A buyer pays `mint(digit, seed)` for a few tokens;
the worker claims, draws each image (DDIM through the ONNX graph), signs
and fulfils with the PNG; the buyer's client verifies every result against
the attested hash and recomputes it under the model's tolerance policy;
the challenge window passes; the worker finalizes and the market calls the
collection back, which mints each token with its image on-chain. The
images are read back from `tokenURI` and written as PNG files.
"""

from __future__ import annotations

import base64
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from offchain.cli import ETH, advance_time, console, fmt_eth, table
from offchain.client import InferenceClient
from offchain.deploy import deploy_system
from offchain.errors import NeuralCommonsError
from offchain.governance import Proposal, pass_locally
from offchain.models import ModelSpec, load_spec
from offchain.runtime import load_runtime
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.worker import InferenceWorker

CALLBACK_GAS = 700_000  # gas the market gives the minting callback (it needs 480k-500k: a 340-byte PNG, a first mint)
REQUEST_TTL = 3_600  # seconds a worker has to deliver
DEMO_MINTS = ((3, 1), (7, 2), (0, 3))  # (digit, seed) the demo buyer pays for
BUYER, WORKER, AUTHOR, DAVE = 6, 5, 8, 9  # test account indexes


@dataclass
class MintedToken:
    token_id: int
    digit: int
    seed: int
    owner: str
    image_hash: str
    path: Path


@dataclass
class NftSummary:
    requests: int = 0
    verified: int = 0
    minted: list[MintedToken] = field(default_factory=list)
    price: int = 0
    max_pixel_gap: float = 0.0  # worst decoded-pixel distance between the worker's image and the buyer's rerun
    bound: float = 0.0
    received: dict[str, int] = field(default_factory=dict)
    gas: dict[str, int] = field(default_factory=dict)


def list_pixels(d, accounts, spec: ModelSpec) -> int:
    """Registers the image model (70 % author, 30 % dave) and lists it through a DAO vote; its id."""
    deployer, alice, bob, author, dave = accounts[0], accounts[1], accounts[2], accounts[AUTHOR], accounts[DAVE]
    token, registry = d.GovernanceToken, d.ModelRegistry
    for holder, amount in ((alice, 30_000_000), (bob, 20_000_000)):
        if token.getVotes(holder) == 0:
            token.transfer(holder, amount * ETH, sender=deployer)
            token.invoke_transaction("delegate", holder, sender=holder)
    advance_time(1)
    registry.register_model(spec.artifact_hash, spec.manifest_hash, f"models/{spec.name}", spec.manifest["price_wei"],
                            [author, dave], [7_000, 3_000], sender=author)
    model_id = registry.model_count()
    pass_locally(d.Governor, Proposal(f"List the {spec.name} image model (id {model_id})")
                 .call(registry, "approve_model", model_id), alice, [alice, bob])
    return model_id


def deploy_minter(project, d, deployer, model_id: int, *, callback_gas: int = CALLBACK_GAS,
                  ttl: int = REQUEST_TTL):
    """The NFTMinter collection for `model_id`, recorded in the deployment as `NFTMinter`."""
    minter = deployer.deploy(project.NFTMinter, d.InferenceMarket, model_id, callback_gas, ttl)
    d.contracts["NFTMinter"] = minter
    return minter


def prepare(project, accounts):
    """A fresh system with the pixels model listed and its collection deployed: (deployment, model id, minter)."""
    d = deploy_system(project, accounts[0])
    spec = load_spec("pixels")
    model_id = list_pixels(d, accounts, spec)
    minter = deploy_minter(project, d, accounts[0], model_id)
    console.print(f"pixels model {model_id} listed by the DAO; NFTMinter at {minter.address}")
    return d, model_id, minter


def token_png(minter, token_id: int) -> tuple[dict, bytes]:
    """The token's metadata and PNG, decoded from its on-chain `tokenURI`."""
    uri = minter.tokenURI(token_id)
    prefix, image_prefix = "data:application/json;base64,", "data:image/png;base64,"
    if not uri.startswith(prefix):
        raise NeuralCommonsError(f"token {token_id} has an unexpected tokenURI: {uri[:60]}")
    metadata = json.loads(base64.b64decode(uri[len(prefix):]))
    if not metadata.get("image", "").startswith(image_prefix):
        raise NeuralCommonsError(f"token {token_id}'s metadata has no PNG data URI")
    return metadata, base64.b64decode(metadata["image"][len(image_prefix):])


def save_token_image(minter, token_id: int, folder: Path) -> Path:
    """Writes the token's on-chain PNG to `folder/pixels-<id>.png` (checked against its image hash)."""
    from eth_utils import keccak

    _, png = token_png(minter, token_id)
    if keccak(png) != bytes(minter.image_hash(token_id)):
        raise NeuralCommonsError(f"token {token_id}'s image does not hash to its recorded image hash")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pixels-{token_id}.png"
    path.write_bytes(png)
    return path


def run(project, accounts, *, mints=DEMO_MINTS, workdir: Path | None = None) -> NftSummary:
    """The demo on the embedded chain: one worker in this process."""
    from offchain.demos.inference import stake

    workdir = Path(workdir or tempfile.mkdtemp(prefix="nc-nft-"))
    deployer, worker, buyer = accounts[0], accounts[WORKER], accounts[BUYER]
    d, model_id, minter = prepare(project, accounts)
    market, spec = d.InferenceMarket, load_spec("pixels")
    summary = NftSummary(requests=len(mints), price=minter.price(), bound=float(spec.verification["bound"]))
    results = ContentStore(workdir / "results")
    server = ResultServer(results).start()
    try:
        stake(d, deployer, worker, server.url)
        runtime = load_runtime(spec, "onnxruntime", ContentStore(workdir / "models"),
                               bytes(d.ModelRegistry.models(model_id).artifact_hash))
        agent = InferenceWorker(market, worker, worker.private_key, {model_id: runtime}, results,
                                workdir / "worker.json", server.result_url)
        request_ids, mint_gas = [], 0
        for digit, seed in mints:
            receipt = minter.mint(digit, seed, sender=buyer, value=summary.price)
            mint_gas += receipt.gas_used
            request_ids.append(receipt.decode_logs(minter.MintRequested)[0].request_id)
        console.print(f"buyer paid for {len(mints)} mints at {fmt_eth(summary.price)} ETH each")

        work = agent.step()
        console.print(f"worker: claimed {work.claimed}, drew and fulfilled {work.fulfilled}")
        client = InferenceClient(market, buyer)
        for request_id, (digit, seed) in zip(request_ids, mints, strict=True):
            verified = client.fetch(request_id, spec)  # the served PNG hashes to the attested hash
            honest, gap = runtime.check({"digit": digit, "seed": seed}, verified.result)  # and redraws within bound
            if not honest:
                raise NeuralCommonsError(f"request {request_id}: the worker's image is {gap} grey levels off")
            summary.verified += 1
            summary.max_pixel_gap = max(summary.max_pixel_gap, gap)
        advance_time(market.params().challenge_window + 1)
        settle = agent.step()
        console.print(f"worker: finalized {settle.finalized}; the market called the collection back")
        for request_id, (digit, seed) in zip(request_ids, mints, strict=True):
            token_id = minter.orders(request_id).token_id
            if token_id == 0:
                raise NeuralCommonsError(f"request {request_id} was settled but no token was minted")
            summary.minted.append(MintedToken(token_id, digit, seed, minter.ownerOf(token_id),
                                              "0x" + bytes(minter.image_hash(token_id)).hex(),
                                              save_token_image(minter, token_id, workdir / "images")))
        summary.gas = {"mint (buyer)": mint_gas // len(mints),
                       "claim + fulfil + finalize with the minting callback (worker)":
                           (work.gas + settle.gas) // len(mints)}
        _withdraw_all(d, model_id, accounts, worker, summary)
    finally:
        server.stop()
    return summary


def _withdraw_all(d, model_id: int, accounts, worker, summary: NftSummary) -> None:
    market, shares, token = d.InferenceMarket, d.ModelShares, d.GovernanceToken
    owed = market.owed(worker)  # its share of the payments and the prepaid callback gas (it finalized)
    if owed:
        market.withdraw(sender=worker)
    summary.received["worker (its share + callback gas)"] = owed
    for name, index in (("author (70 % of shares)", AUTHOR), ("dave (30 % of shares)", DAVE)):
        summary.received[name] = shares.withdraw_revenue([model_id], sender=accounts[index]).decode_logs(
            shares.RevenueWithdrawn)[0].amount
    holders = 0
    for holder in (accounts[1], accounts[2], accounts[0]):
        holders += token.withdraw_revenue(sender=holder).decode_logs(token.RevenueWithdrawn)[0].amount
    summary.received["token holders"] = holders
    before = d.Timelock.balance
    market.sweep_treasury(sender=accounts[BUYER])
    summary.received["treasury"] = d.Timelock.balance - before


def print_summary(summary: NftSummary) -> None:
    console.print(table("NFT mints (pixels model)", ["what", "value"], [
        ("mints paid", summary.requests),
        ("images verified (hash + redrawn within the tolerance)", f"{summary.verified} / {summary.requests}"),
        ("worst pixel gap, worker vs buyer's redraw", f"{summary.max_pixel_gap:g} grey levels "
                                                      f"(bound {summary.bound:g})"),
        ("price per mint (model + fee + callback gas)", f"{fmt_eth(summary.price)} ETH"),
    ]))
    console.print(table("Minted tokens", ["token", "digit", "seed", "owner", "image keccak256", "image file"],
                        [(t.token_id, t.digit, t.seed, t.owner[:10] + "…", t.image_hash[:18] + "…", str(t.path))
                         for t in summary.minted]))
    console.print(table("Revenue from the mints", ["party", "ETH"],
                        [(name, fmt_eth(wei)) for name, wei in summary.received.items()]))
    console.print(table("Gas per mint", ["who", "gas"], summary.gas.items()))
