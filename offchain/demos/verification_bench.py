"""The measurements behind `ape run bench_verification`: how the verification
policies judge honest results computed differently and tampered ones, what a
dispute costs in time and gas, and what sampling costs (shared with its tests).

Honest disagreement: every input is run by a reference (PyTorch eager fp32,
batch 64) and by ONNX Runtime at 1 or 2 threads with graph optimisation on or
off (MiniLM: the four settings take turns over the inputs, and PyTorch at one
thread, batch 1 on the first 100; digits: every setting on every input); a
dispute "would be upheld" when the model's policy says an honest result does
not agree with the reference. MiniLM (tolerance, max_abs 5e-6) on sentences of
the packaged corpus; digits (exact) on held-out digits and noisy variants.

Tampered: outputs a cheat would post instead: a wrong model version (weights
perturbed by 0.1 %, last layer dropped), reduced precision (weights rounded to
fp16, int8 dynamic quantisation of every Linear layer), gaussian noise of
several sizes on the output, swapped inputs (another input's result). Share
caught = share whose verdict under the policy is "does not agree".
"""

from __future__ import annotations

import copy
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from offchain import canonical
from offchain.models import load_spec
from offchain.runtime import TextTokenizer, load_runtime
from offchain.tamper import Tamper

NOISE_SIGMAS = (1e-5, 1e-4, 1e-3)  # gaussian noise a cheat adds to each output element


@dataclass
class PolicyMeasure:
    """Honest and tampered verdicts for one model."""

    model: str
    policy: str
    inputs: int = 0
    honest: list[tuple[str, int, int, float]] = field(default_factory=list)  # setting, results, upheld, worst
    tampered: list[tuple[str, int, int, float]] = field(default_factory=list)  # kind, results, caught, mildest
    seconds: float = 0.0
    infer_s_per_input: float = 0.0  # ONNX Runtime, 2 threads, batch 64: a verifier's cost of one re-execution

    @property
    def upheld(self) -> int:
        return sum(r[2] for r in self.honest)

    @property
    def honest_results(self) -> int:
        return sum(r[1] for r in self.honest)

    @property
    def caught(self) -> tuple[int, int]:
        return sum(r[2] for r in self.tampered), sum(r[1] for r in self.tampered)


def _judge_all(policy, results: list[bytes], references: list[bytes]) -> tuple[int, float, list]:
    verdicts = [policy.judge(r, ref) for r, ref in zip(results, references, strict=True)]
    return sum(not v.agrees for v in verdicts), verdicts


def _row(label: str, policy, results, references, *, honest: bool) -> tuple[str, int, int, float]:
    disagree, verdicts = _judge_all(policy, results, references)
    gaps = [v.distance for v in verdicts]
    worst = max(gaps) if honest else min(gaps)
    return label, len(results), disagree, float(worst)


def _minilm_helpers():
    spec = load_spec("minilm")
    if str(spec.folder) not in sys.path:
        sys.path.insert(0, str(spec.folder))
    import corpus
    import measure_tolerance

    return spec, corpus, measure_tolerance


