"""minilm on the embedded chain: listed beside digits, served by one worker that loads every
listed model by its registered artifact hash, requested through the market and verified by the
client under the tolerance policy; a paid channel call with text; bounty screening on-chain."""

import pytest
from ape import chain
from fastapi.testclient import TestClient

from offchain import canonical, inputs
from offchain.channels import ChannelClient, ChannelWorker, create_app
from offchain.client import InferenceClient
from offchain.dedup import runtime_embedder, screen_contribution
from offchain.models import load_spec
from offchain.runtime import load_runtime
from offchain.serve import build_worker
from offchain.worker import InferenceWorker
from tests.conftest import stake_worker

DAY = 86_400
TEXTS = [
    "Community-owned neural networks earn revenue for their shareholders.",
    "A worker claims the request, runs the model and attests the result on-chain.",
    "The cat slept on the warm windowsill all afternoon.",
]


@pytest.fixture(scope="module")
def minilm_spec():
    return load_spec("minilm")


@pytest.fixture(scope="module")
def digits_spec():
    return load_spec("digits")


@pytest.fixture(scope="module")
def listed(system, govern, author, minilm_spec, digits_spec):
    """Both models registered with their artifact and manifest hashes, and listed by governance."""
    registry = system.ModelRegistry
    ids = {}
    for spec in (digits_spec, minilm_spec):
        registry.register_model(spec.artifact_hash, spec.manifest_hash, f"models/{spec.name}",
                                spec.manifest["price_wei"], [author], [1], sender=author)
        ids[spec.name] = registry.model_count()
    govern(*[(registry, "approve_model", model_id) for model_id in ids.values()])
    return ids


@pytest.fixture(scope="module")
def agent(project, system, listed, deployer, worker, tmp_path_factory):
    """One worker for every listed model (`--models all`), built as the bot builds it."""
    import offchain.deploy

    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker)
    folder = tmp_path_factory.mktemp("minilm-worker")
    offchain.deploy.save_deployment(system, folder / "deployments")
    mp = pytest.MonkeyPatch()
    mp.setenv("NC_DEPLOYMENTS_DIR", str(folder / "deployments"))
    try:
        agent, server = build_worker(project, chain.provider, worker, worker.private_key, ["all"], folder / "w")
    finally:
        mp.undo()
    yield agent
    server.stop()
    agent.fetcher.close()


@pytest.fixture
def fresh(system, agent, tmp_path):
    """The module's worker with this test's own books: ape reverts the chain after each test,
    so request ids repeat and a worker's persisted state must not outlive its chain."""
    fresh = InferenceWorker(system.InferenceMarket, agent.account, agent.signer_key, agent.runtimes, agent.results,
                            tmp_path / "worker-state.json", agent.result_url)
    yield fresh
    fresh.fetcher.close()


@pytest.fixture(scope="module")
def verifier(minilm_spec):
    """The client's own copy of the model, to recompute and judge results."""
    return load_runtime(minilm_spec)


def test_worker__every_listed_model__loaded_by_registered_hash(agent, listed, system, minilm_spec):
    assert set(agent.runtimes) == set(listed.values())
    runtime = agent.runtimes[listed["minilm"]]
    assert runtime.spec.name == "minilm" and runtime.tokenizer is not None
    assert bytes(system.ModelRegistry.models(listed["minilm"]).artifact_hash) == minilm_spec.artifact_hash


def test_minilm_request__through_market__served_and_verified(system, fresh, listed, app_builder, minilm_spec,
                                                             digits_spec, verifier):
    client = InferenceClient(system.InferenceMarket, app_builder)
    ids = [client.request(listed["minilm"], inputs.encode_text(text)) for text in TEXTS]
    pixels = [0] * 30 + [16] * 4 + [0] * 30
    digit_id = client.request(listed["digits"], inputs.encode_pixels(pixels))
    report = fresh.step()
    assert (report.claimed, report.fulfilled, report.rejected) == (4, 4, 0)
    for rid, text in zip(ids, TEXTS, strict=True):
        view = system.InferenceMarket.get_request(rid)
        assert view.state == 3 and view.worker == fresh.account.address
        verified = client.fetch(rid, minilm_spec)  # the bytes hash to the attested result hash
        assert len(verified.decoded["embedding"]) == 384
        honest, gap = verifier.check(text, verified.result)  # recomputed here, judged by the manifest's policy
        assert honest and gap <= minilm_spec.verification["bound"]
    assert client.fetch(digit_id, digits_spec).decoded["class"] in range(10)  # the same worker, the other model
    first, third = (canonical.decode_embedding(10**8, client.fetch(r, minilm_spec).result) for r in (ids[0], ids[2]))
    assert float(first @ third) < 0.5  # unrelated sentences are far apart


