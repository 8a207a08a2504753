"""The contract-risk model: its data set and features, the determinism of its runtime, and the input
binding on the embedded chain (the worker reads the code itself and refuses a swapped contract)."""

import json

import numpy as np
import pytest
from ape import chain
from eth_utils import keccak

from offchain import bytecode, canonical, inputs
from offchain.client import InferenceClient
from offchain.demos import risk
from offchain.demos.inference import stake
from offchain.models import load_spec
from offchain.runtime import load_runtime
from offchain.store import ContentStore
from offchain.worker import InferenceWorker

SUPPLY = 10**24


@pytest.fixture(scope="module")
def spec():
    return load_spec("risk")


@pytest.fixture(scope="module")
def build(spec):
    return spec.build_module()


@pytest.fixture(scope="module")
def onnx(spec):
    return load_runtime(spec, "onnxruntime")


@pytest.fixture(scope="module")
def codes(project, accounts):
    """Runtime code of the example tokens and of a few project contracts, as compiled by ape."""
    return {name: bytes.fromhex(getattr(project, name).contract_type.runtime_bytecode.bytecode[2:])
            for name in ("SafeToken", "RiskyToken", "TokenListing", "PredictionConsumer")}


# ---------------------------------------------------------------- data set and features


def test_dataset__regenerated__same_contracts_as_committed(build, spec):
    committed = [json.loads(line) for line in (spec.folder / "dataset.jsonl").read_text().splitlines()]
    regenerated = build.dataset()
    assert len(committed) == len(regenerated) == spec.manifest["dataset"]["contracts"]
    for row, contract in zip(committed, regenerated, strict=True):
        assert (row["family"], row["features"], row["optimize"], row["labels"]) == (
            contract.family, contract.features, contract.optimize, contract.labels)


def test_dataset__recompiled__same_runtime_code_as_committed(build, spec):
    committed = [json.loads(line) for line in (spec.folder / "dataset.jsonl").read_text().splitlines()]
    contracts = build.dataset()
    for i in (0, 1, 3):  # snek_own, snek_2step (held out), plain_owner: vyper itself, not the cache
        code = bytes.fromhex(build._compile((contracts[i].source, contracts[i].optimize)).removeprefix("0x"))
        assert "0x" + keccak(code).hex() == committed[i]["code_keccak256"]


def test_dataset__held_out_split__whole_families(spec):
    rows = [json.loads(line) for line in (spec.folder / "dataset.jsonl").read_text().splitlines()]
    held = {r["family"] for r in rows if r["held_out"]}
    trained = {r["family"] for r in rows if not r["held_out"]}
    assert held == set(spec.manifest["evaluation"]["held_out_families"]) and not held & trained
    held_names = {n for r in rows if r["held_out"] for n in r["names"].values()}
    trained_names = {n for r in rows if not r["held_out"] for n in r["names"].values()}
    assert not held_names & trained_names  # no selector of the held-out set was trained on


def test_features__skip_push_data_and_count_patterns():
    # PUSH1 0xff (data, not SELFDESTRUCT), CALLER, PUSH1 0, SLOAD, EQ, DELEGATECALL
    code = bytes([0x60, 0xFF, 0x33, 0x60, 0x00, 0x54, 0x14, 0xF4])
    assert bytecode.opcodes(code) == [0x60, 0x33, 0x60, 0x54, 0x14, 0xF4]
    f = bytecode.features(code)
    assert f.shape == (bytecode.DIM,) and f.dtype == np.float32
    assert f[0xFF] == 0 and f[0xF4] == pytest.approx(np.log1p(1))
    patterns = f[bytecode.OPCODES + bytecode.BIGRAMS :]
    assert patterns[0] == pytest.approx(np.log1p(1))  # CALLER near EQ
    assert patterns[3] == pytest.approx(np.log1p(1))  # DELEGATECALL


def test_features__deterministic_and_sized(codes):
    for code in codes.values():
        assert np.array_equal(bytecode.features(code), bytecode.features(bytes(code)))
    assert bytecode.DIM == load_spec("risk").manifest["features"]["dim"]


# ---------------------------------------------------------------- the model


def test_model__onnx_twice__same_bytes(onnx, codes):
    batch = list(codes.values())
    assert onnx.infer(batch) == onnx.infer(batch)
    assert onnx.infer(batch[:1]) == onnx.infer(batch)[:1]  # batch composition changes nothing here


def test_model__onnx_vs_torch__within_the_policy(spec, onnx, codes):
    torch_runtime = load_runtime(spec, "torch")
    for code in codes.values():
        (reference,) = torch_runtime.infer([code])
        honest, gap = onnx.check(code, reference)
        assert honest and gap <= spec.verification["bound"]


def test_model__another_models_scores__refused(spec, onnx, codes):
    (safe,) = onnx.infer([codes["SafeToken"]])
    (risky,) = onnx.infer([codes["RiskyToken"]])
    assert not onnx.check(codes["SafeToken"], risky)[0]  # the risky token's scores passed off as the safe one's
    shifted = canonical.encode_scores(spec.encoding[1], [[v + 2 / spec.encoding[1] for v in
                                                          canonical.decode_scores(spec.encoding[1], safe)]])[0]
    assert not onnx.check(codes["SafeToken"], shifted)[0]  # two steps off: outside the bound