def measure_minilm(count: int, tampered: int, progress=print) -> PolicyMeasure:
    """MiniLM under its tolerance policy (see the module docstring)."""
    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    spec, corpus, mt = _minilm_helpers()
    started = time.monotonic()
    texts = corpus.texts(count)
    kind, scale = spec.encoding
    runtime = load_runtime(spec)
    policy = runtime.policy
    tokenizer = TextTokenizer(spec)
    artifact = spec.read_artifact()
    model = load_runtime(spec, "torch").backend.model

    def enc(rows) -> list[bytes]:
        return canonical.encode(kind, scale, rows)

    torch.set_num_threads(2)
    reference = enc(mt.torch_embed(model, tokenizer, texts))
    out = PolicyMeasure("minilm", f"tolerance max_abs <= {spec.verification['bound']:g}", inputs=len(texts))
    # The four ONNX Runtime settings take turns over the inputs (each input is run by one of
    # them and by the reference), so the bench stays within minutes on 2 cores.
    settings = [(threads, level, label) for threads in (1, 2) for level, label in (("all", "on"), ("disabled", "off"))]
    for index, (threads, level, label) in enumerate(settings):
        share = list(range(index, len(texts), len(settings)))
        t0 = time.monotonic()
        rows = mt.ort_embed(artifact, tokenizer, [texts[i] for i in share], threads=threads, level=level, batch=64)
        if threads == 2 and level == "all":
            out.infer_s_per_input = (time.monotonic() - t0) / len(share)
        out.honest.append(_row(f"onnxruntime {threads} thread(s), graph optimisation {label}", policy,
                               enc(rows), [reference[i] for i in share], honest=True))
        progress(f"  minilm honest: {out.honest[-1]}")
    few = texts[: min(100, len(texts))]
    torch.set_num_threads(1)
    out.honest.append(_row("torch 1 thread, batch 1", policy,
                           [enc(mt.torch_embed(model, tokenizer, [t], batch=1))[0] for t in few],
                           reference[: len(few)], honest=True))
    torch.set_num_threads(2)
    progress(f"  minilm honest: {out.honest[-1]}")

    n = min(tampered, len(texts))
    subset, base = texts[:n], reference[:n]

    def variant(mutate):
        clone = copy.deepcopy(model)
        with torch.no_grad():
            mutate(clone)
        return clone.eval()

    def perturb(m):
        generator = torch.Generator().manual_seed(1)
        for p in m.parameters():
            p.mul_(1 + 1e-3 * torch.randn(p.shape, generator=generator))

    def drop_last_layer(m):
        m.bert.encoder.layer = m.bert.encoder.layer[:-1]

    def fp16(m):
        for p in m.parameters():
            p.copy_(p.to(torch.float16).float())

    def tamper(label, rows_or_bytes):
        results = rows_or_bytes if isinstance(rows_or_bytes, list) else enc(rows_or_bytes)
        out.tampered.append(_row(label, policy, results, base, honest=False))
        progress(f"  minilm tampered: {out.tampered[-1]}")

    tamper("wrong model version: weights x (1 + 0.001 N(0,1))", mt.torch_embed(variant(perturb), tokenizer, subset))
    tamper("wrong model version: last layer dropped", mt.torch_embed(variant(drop_last_layer), tokenizer, subset))
    tamper("reduced precision: weights rounded to fp16", mt.torch_embed(variant(fp16), tokenizer, subset))
    int8 = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)
    tamper("reduced precision: int8 dynamic quantisation", mt.torch_embed(int8, tokenizer, subset))
    for sigma in NOISE_SIGMAS:
        noise = Tamper("noise", sigma)
        tamper(f"noise sigma {sigma:g} on the output", [noise.apply((kind, scale), r, i) for i, r in enumerate(base)])
    tamper("swapped inputs (another input's result)", base[1:] + base[:1])
    out.seconds = time.monotonic() - started
    return out


def digit_inputs(count: int) -> list[np.ndarray]:
    """`count` digit images: the 360 held-out digits, then noisy copies of them (pixels 0..16)."""
    from offchain.demos.inference import held_out_digits

    held = [np.asarray(p, dtype=np.float32) for p, _ in held_out_digits(load_spec("digits"), 360)]
    rng = np.random.default_rng(13)
    out = list(held)
    while len(out) < count:
        base = held[len(out) % len(held)]
        out.append(np.clip(base + rng.normal(0, 1.5, base.shape), 0, 16).astype(np.float32))
    return out[:count]


def measure_digits(count: int, progress=print) -> PolicyMeasure:
    """The digits classifier under `exact` (see the module docstring)."""
    import onnxruntime as ort
    import torch

    started = time.monotonic()
    spec = load_spec("digits")
    kind, scale = spec.encoding
    runtime = load_runtime(spec)
    policy = runtime.policy
    pixels = digit_inputs(count)
    batch = np.stack(pixels)
    torch_rt = load_runtime(spec, "torch")
    reference = torch_rt.infer(pixels)
    out = PolicyMeasure("digits", "exact", inputs=len(pixels))
    artifact = spec.read_artifact()
    for threads in (1, 2):
        for level, label in ((ort.GraphOptimizationLevel.ORT_ENABLE_ALL, "on"),
                             (ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "off")):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.graph_optimization_level = level
            options.log_severity_level = 3
            session = ort.InferenceSession(artifact, sess_options=options, providers=["CPUExecutionProvider"])
            name = session.get_inputs()[0].name
            rows = np.concatenate([session.run(None, {name: batch[i : i + 64]})[0] for i in range(0, len(batch), 64)])
            out.honest.append(_row(f"onnxruntime {threads} thread(s), graph optimisation {label}", policy,
                                   canonical.encode(kind, scale, rows), reference, honest=True))
            progress(f"  digits honest: {out.honest[-1]}")
    torch.set_num_threads(1)
    single = [torch_rt.infer([p])[0] for p in pixels[:200]]
    torch.set_num_threads(2)
    out.honest.append(_row("torch 1 thread, batch 1", policy, single, reference[:200], honest=True))
    flip = Tamper("flip")
    out.tampered.append(_row("any changed byte (class or probability)", policy,
                             [flip.apply((kind, scale), r) for r in reference], reference, honest=False))
    with torch.no_grad():
        clone = copy.deepcopy(torch_rt.backend.model)
        for p in clone.parameters():
            p.copy_(p.to(torch.float16).float())
        rows = clone(torch.from_numpy(batch)).numpy()
    wrong = canonical.encode(kind, scale, rows)
    changed = [i for i, (a, b) in enumerate(zip(wrong, reference, strict=True)) if a != b]
    out.tampered.append(_row("weights rounded to fp16 (results that changed)", policy,
                             [wrong[i] for i in changed], [reference[i] for i in changed], honest=False))
    out.tampered.append(_row("swapped inputs (results that differ)", policy,
                             *_swapped_differing(reference), honest=False))
    out.seconds = time.monotonic() - started
    return out


