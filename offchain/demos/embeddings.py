"""Paid sentence embeddings (minilm) on a local chain.

`run` is the demo section (`ape run demo --models minilm`): deploy; register
minilm (shares: 70 % author, 30 % dave) and list it through a DAO proposal;
stake a worker that loads the model by its registered artifact hash (as
`ape run worker --models minilm` does); an app builder pays
the market for the embeddings of a small corpus and of a query, one request
each; the worker claims, embeds in one batch, signs and fulfils; the app
builder fetches every result, checks it against the hash on-chain and
recomputes it with its own copy of the model under the manifest's tolerance
policy; it then answers the query from the paid vectors (the nearest corpus
sentence, through `offchain.dedup.DuplicateIndex`); the challenge window
passes, the worker finalizes, and every party withdraws its share.

`embeddings_service` is the same model served over payment channels, shared by
`ape run bench_embeddings` and `ape run semantic_search`.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from offchain import canonical, inputs
from offchain.cli import ETH, advance_time, console, fmt_eth, table
from offchain.client import InferenceClient
from offchain.dedup import DuplicateIndex
from offchain.deploy import deploy_system
from offchain.demos.inference import WORKER_ACCOUNTS, WORKER_PORT, DemoSummary, _wait_for, _withdraw_all, stake
from offchain.demos.risk import register_and_list
from offchain.errors import NeuralCommonsError
from offchain.models import ModelSpec, load_spec
from offchain.runtime import load_runtime
from offchain.serve import load_runtimes
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.worker import InferenceWorker, StepReport

DEMO_TEXTS = 20  # paid embeddings: the corpus sentences and the query
DEMO_QUERY = "How do I walk a directory tree without following symbolic links?"
CORPUS_POOL = 1_200  # the corpus sentences are spread over the first CORPUS_POOL of models/minilm/corpus.py
WORKER, APP_BUILDER, AUTHOR, DAVE = WORKER_ACCOUNTS[0], 6, 8, 9  # test account indexes (as in the digits section)


@dataclass
class EmbeddingsSummary(DemoSummary):
    model_id: int = 0
    price: int = 0  # wei one request costs (model price + market fee)
    paid_by_app_builder: int = 0  # with gas
    served_models: list[str] = field(default_factory=list)  # what the worker loaded, "name (id)"
    max_gap: float = 0.0  # worst max-abs distance, worker's vector vs the app builder's recomputation
    bound: float = 0.0
    query: str = ""
    answer: str = ""
    similarity: float = 0.0
    corpus: int = 0
    received: dict[str, int] = field(default_factory=dict)


def corpus_texts(spec: ModelSpec, count: int) -> list[str]:
    """`count` sentences of the model's packaged corpus, spread over its first CORPUS_POOL (varied topics)."""
    module_spec = importlib.util.spec_from_file_location("nc_minilm_corpus", spec.folder / "corpus.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    pool = module.texts(CORPUS_POOL)
    return pool[:: max(1, len(pool) // count)][:count]


def list_minilm(d, accounts, spec: ModelSpec) -> int:
    """Gives alice and bob their votes (once per deployment), then registers and lists `spec`; its id."""
    deployer, alice, bob = accounts[0], accounts[1], accounts[2]
    token = d.GovernanceToken
    for holder, amount in ((alice, 30_000_000), (bob, 20_000_000)):
        if token.getVotes(holder) == 0:
            token.transfer(holder, amount * ETH, sender=deployer)
            token.invoke_transaction("delegate", holder, sender=holder)
    advance_time(1)
    return register_and_list(d, spec, accounts[AUTHOR], accounts[DAVE], alice, [alice, bob])


@dataclass
class _Section:
    """What both ways of running the section share: the deployment, the texts, the summary."""

    deployment: object
    spec: ModelSpec
    model_id: int
    corpus: list[str]
    texts: list[str]
    summary: EmbeddingsSummary


def _prepare(project, accounts, count: int, query: str) -> _Section:
    """Deploys a system and lists minilm; `count` texts: `count - 1` corpus sentences and the query."""
    if count < 2:
        raise NeuralCommonsError(f"the embeddings demo needs at least 2 texts (a corpus and a query), not {count}")
    spec = load_spec("minilm")
    corpus = corpus_texts(spec, count - 1)
    summary = EmbeddingsSummary(requests=count, bound=float(spec.verification["bound"]), query=query,
                                corpus=len(corpus))
    d = deploy_system(project, accounts[0])
    summary.model_id = model_id = list_minilm(d, accounts, spec)
    console.print(f"minilm model {model_id} listed by the DAO")
    return _Section(d, spec, model_id, corpus, [*corpus, query], summary)


def _pay(section: _Section, app_builder) -> tuple[InferenceClient, list[int]]:
    """The app builder pays one market request per text (the market has no batched request call)."""
    summary = section.summary
    client = InferenceClient(section.deployment.InferenceMarket, app_builder)
    summary.price = price = client.quote(section.model_id)  # one quote for the lot (the price does not move)
    before = app_builder.balance
    ids = [client.request(section.model_id, inputs.encode_text(text), value=price) for text in section.texts]
    summary.paid_by_app_builder = before - app_builder.balance
    summary.paid_to_market = price * len(ids)
    console.print(f"app builder paid for {len(ids)} embeddings at {fmt_eth(price)} ETH each")
    return client, ids


def _verify_and_search(section: _Section, client: InferenceClient, ids: list[int]) -> None:
    """Fetches every result (its hash checked against the chain), recomputes each text with the app
    builder's own copy of the model and judges it under the manifest's policy; then answers the
    query from the paid vectors. Raises on the first result that is not within the bound."""
    spec, summary = section.spec, section.summary
    fetched = client.fetch_all(ids, spec)  # each result hashes to the hash the worker attested on-chain
    registered = bytes(section.deployment.ModelRegistry.models(section.model_id).artifact_hash)
    mine = load_runtime(spec, expected_hash=registered)  # the app builder's copy, checked against the chain
    policy, (_, scale) = mine.policy, spec.encoding
    paid: dict[str, np.ndarray] = {}
    for request_id, text, reference in zip(ids, section.texts, mine.infer(section.texts), strict=True):
        verdict = policy.judge(fetched[request_id].result, reference)
        if not verdict.agrees:
            raise NeuralCommonsError(f"request {request_id}: the worker's embedding is {verdict.distance} off "
                                     f"(bound {summary.bound})")
        summary.verified += 1
        summary.max_gap = max(summary.max_gap, verdict.distance)
        paid[text] = canonical.decode_embedding(scale, fetched[request_id].result)
    index = DuplicateIndex(lambda batch: np.stack([paid[t] for t in batch]))  # the paid vectors, nothing re-run
    index.add(enumerate(section.corpus))
    (answer,) = index.screen([summary.query])
    summary.answer, summary.similarity = answer.source_text, answer.similarity


def run(project, accounts, *, count: int = DEMO_TEXTS, query: str = DEMO_QUERY,
        workdir: Path | None = None) -> EmbeddingsSummary:
    """The section on the embedded chain: one worker, in this process. `count` paid requests:
    `count - 1` corpus sentences and the query."""
    deployer, worker, app_builder = accounts[0], accounts[WORKER], accounts[APP_BUILDER]
    section = _prepare(project, accounts, count, query)
    d, summary = section.deployment, section.summary
    market = d.InferenceMarket
    owned = workdir is None  # a folder of our own (the worker's ~90 MB model store) is removed at the end
    workdir = Path(workdir or tempfile.mkdtemp(prefix="nc-minilm-"))
    results = ContentStore(workdir / "results")
    server = ResultServer(results).start()
    agent = None
    try:
        stake(d, deployer, worker, server.url)
        # as `ape run worker --models minilm` loads it: the artifact checked against the hash registered on-chain,
        # served under every active model id registered with it (`--models all` adds every other listed model)
        runtimes = load_runtimes(d.ModelRegistry, ["minilm"], workdir / "worker")
        summary.served_models = [f"{r.spec.name} ({i})" for i, r in sorted(runtimes.items())]
        agent = InferenceWorker(market, worker, worker.private_key, runtimes, results, workdir / "worker.json",
                                server.result_url)
        client, ids = _pay(section, app_builder)
        work = _serve(agent)
        console.print(f"worker: claimed {work.claimed}, embedded and fulfilled {work.fulfilled}, "
                      f"rejected {work.rejected}")
        _verify_and_search(section, client, ids)
        advance_time(market.params().challenge_window + 1)
        settle = agent.step()
        console.print(f"worker: finalized {settle.finalized}")
        summary.gas = {"request (app builder)": client.gas_used // len(ids),
                       "claim + fulfil + finalize (worker)": (work.gas + settle.gas) // len(ids)}
        _withdraw_all(d, section.model_id, accounts, [worker], summary)
    finally:
        server.stop()
        if agent is not None:
            agent.close()
    if owned:  # kept when the section failed, for its worker files
        shutil.rmtree(workdir, ignore_errors=True)
    return summary


def run_live(project, accounts, *, count: int = DEMO_TEXTS, query: str = DEMO_QUERY, workdir: Path | None = None,
             timeout: float = 300) -> EmbeddingsSummary:
    """The section on a real local node (anvil): the worker is a silverback bot in its own process
    (`NC_MODELS=minilm`), which loads the model by its registered hash, claims, embeds, fulfils and
    finalizes on its own; the app builder pays, waits, verifies and searches from this process."""
    from offchain.deploy import save_deployment
    from offchain.localnet import BotProcess, running
    from offchain.market import RequestState

    deployer, app_builder = accounts[0], accounts[APP_BUILDER]
    worker = accounts[WORKER]
    section = _prepare(project, accounts, count, query)
    d, summary = section.deployment, section.summary
    market = d.InferenceMarket
    owned = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="nc-minilm-live-"))
    stake(d, deployer, worker, f"http://127.0.0.1:{WORKER_PORT}")
    save_deployment(d)  # the bot finds the contracts here
    bot = BotProcess(WORKER, WORKER_PORT, workdir / "worker", models="minilm")
    with running(bot, timeout=timeout):
        summary.served_models = [f"minilm ({section.model_id}), in a worker bot process"]
        client, ids = _pay(section, app_builder)
        _wait_for(market, ids, (RequestState.FULFILLED, RequestState.FINALIZED), timeout)
        _verify_and_search(section, client, ids)
        advance_time(market.params().challenge_window + 1)
        _wait_for(market, ids, (RequestState.FINALIZED,), timeout)
        summary.gas = {"request (app builder)": client.gas_used // len(ids)}
        _withdraw_all(d, section.model_id, accounts, [worker], summary)
    if owned:  # kept when the section failed, for the bot's log
        shutil.rmtree(workdir, ignore_errors=True)
    return summary


def _serve(agent: InferenceWorker, max_steps: int = 10) -> StepReport:
    """Worker steps until no input is still on its way (claimed on a later step); the reports summed."""
    total = StepReport()
    for _ in range(max_steps):
        report = agent.step()
        for name in ("claimed", "fulfilled", "rejected", "gas"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if not report.fetching:
            break
    return total


def print_summary(summary: EmbeddingsSummary) -> None:
    console.print(table("Sentence embeddings (minilm)", ["what", "value"], [
        ("embeddings paid (per request, through the market)", summary.requests),
        ("results verified (hash on-chain + recomputed within the tolerance)",
         f"{summary.verified} / {summary.requests}"),
        ("worst gap, worker vs app builder's recomputation", f"{summary.max_gap:.2e} (bound {summary.bound:g})"),
        ("models the worker serves (loaded by registered hash)", ", ".join(summary.served_models)),
        ("price per embedding (model + fee)", f"{fmt_eth(summary.price)} ETH"),
        ("ETH paid by the app builder (with gas)", fmt_eth(summary.paid_by_app_builder)),
    ]))
    console.print(table(f"Semantic search over the {summary.corpus} paid corpus embeddings", ["what", "value"], [
        ("query", summary.query), ("nearest sentence", summary.answer), ("cosine", f"{summary.similarity:.3f}"),
    ]))
    console.print(table("ETH withdrawn", ["party", "ETH"],
                        [(name, fmt_eth(wei)) for name, wei in summary.received.items()]))
    console.print(table("Gas per embedding", ["who", "gas"], summary.gas.items()))


@dataclass
class EmbeddingsService:
    deployment: object
    model_id: int
    worker: object
    url: str
    price: int
    api: object  # the ChannelWorker

    def client(self, payer, deposit: int = 10**18):
        """A channel client for `payer` with a freshly opened and funded channel."""
        from ape import chain

        from offchain.channels import ChannelClient

        d = self.deployment
        client = ChannelClient(d.PaymentChannels, d.ModelRegistry, d.WorkerRegistry, payer, chain_id=chain.chain_id)
        client.open(self.worker, self.model_id, deposit, url=self.url)
        return client


@contextmanager
def embeddings_service(project, accounts):
    """Deploys a system, lists minilm through governance, serves paid calls on 127.0.0.1."""
    from ape import chain

    from offchain.channels import serving_locally
    from offchain.demos.bench import setup_market
    from offchain.governance import Proposal, pass_locally
    from offchain.models import load_spec
    from offchain.runtime import load_runtime

    d, _, worker, _ = setup_market(project, accounts)
    spec = load_spec("minilm")
    registry, deployer, author = d.ModelRegistry, accounts[0], accounts[8]
    registry.register_model(spec.artifact_hash, spec.manifest_hash, "models/minilm", spec.manifest["price_wei"],
                            [author], [1], sender=author)
    model_id = registry.model_count()
    pass_locally(d.Governor, Proposal("list minilm").call(registry, "approve_model", model_id), deployer, [deployer])
    runtime = load_runtime(spec, expected_hash=bytes(registry.models(model_id).artifact_hash))
    price = registry.model_terms(model_id)[1]
    with serving_locally(d.PaymentChannels, worker, {model_id: runtime}, {model_id: price},
                         chain_id=chain.chain_id) as (api, url):
        yield EmbeddingsService(d, model_id, worker, url, price, api)
