"""The end-to-end demo: the economy of one model, on a local chain.

Deploy; register the digits model and approve it through a real DAO
proposal; stake a worker; an app builder pays for inferences on held-out
digits (in batched requests: one transaction per 100); the worker claims,
runs, signs and fulfils in batches; the client
fetches every result from the worker's server and checks it against the
chain; the challenge window passes; the worker finalizes; token holders,
shareholders, the worker and the treasury withdraw.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from offchain import inputs
from offchain.cli import ETH, advance_time, console, fmt_eth, table
from offchain.client import InferenceClient
from offchain.deploy import deploy_system
from offchain.errors import NeuralCommonsError
from offchain.governance import Proposal, pass_locally
from offchain.market import MARKET_BATCH, RequestState, request_views, stake_for
from offchain.models import ModelSpec, load_spec
from offchain.runtime import load_runtime
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.worker import InferenceWorker


WORKER_ACCOUNTS = (5, 7, 4)  # test account indexes that act as workers in local runs
WORKER_PORT = 8601  # result server of worker i listens on WORKER_PORT + i


@dataclass
class DemoSummary:
    """What every demo reports: paid requests, how many results checked out, gas by step."""

    requests: int = 0
    verified: int = 0
    paid_to_market: int = 0  # wei the paid requests carried into the market (gas not counted)
    gas: dict[str, int] = field(default_factory=dict)


@dataclass
class InferenceSummary(DemoSummary):
    correct: int = 0
    paid_by_app_builder: int = 0
    accuracy_manifest: float = 0.0
    received: dict[str, int] = field(default_factory=dict)
    fulfilled_by: dict[str, int] = field(default_factory=dict)  # live mode: requests each worker fulfilled


def held_out_digits(spec: ModelSpec, count: int):
    """(pixels, label) pairs the model never trained on, from its build script's split."""
    module_spec = importlib.util.spec_from_file_location("nc_digits_build", spec.folder / "build.py")
    module = importlib.util.module_from_spec(module_spec)
    import sys

    sys.path.insert(0, str(spec.folder))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(spec.folder))
    _, x_test, _, y_test = module.held_out_split()
    return list(zip(x_test[:count], y_test[:count], strict=True))


def prepare(project, accounts, spec: ModelSpec):
    """Deploys, distributes and delegates tokens, registers the model and lists it
    through a real DAO proposal. Returns (deployment, model id)."""
    deployer, alice, bob, author, dave = accounts[0], accounts[1], accounts[2], accounts[8], accounts[9]
    d = deploy_system(project, deployer)
    token, registry = d.GovernanceToken, d.ModelRegistry
    console.print(f"deployed {len(d.contracts)} contracts")
    for holder, amount in ((alice, 30_000_000), (bob, 20_000_000)):
        token.transfer(holder, amount * ETH, sender=deployer)
        token.invoke_transaction("delegate", holder, sender=holder)
    advance_time(1)

    # The author registers the model; shares: 70 % author, 30 % dave (a data contributor).
    registry.register_model(
        spec.artifact_hash, spec.manifest_hash, "models/digits", spec.manifest["price_wei"],
        [author, dave], [7_000, 3_000], sender=author)
    model_id = registry.model_count()
    console.print(f"model {model_id} ({spec.name}) registered: pending")
    approval = Proposal(f"List the digits model (id {model_id})").call(registry, "approve_model", model_id)
    pass_locally(d.Governor, approval, alice, [alice, bob])
    console.print(f"DAO proposal executed: model {model_id} active = {registry.model_terms(model_id)[0]}")
    return d, model_id


DEMO_IN_FLIGHT = 2 * MARKET_BATCH  # requests a demo worker may hold claimed at once (two full batches)


def stake(d, deployer, worker, endpoint: str) -> None:
    """Gives `worker` the stake for DEMO_IN_FLIGHT requests in flight and registers it with its own key as
    signer (a claim locks stake until its request settles, `offchain.market.claim_lock`)."""
    amount = stake_for(d.InferenceMarket, d.WorkerRegistry, DEMO_IN_FLIGHT)
    d.GovernanceToken.transfer(worker, amount, sender=deployer)
    d.GovernanceToken.approve(d.WorkerRegistry, amount, sender=worker)
    d.WorkerRegistry.register(worker, endpoint, amount, sender=worker)