def test_minilm_request__empty_text__rejected_unclaimed(system, fresh, listed, app_builder):
    client = InferenceClient(system.InferenceMarket, app_builder)
    rid = client.request(listed["minilm"], b'{"text": "  "}')
    report = fresh.step()
    assert report.rejected == 1 and report.claimed == 0
    assert fresh.state.rejected[str(rid)] == "'text' must not be empty"
    assert system.InferenceMarket.get_request(rid).state == 1  # left to the refund path


def test_channel_call__text__embedding_receipted_and_verified(system, listed, worker, app_builder, agent, verifier,
                                                              minilm_spec, tmp_path):
    model_id = listed["minilm"]
    price = system.ModelRegistry.model_terms(model_id)[1]
    api = ChannelWorker(system.PaymentChannels, worker, worker.private_key, {model_id: agent.runtimes[model_id]},
                        {model_id: price}, chain_id=chain.chain_id, state_dir=tmp_path / "ledger", refresh_after=0,
                        tick_every=None)
    client = ChannelClient(system.PaymentChannels, system.ModelRegistry, system.WorkerRegistry, app_builder,
                           chain_id=chain.chain_id)
    try:
        with TestClient(create_app(api)) as http:
            client.open(worker, model_id, 3 * price, url="http://testserver")
            calls = [client.call(inputs.encode_text(text), http) for text in TEXTS[:2]]
            refused = http.post(f"/v1/channels/0x{client.channel_id.hex()}/infer",
                                json={"input": '{"text": 5}', "voucher": {"amount": 3 * price,
                                      "signature": "0x" + client.voucher(3 * price).hex()}})
            books = api.status(client.channel_id)
    finally:
        api.close()
    assert [c.seq for c in calls] == [1, 2] and client.spent == 2 * price
    for call, text in zip(calls, TEXTS[:2], strict=True):
        assert len(call.decoded["embedding"]) == 384
        assert verifier.check(text, call.result)[0]
    assert refused.status_code == 422
    assert refused.json()["detail"] == "input must be a JSON object with a 'text' string"
    assert (books["calls"], books["voucher_amount"]) == (2, 2 * price)  # the refused call was not counted


def test_bounty_screen__paraphrase_of_accepted_item__flagged(system, govern, accounts, alice, bob, verifier,
                                                             tmp_path):
    bounties = system.DataBounties
    validators = [accounts[3], accounts[4], accounts[7]]
    govern((bounties, "open_bounty", "ipfs://captions", 10**18, 100 * 10**18, chain.pending_timestamp + 30 * DAY,
            validators, 2, DAY))
    bounty = bounties.bounty_count()
    accepted = tmp_path / "accepted.json"
    accepted.write_text('["The river flooded the village after three days of heavy rain.", '
                        '"Validators vote on each contribution before the reward is paid."]')
    new = tmp_path / "new.txt"
    new.write_text("After three days of heavy rain, the river flooded the village.\n"
                   "Quarterly revenue grew by twelve percent.\n")

    def submit(path, who):
        from eth_utils import keccak

        from offchain import contributions

        return contributions.submit(bounties, bounty, keccak(path.read_bytes()), f"file://{path.name}", 2,
                                    sender=who)[0]

    first = submit(accepted, alice)
    for validator in validators[:2]:
        bounties.vote(first, True, sender=validator)
    assert bounties.contributions(first).status == 2
    second = submit(new, bob)
    matches = screen_contribution(bounties, second, runtime_embedder(verifier), file_root=tmp_path)
    assert [m.duplicate for m in matches] == [True, False]
    assert matches[0].source == (first, 0) and matches[0].similarity > 0.9
    assert matches[1].similarity < 0.5


def test_worker_all__model_retired__not_served_others_are(project, system, listed, author, worker, tmp_path):
    import offchain.deploy

    system.ModelRegistry.retire_model(listed["minilm"], sender=author)  # reverted after this test
    offchain.deploy.save_deployment(system, tmp_path / "deployments")
    mp = pytest.MonkeyPatch()
    mp.setenv("NC_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    try:
        agent, server = build_worker(project, chain.provider, worker, worker.private_key, ["all"], tmp_path / "w")
        server.stop()
        agent.fetcher.close()
    finally:
        mp.undo()
    assert set(agent.runtimes) == {listed["digits"]}