def _swapped_differing(reference: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    swapped = reference[1:] + reference[:1]
    pairs = [(s, r) for s, r in zip(swapped, reference, strict=True) if s != r]
    return [p[0] for p in pairs], [p[1] for p in pairs]


# ---------------------------------------------------------------- what sampling costs, what a cheat loses


def detection(sample_bps: int, verifiers: int) -> float:
    """Probability that at least one of `verifiers` independent samplers re-executes a given result."""
    p = sample_bps / 10_000
    return 1.0 - (1.0 - p) ** verifiers


def cheat_economics(sample_bps: int, verifiers: int, slash_wei: int, price_wei: int, compute_cost_wei: int) -> dict:
    """A cheat that skips the work on one result saves at most `compute_cost_wei`; when caught it
    loses the payment (the requester is refunded) and `slash_wei` of stake. Expected loss per
    cheated result = P(caught) * (slash + price)."""
    caught = detection(sample_bps, verifiers)
    loss = caught * (slash_wei + price_wei)
    return {"p_caught": caught, "expected_loss_wei": loss, "gain_wei": compute_cost_wei,
            "deterred": loss > compute_cost_wei, "loss_over_gain": loss / compute_cost_wei if compute_cost_wei else
            float("inf")}


# ---------------------------------------------------------------- disputes from real transactions

BLOCK_S = 12  # seconds per block on Ethereum mainnet: what a block count means in time


@dataclass
class DisputeMeasure:
    """One dispute from challenge to settle, driven by the real verifier code."""

    label: str
    seconds: int = 0  # chain time from the challenge's block to the settle's block
    blocks: int = 0
    gas: dict[str, int] = field(default_factory=dict)  # operation -> gas (sum over members)
    outcome: str = ""

    @property
    def total_gas(self) -> int:
        return sum(self.gas.values())


def dispute_measures(project, accounts, workdir) -> tuple[list[DisputeMeasure], dict]:
    """Two disputes on a fresh deployment with default parameters: members acting at once
    ("prompt"), and the slowest that still settles by the committee ("worst case": every member
    commits at the commit deadline, one never reveals, so settle waits for the reveal deadline). A tampering digits worker is challenged by a sampling verifier; committee
    members are `offchain.verifier.Verifier`s. Returns the measures and the court/market params."""
    from pathlib import Path

    from ape import chain

    from offchain import inputs
    from offchain.cli import ETH, advance_time
    from offchain.client import InferenceClient
    from offchain.court import Phase
    from offchain.deploy import deploy_system
    from offchain.demos.inference import held_out_digits
    from offchain.governance import Proposal, pass_locally
    from offchain.server import ResultServer
    from offchain.store import ContentStore
    from offchain.verifier import Verifier, VerifierState, sampled
    from offchain.worker import InferenceWorker

    workdir = Path(workdir)
    deployer, alice, bob, author, app_builder = accounts[0], accounts[1], accounts[2], accounts[8], accounts[6]
    d = deploy_system(project, deployer)
    token, registry, workers, market, court = (d.GovernanceToken, d.ModelRegistry, d.WorkerRegistry,
                                               d.InferenceMarket, d.DisputeCourt)
    for holder, amount in ((alice, 30_000_000), (bob, 20_000_000)):
        token.transfer(holder, amount * ETH, sender=deployer)
        token.invoke_transaction("delegate", holder, sender=holder)
    advance_time(1)
    spec = load_spec("digits")
    registry.register_model(spec.artifact_hash, spec.manifest_hash, "models/digits", spec.manifest["price_wei"],
                            [author], [1], sender=author)
    model_id = registry.model_count()
    pass_locally(d.Governor, Proposal("list digits").call(registry, "approve_model", model_id), alice, [alice, bob])
    params = court.params()
    size = int(params.committee_size)

    def staked(account):
        amount = 10 * workers.min_stake()
        token.transfer(account, amount, sender=deployer)
        token.approve(workers, amount, sender=account)
        workers.register(account, "http://bench.invalid", amount, sender=account)
        return account

    def fresh():
        account = accounts.generate_test_account()
        deployer.transfer(account, 5 * ETH)
        return staked(account)

    cheat, sampler = fresh(), fresh()
    members = [fresh() for _ in range(size)]
    for member in members:
        court.join(model_id, sender=member)
    runtime = load_runtime(spec)
    store = ContentStore(workdir / "results")
    server = ResultServer(store).start()
    try:
        worker = InferenceWorker(market, cheat, cheat.private_key, {model_id: runtime}, store, workdir / "cheat.json",
                                 server.result_url, tamper=Tamper("flip"))
        client = InferenceClient(market, app_builder)
        samples = held_out_digits(spec, 2)
        out = []
        for case, (pixels, _) in zip(("prompt", "worst case"), samples, strict=True):
            request_id = client.request(model_id, inputs.encode_pixels(pixels))
            worker.step()
            path = workdir / f"sampler-{case}.json"
            state = VerifierState.load(path)
            while not sampled(bytes.fromhex(state.secret), request_id, params.sample_bps):
                state = VerifierState.load(path)  # a secret that samples this request (5 % draw)
            state.cursor = chain.blocks.head.number - 3
            state.save(path)
            watcher = Verifier(market, court, sampler, {model_id: runtime}, store, path)
            report = watcher.step()
            measure = DisputeMeasure(f"{case}")
            measure.gas["challenge (sampling verifier)"] = report.gas
            start_block = chain.blocks.head
            dispute_id = int(court.dispute_count())
            bots = []
            for i, member in enumerate(members):
                member_path = workdir / f"member{i}-{case}.json"
                member_state = VerifierState.load(member_path)
                member_state.cursor = start_block.number
                member_state.save(member_path)
                bots.append(Verifier(market, court, member, {model_id: runtime}, store, member_path))
            chain.mine(int(params.draw_delay) + 1)
            if case == "prompt":  # every member acts as soon as it can
                first = [bot.step() for bot in bots]
                measure.gas["draw + commits"] = sum(r.gas for r in first)
                second = [bot.step() for bot in bots]
                measure.gas["reveals + settle"] = sum(r.gas for r in second)
            else:  # the slowest members still in time: commit at the deadline, one never reveals
                measure.gas["draw"] = court.draw(dispute_id, sender=app_builder).gas_used
                advance_time(court.disputes(dispute_id).commit_deadline - chain.blocks.head.timestamp - 10)
                measure.gas["commits (at the deadline)"] = sum(bot.step().gas for bot in bots)
                measure.gas["reveals"] = sum(bot.step().gas for bot in bots[:-1])
                advance_time(court.disputes(dispute_id).reveal_deadline - chain.blocks.head.timestamp + 1)
                measure.gas["settle (no-show slashed)"] = sum(bot.step().gas for bot in bots[:-1])
            assert court.phase_of(dispute_id) == Phase.SETTLED, f"{case}: dispute {dispute_id} did not settle"
            settled = list(court.DisputeSettled.range(0, None, search_topics={"dispute_id": dispute_id}))[0]
            end_block = chain.blocks.head
            challenge_block = chain.blocks[start_block.number]
            measure.seconds = end_block.timestamp - challenge_block.timestamp
            measure.blocks = end_block.number - challenge_block.number
            measure.outcome = (f"worker wrong {settled.for_challenger}-{settled.for_worker}, "
                               f"{settled.no_shows} no-show(s)")
            out.append(measure)
        return out, {"court": params, "market": market.params()}
    finally:
        server.stop()
        worker.close()