def _pay_for_digits(client: InferenceClient, model_id: int, spec: ModelSpec, count: int, summary: InferenceSummary):
    """The app builder pays for `count` held-out digits in batched requests; returns [(request id, true label)]."""
    samples = held_out_digits(spec, count)
    before = client.account.balance
    # One batched transaction per 100 inputs, one quote for the lot (the price does not move meanwhile).
    ids = client.request_many(model_id, [inputs.encode_pixels(pixels) for pixels, _ in samples])
    requested = [(request_id, int(label)) for request_id, (_, label) in zip(ids, samples)]
    summary.paid_by_app_builder = before - client.account.balance
    summary.paid_to_market = client.quote(model_id) * len(requested)  # the price did not move meanwhile
    return requested


def _verify_all(client: InferenceClient, spec: ModelSpec, requested, summary: InferenceSummary) -> None:
    fetched = client.fetch_all([request_id for request_id, _ in requested], spec)
    for request_id, label in requested:
        verified = fetched[request_id]
        summary.verified += 1
        summary.correct += int(verified.decoded["class"] == label)


def _withdraw_all(d, model_id: int, accounts, workers, summary: InferenceSummary) -> None:
    """Every party takes its share: workers, shareholders, token holders, treasury."""
    deployer, alice, bob, author, dave, app_builder = (
        accounts[0], accounts[1], accounts[2], accounts[8], accounts[9], accounts[6])
    market, shares, token = d.InferenceMarket, d.ModelShares, d.GovernanceToken
    for i, worker in enumerate(workers):
        owed = market.owed(worker)
        if owed:
            market.withdraw(sender=worker)
        summary.received[f"worker {i + 1}" if len(workers) > 1 else "worker"] = owed
    for name, holder in (("author (70 % of shares)", author), ("dave (30 % of shares)", dave)):
        summary.received[name] = shares.withdraw_revenue([model_id], sender=holder).decode_logs(
            shares.RevenueWithdrawn)[0].amount
    for name, holder in (("token holder alice", alice), ("token holder bob", bob), ("token holder deployer", deployer)):
        summary.received[name] = token.withdraw_revenue(sender=holder).decode_logs(token.RevenueWithdrawn)[0].amount
    treasury_before = d.Timelock.balance
    market.sweep_treasury(sender=app_builder)
    summary.received["treasury"] = d.Timelock.balance - treasury_before


def _start(project, accounts, count: int):
    """The summary, the digits spec, and a deployment with the model listed: what both demos begin with."""
    summary = InferenceSummary(requests=count)
    spec = load_spec("digits")
    summary.accuracy_manifest = spec.manifest["evaluation"]["accuracy"]
    d, model_id = prepare(project, accounts, spec)
    return summary, spec, d, model_id


@contextmanager
def demo_worker(d, deployer, worker, model_id: int, spec: ModelSpec, workdir: Path) -> Iterator[InferenceWorker]:
    """The demos' in-process worker: it stakes, serves results over HTTP and loads the model (checking
    the artifact against the hash on-chain); its server stopped and its fetches closed on the way out."""
    results = ContentStore(workdir / "results")
    server = ResultServer(results).start()
    agent = None
    try:
        stake(d, deployer, worker, server.url)
        onchain_artifact = bytes(d.ModelRegistry.models(model_id).artifact_hash)
        runtime = load_runtime(spec, "onnxruntime", ContentStore(workdir / "models"), onchain_artifact)
        agent = InferenceWorker(d.InferenceMarket, worker, worker.private_key, {model_id: runtime}, results,
                                workdir / "worker.json", server.result_url)
        yield agent
    finally:
        server.stop()
        if agent is not None:
            agent.close()