def test_model__example_tokens__safe_below_and_risky_above_the_threshold(spec, onnx, codes):
    threshold = spec.manifest["listing_threshold_bps"] / 10_000
    safe = risk.decoded_scores(spec, onnx.infer([codes["SafeToken"]])[0])
    risky = risk.decoded_scores(spec, onnx.infer([codes["RiskyToken"]])[0])
    assert safe["risk"] < threshold < risky["risk"]
    assert risky["fee_on_transfer"] > 0.5 and risky["transfer_block"] > 0.5
    assert safe["risk"] == max(v for k, v in safe.items() if k != "risk")  # overall = the highest label


# ---------------------------------------------------------------- input binding, on the embedded chain


@pytest.fixture(scope="module")
def economy(project, accounts):
    return risk.setup(project, accounts)


@pytest.fixture
def served(economy, accounts, tmp_path, spec):
    """A staked worker serving the risk model (loaded by its registered hash), and the app builder's client."""
    d = economy.deployment
    worker = accounts[5]
    # Staked once per module: ape's per-test isolation is not relied on for a module-scoped economy
    # (it rebases module fixtures when the order of fixtures makes it, which once kept the stake).
    if not d.WorkerRegistry.is_active(worker):
        stake(d, accounts[0], worker, "http://127.0.0.1:1")
    onchain = bytes(d.ModelRegistry.models(economy.model_id).artifact_hash)
    runtime = load_runtime(spec, store=ContentStore(tmp_path / "models"), expected_hash=onchain)
    results = ContentStore(tmp_path / "results")
    agent = InferenceWorker(d.InferenceMarket, worker, worker.private_key, {economy.model_id: runtime}, results,
                            tmp_path / "worker.json", lambda digest: f"http://127.0.0.1:1/{digest}")
    yield agent, InferenceClient(d.InferenceMarket, accounts[6])
    agent.close()


def deploy_tokens(project, accounts):
    return risk.deploy_tokens(project, accounts[3])


def reference_of(token, **overrides):
    """The reference to `token`'s code at the head block, with fields overridden (the code is the head's)."""
    block = chain.blocks.head.number
    code = bytes(chain.provider.get_code(token.address, block_id=block))
    fields = {"chain_id": chain.chain_id, "address": token.address, "block": block, "code_hash": keccak(code)}
    fields.update(overrides)
    return inputs.encode_contract(**fields), code


def test_binding__honest_reference__scored_and_verified(project, accounts, economy, served, spec):
    agent, client = served
    tokens = deploy_tokens(project, accounts)
    document, code = reference_of(tokens["safe"])
    rid = client.request(economy.model_id, document)
    report = agent.step()
    assert (report.claimed, report.fulfilled, report.rejected) == (1, 1, 0)
    result = bytes(agent.results.get(bytes(economy.deployment.InferenceMarket.get_request(rid).hash)))
    assert agent.runtimes[economy.model_id].check(code, result)[0]


def test_binding__swapped_contract__refused_before_a_claim(project, accounts, economy, served):
    """The reference names the risky token's address with the safe token's code hash (a scorer of the
    safe code, passed off for the risky token): the worker reads the risky code, and refuses."""
    agent, client = served
    tokens = deploy_tokens(project, accounts)
    _, safe_code = reference_of(tokens["safe"])
    document, _ = reference_of(tokens["risky"], code_hash=keccak(safe_code))
    rid = client.request(economy.model_id, document)
    report = agent.step()
    assert (report.claimed, report.fulfilled, report.rejected) == (0, 0, 1)
    reason = agent.state.rejected[str(rid)]
    assert "hashes to" in reason and "refused" in reason
    assert economy.deployment.InferenceMarket.get_request(rid).state == 1  # unclaimed: the refund path


@pytest.mark.parametrize("overrides,needle", [
    ({"chain_id": 1}, "this worker is on chain"),
    ({"block": 10**9}, "not mined yet"),
])
def test_binding__wrong_chain_or_future_block__refused(project, accounts, economy, served, overrides, needle):
    agent, client = served
    tokens = deploy_tokens(project, accounts)
    document, _ = reference_of(tokens["safe"], **overrides)
    rid = client.request(economy.model_id, document)
    assert agent.step().rejected == 1
    assert needle in agent.state.rejected[str(rid)]


def test_binding__account_without_code__refused(accounts, economy, served):
    agent, client = served
    document = inputs.encode_contract(chain.chain_id, accounts[9].address, chain.blocks.head.number, keccak(b""))
    rid = client.request(economy.model_id, document)
    assert agent.step().rejected == 1
    assert "no code" in agent.state.rejected[str(rid)]


def test_binding__code_before_deployment__refused(project, accounts, economy, served):
    """A block before the contract existed: no code there, whatever the hash says."""
    agent, client = served
    before = chain.blocks.head.number
    tokens = deploy_tokens(project, accounts)
    _, code = reference_of(tokens["safe"])
    document = inputs.encode_contract(chain.chain_id, tokens["safe"].address, before, keccak(code))
    rid = client.request(economy.model_id, document)
    assert agent.step().rejected == 1
    assert "no code" in agent.state.rejected[str(rid)]


def test_demo__lists_the_safe_token_only(project, accounts, tmp_path):
    summary = risk.run(project, accounts, workdir=tmp_path)
    assert summary.requests == summary.verified == 2
    listed = {name: is_listed for name, _, _, _, is_listed in summary.tokens}
    assert listed == {"safe": True, "risky": False}
    assert summary.received["worker"] > 0 and summary.received["treasury"] > 0