def run(project, accounts, *, count: int = 100, workdir: Path | None = None) -> InferenceSummary:
    """The demo on the embedded chain: one worker, in this process."""
    deployer, worker, app_builder = accounts[0], accounts[5], accounts[6]
    workdir = Path(workdir or tempfile.mkdtemp(prefix="nc-demo-"))
    summary, spec, d, model_id = _start(project, accounts, count)
    market = d.InferenceMarket

    with demo_worker(d, deployer, worker, model_id, spec, workdir) as agent:
        client = InferenceClient(market, app_builder)
        requested = _pay_for_digits(client, model_id, spec, count, summary)

        work = agent.step()
        console.print(f"worker: claimed {work.claimed}, fulfilled {work.fulfilled}, rejected {work.rejected}")
        _verify_all(client, spec, requested, summary)
        advance_time(market.params().challenge_window + 1)
        settle = agent.step()
        console.print(f"worker: finalized {settle.finalized}")
        summary.gas = {
            "request (app builder)": client.gas_used // count,
            "claim + fulfil + finalize (worker)": (work.gas + settle.gas) // count,
        }
        _withdraw_all(d, model_id, accounts, [worker], summary)
    return summary


def _wait_for(market, ids, states, timeout: float) -> None:
    """Polls until every request is in one of `states`, mining a block now and
    then so block-driven bots keep stepping."""
    from ape import chain

    deadline = time.monotonic() + timeout
    while True:
        pending = [i for i, view in request_views(market, ids).items() if view.state not in states]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise NeuralCommonsError(f"{len(pending)} requests not done within {timeout} s (first: {pending[0]})")
        time.sleep(0.5)
        chain.mine()


def run_live(project, accounts, *, count: int = 100, workers: int = 2, workdir: Path | None = None,
             timeout: float = 300) -> InferenceSummary:
    """The demo on a real local node (anvil): `workers` silverback bots in their own processes."""
    from ape import chain

    from offchain.deploy import save_deployment
    from offchain.localnet import BotProcess, running

    deployer, app_builder = accounts[0], accounts[6]
    workdir = Path(workdir or tempfile.mkdtemp(prefix="nc-live-"))
    summary, spec, d, model_id = _start(project, accounts, count)
    market = d.InferenceMarket
    worker_accounts = [accounts[i] for i in WORKER_ACCOUNTS[:workers]]
    for i, worker in enumerate(worker_accounts):
        stake(d, deployer, worker, f"http://127.0.0.1:{WORKER_PORT + i}")
    save_deployment(d)  # the bots find the contracts here

    bots = [BotProcess(WORKER_ACCOUNTS[i], WORKER_PORT + i, workdir / f"worker-{i + 1}") for i in range(workers)]
    with running(*bots):
        console.print(f"{workers} worker bots running")
        client = InferenceClient(market, app_builder)
        requested = _pay_for_digits(client, model_id, spec, count, summary)
        ids = [i for i, _ in requested]
        _wait_for(market, ids, (RequestState.FULFILLED, RequestState.FINALIZED), timeout)
        _verify_all(client, spec, requested, summary)
        by_worker = {}
        for i in ids:
            fulfilments = list(market.InferenceFulfilled.range(0, None, search_topics={"request_id": i}))
            if len(fulfilments) != 1:
                raise NeuralCommonsError(f"request {i} was fulfilled {len(fulfilments)} times")
            by_worker[fulfilments[0].worker] = by_worker.get(fulfilments[0].worker, 0) + 1
        summary.fulfilled_by = {f"worker {n + 1}": by_worker.get(w.address, 0) for n, w in enumerate(worker_accounts)}
        chain.mine(timestamp=chain.pending_timestamp + market.params().challenge_window + 1)
        _wait_for(market, ids, (RequestState.FINALIZED,), timeout)
        _withdraw_all(d, model_id, accounts, worker_accounts, summary)
        summary.gas = {"request (app builder)": client.gas_used // count}
    return summary


def print_summary(summary: InferenceSummary) -> None:
    rows = [
        ("requests paid", summary.requests),
        ("results verified against the chain", summary.verified),
        ("correct predictions", f"{summary.correct} / {summary.requests}"),
        ("held-out accuracy in the manifest", f"{summary.accuracy_manifest:.2%}"),
        ("ETH paid by the app builder (with gas)", fmt_eth(summary.paid_by_app_builder)),
    ]
    console.print(table("Inference", ["what", "value"], rows))
    console.print(table("ETH withdrawn", ["party", "ETH"],
                        [(name, fmt_eth(wei)) for name, wei in summary.received.items()]))
    if summary.fulfilled_by:
        console.print(table("Work split (each request fulfilled exactly once)", ["worker", "requests"],
                            summary.fulfilled_by.items()))
    console.print(table("Gas per request", ["who", "gas"], summary.gas.items()))
