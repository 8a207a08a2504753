"""The worker, the result server and the client against the embedded chain."""

import json

import pytest
from ape import chain
from eth_utils import keccak

from offchain import inputs
from offchain.client import InferenceClient
from offchain.demos.inference import held_out_digits
from offchain.errors import NeuralCommonsError, RequestRefunded, RequestTimedOut, ResultMismatch, ResultUnavailable
from offchain.market import RequestState, claim_lock, stake_for
from offchain.runtime import load_runtime
from offchain.serve import build_worker, find_model_id, find_model_ids
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.worker import InferenceWorker, WorkerState
from tests.conftest import stake_worker
from tests.unit.offchain.hosts import TrickleHost

REQUESTED, CLAIMED, FULFILLED, FINALIZED = (RequestState.REQUESTED, RequestState.CLAIMED, RequestState.FULFILLED,
                                             RequestState.FINALIZED)


@pytest.fixture(scope="module")
def served(system, digits_model, deployer, worker, tmp_path_factory):
    # Stake for more claims in flight than a test makes (a claim locks stake until its request settles).
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker,
                 amount=stake_for(system.InferenceMarket, system.WorkerRegistry, 100))
    store = ContentStore(tmp_path_factory.mktemp("results"))
    server = ResultServer(store).start()
    yield store, server
    server.stop()


@pytest.fixture
def make_worker(system, spec, digits_model, worker, served, tmp_path):
    store, server = served
    runtime = load_runtime(spec)

    def make(**options):
        return InferenceWorker(system.InferenceMarket, worker, worker.private_key, {digits_model: runtime}, store,
                               tmp_path / "worker.json", server.result_url, batch_size=8, **options)

    return make


@pytest.fixture
def client(system, app_builder):
    return InferenceClient(system.InferenceMarket, app_builder)


@pytest.fixture(scope="module")
def samples(spec):
    return held_out_digits(spec, 12)


def fulfilled_events(market, request_id):
    return list(market.InferenceFulfilled.range(0, None, search_topics={"request_id": request_id}))


def test_worker__pays_off_end_to_end__results_verified(system, spec, digits_model, make_worker, client, samples):
    agent = make_worker()
    ids = [client.request(digits_model, inputs.encode_pixels(p)) for p, _ in samples]
    report = agent.step()
    assert (report.discovered, report.claimed, report.fulfilled, report.rejected) == (12, 12, 12, 0)
    verified = [client.fetch(i, spec) for i in ids]
    local = load_runtime(spec).infer([inputs.parse(spec.input_schema, inputs.encode_pixels(p)) for p, _ in samples])
    assert [v.result for v in verified] == local  # what the chain attests is what the model says
    assert client.fetch_all(ids, spec) == dict(zip(ids, verified, strict=True))  # one log query, one batched read
    chain.mine(timestamp=chain.pending_timestamp + system.InferenceMarket.params().challenge_window + 1)
    assert agent.step().finalized == 12
    assert all(system.InferenceMarket.get_request(i).state == FINALIZED for i in ids)
    assert agent.withdraw() == 12 * system.InferenceMarket.quote(digits_model) * 7 // 10
    assert agent.step() == agent.step()  # nothing left to do
    assert WorkerState.load(agent.state_path).open == {}


def test_worker__stake_covers_fewer_than_are_open__claims_those_then_the_rest_once_settled(
        system, spec, digits_model, deployer, mallory, served, client, samples, tmp_path):
    """A minimum stake covers 10 claims: the bot claims those (the market would claim no more), sends no
    claim while full, and claims the rest once settled requests free its stake."""
    market, workers = system.InferenceMarket, system.WorkerRegistry
    stake_worker(system.GovernanceToken, workers, deployer, mallory)
    covered = workers.min_stake() // claim_lock(market)
    store, server = served
    agent = InferenceWorker(market, mallory, mallory.private_key, {digits_model: load_runtime(spec)}, store,
                            tmp_path / "mallory.json", server.result_url, batch_size=8)
    ttl = 2 * market.params().challenge_window  # still open once the first ten settle
    ids = [client.request(digits_model, inputs.encode_pixels(p), ttl=ttl) for p, _ in samples]
    report = agent.step()
    assert (report.claimed, report.fulfilled) == (covered, covered) == (10, 10)
    assert [market.get_request(i).state for i in ids].count(REQUESTED) == len(ids) - covered
    head = chain.blocks.head.number
    assert agent.step().claimed == 0
    assert chain.blocks.head.number == head  # full: no claim transaction at all
    chain.mine(timestamp=chain.pending_timestamp + market.params().challenge_window + 1)
    assert agent.step().finalized == covered
    report = agent.step()
    assert (report.claimed, report.fulfilled) == (2, 2)
    assert all(market.get_request(i).state in (FULFILLED, FINALIZED) for i in ids)
    assert workers.slashed(mallory) == 0


def test_worker__killed_after_claim__restart_completes_each_once(system, spec, digits_model, make_worker, client,
                                                                 samples):
    ids = [client.request(digits_model, inputs.encode_pixels(p)) for p, _ in samples[:5]]
    first = make_worker()
    first._discover()
    from offchain.worker import StepReport

    first._claim(StepReport())  # ... and the process dies before fulfilling
    assert all(system.InferenceMarket.get_request(i).state == CLAIMED for i in ids)
    second = make_worker()  # a new process, the same state file
    assert second.step().fulfilled == 5
    for i in ids:
        assert len(fulfilled_events(system.InferenceMarket, i)) == 1
        client.fetch(i, spec)


def test_worker__claim_lapsed_before_fulfilling__claimed_again_first_then_fulfilled(system, spec, digits_model,
                                                                                     make_worker, client, samples):
    """A review found a slow worker (a large batch, a restart) fulfilling after its exclusive claim timed out:
    anyone may then take the request over, and the result hash in its pending fulfilment is there to sign and
    post as their own (the pay goes to the claimant). The bot claims a lapsed request again first (a miss on
    its record, unslashed) and holds back one about to lapse."""
    from offchain.worker import CLAIM_MARGIN_S, StepReport

    market, registry = system.InferenceMarket, system.WorkerRegistry
    ids = [client.request(digits_model, inputs.encode_pixels(p), ttl=3_600) for p, _ in samples[:3]]
    first = make_worker()
    first._discover()
    first._claim(StepReport())  # ... and the process stalls
    worker = first.account.address
    stamp, timeout = market.get_request(ids[0]).stamp, market.params().claim_timeout
    chain.mine(timestamp=stamp + timeout - CLAIM_MARGIN_S // 2)  # about to lapse: a fulfilment might land after
    second = make_worker()
    report = second.step()
    assert (report.claimed, report.fulfilled) == (0, 0)
    assert all(market.get_request(i).state == CLAIMED for i in ids)
    missed, stake = registry.missed(worker), registry.stake_of(worker)
    chain.mine(timestamp=stamp + timeout + 1)  # lapsed: anyone may take them over now
    start = chain.blocks.head.number + 1
    report = second.step()
    assert (report.claimed, report.fulfilled) == (3, 3)
    claimed = [e for e in market.InferenceClaimed.range(0, None) if e.block_number >= start]
    fulfilled = [e for i in ids for e in fulfilled_events(market, i)]
    assert [(e.request_id, e.worker) for e in claimed] == [(i, worker) for i in ids]
    assert [e.request_id for e in fulfilled] == ids  # each once
    assert max(e.block_number for e in claimed) < min(e.block_number for e in fulfilled)  # claimed, then fulfilled
    assert registry.missed(worker) == missed + 3 and registry.stake_of(worker) == stake  # on record, not slashed
    for i in ids:
        client.fetch(i, spec)


MARKET_FIELDS = ["protocol_fee_bps", "worker_bps", "shareholders_bps", "holders_bps", "claim_timeout",
                 "challenge_window", "challenge_bond", "challenge_slash", "miss_slash", "callback_gas_price",
                 "max_result_size"]


@pytest.mark.parametrize("room", ["exactly for its lapsed claims", "none"])
def test_worker__claims_lapsed_stake_tight__room_kept_for_them_or_fulfilled_as_they_are(
        system, spec, digits_model, make_worker, client, govern, samples, room):
    """Claiming a lapsed request again takes room in the stake (the market counts its old lock until the new
    claim). The bot keeps that room from new claims; with none at all it fulfils on the lapsed claims (a
    takeover possible) rather than leave them to a refund at the deadline, which would slash it."""
    from offchain.worker import StepReport

    market, registry = system.InferenceMarket, system.WorkerRegistry
    first = make_worker()
    worker = first.account.address
    free = registry.stake_of(worker) - market.exposure(worker)[1]
    # A lock per claim that leaves room, once 3 requests are claimed, for 3 more claims (free // 6) or none.
    lock = free // 6 if room != "none" else free // 3
    govern((market, "set_params", tuple(lock if f == "miss_slash" else getattr(market.params(), f)
                                        for f in MARKET_FIELDS)))
    ids = [client.request(digits_model, inputs.encode_pixels(p), ttl=3_600) for p, _ in samples[:3]]
    first._discover()
    first._claim(StepReport())
    assert [market.get_request(i).state for i in ids] == [CLAIMED] * 3
    newer = client.request(digits_model, inputs.encode_pixels(samples[3][0]), ttl=3_600)
    chain.mine(timestamp=market.get_request(ids[0]).stamp + market.params().claim_timeout + 1)
    report = make_worker().step()
    assert report.fulfilled == 3 and [len(fulfilled_events(market, i)) for i in ids] == [1, 1, 1]
    assert market.get_request(newer).state == REQUESTED  # its room was kept for the lapsed claims
    assert report.claimed == (3 if room != "none" else 0)


def test_worker__state_of_another_chain__set_aside_and_started_fresh(system, digits_model, make_worker, client,
                                                                      samples, tmp_path):
    # A dev node reset under a bot: same addresses, same request ids, other requests. The remembered
    # claims must not be resumed (they would be signed for inputs that are not this chain's).
    state_file = tmp_path / "worker.json"
    foreign = {"cursor": 10**6, "open": {"1": {"model": digits_model, "uri": "data:,x", "hash": "00" * 32}},
               "rejected": {"2": "old"}, "chain": "1337:0x0000000000000000000000000000000000000001:00"}
    state_file.write_text(json.dumps(foreign))
    ids = [client.request(digits_model, inputs.encode_pixels(p)) for p, _ in samples[:2]]
    agent = make_worker()
    assert agent.state.open == {} and agent.state.rejected == {} and agent.state.cursor < 10**6
    assert json.loads((tmp_path / "worker.json.stale").read_text()) == foreign
    assert agent.step().fulfilled == 2  # this chain's requests, found from the start
    assert json.loads(state_file.read_text())["chain"] == agent.state.chain != foreign["chain"]
    again = make_worker()  # a restart on the same chain resumes its own state
    assert again.state.cursor == agent.state.cursor and again.state.chain == agent.state.chain
    for i in ids:
        assert len(fulfilled_events(system.InferenceMarket, i)) == 1


def test_worker__duplicated_events__harmless(system, digits_model, make_worker, client, samples):
    agent = make_worker()
    client.request(digits_model, inputs.encode_pixels(samples[0][0]))
    agent.step()
    agent.state.cursor = 0  # replay every event from the start
    report = agent.step()
    assert (report.claimed, report.fulfilled) == (0, 0)


@pytest.mark.parametrize(
    "document,reason",
    [
        (json.dumps({"pixels": [1] * 10}).encode(), "must hold 64 numbers"),
        (json.dumps({"pixels": ["x"] * 64}).encode(), "values must be numbers"),
        (b"{" * 4000, "over 2048 bytes"),
    ],
    ids=["wrong-shape", "mistyped", "oversized"],
)
def test_worker__unprocessable_input__rejected_unclaimed_then_refunded(system, digits_model, make_worker, client,
                                                                       app_builder, served, document, reason):
    market = system.InferenceMarket
    store, server = served
    hosted = server.result_url(store.put(document))  # too big to send inline
    request_id = client.request(digits_model, document, input_uri=hosted, ttl=120)
    agent = make_worker()
    report = agent.step()
    assert (report.rejected, report.claimed) == (1, 0)
    assert reason in agent.state.rejected[str(request_id)]
    assert agent.step().rejected == 0  # never retried
    chain.mine(timestamp=chain.pending_timestamp + 121)
    market.refund(request_id, sender=app_builder)
    assert market.owed(app_builder) == market.quote(digits_model)
    assert system.WorkerRegistry.missed(agent.account) == 0


def test_worker__input_hash_mismatch__rejected(system, digits_model, make_worker, app_builder, samples):
    market = system.InferenceMarket
    document = inputs.encode_pixels(samples[0][0])
    market.request_inference(digits_model, keccak(b"something else"), inputs.data_uri(document),
                             chain.pending_timestamp + 600, sender=app_builder, value=market.quote(digits_model))
    agent = make_worker()
    assert agent.step().rejected == 1
    assert "input hash mismatch" in next(iter(agent.state.rejected.values()))


def test_client__tampered_result__refused(system, spec, digits_model, make_worker, client, served, samples):
    store, _ = served
    request_id = client.request(digits_model, inputs.encode_pixels(samples[1][0]))
    make_worker().step()
    onchain = bytes(system.InferenceMarket.get_request(request_id).hash)
    genuine = client.fetch(request_id, spec).result
    # Bytes that differ from what the worker attested are refused by the client...
    tampered = genuine[:-1] + bytes([genuine[-1] ^ 1])
    with pytest.raises(ResultMismatch, match="attested"):
        InferenceClient.verify(request_id, tampered, onchain, spec)
    # ...and a corrupted copy on the worker's disk is not even served.
    store.path(onchain).write_bytes(tampered)
    with pytest.raises(ResultUnavailable, match="404"):
        client.fetch(request_id, spec)


def test_client_wait__fulfilled__returns_view(digits_model, make_worker, client, samples):
    request_id = client.request(digits_model, inputs.encode_pixels(samples[3][0]))
    make_worker().step()
    view = client.wait(request_id, timeout=0, poll=0)
    assert RequestState(view.state) == FULFILLED


def test_client_wait__refunded__raises_request_refunded(system, digits_model, client, app_builder, samples):
    market = system.InferenceMarket
    request_id = client.request(digits_model, inputs.encode_pixels(samples[4][0]), ttl=60)
    chain.mine(timestamp=chain.pending_timestamp + 61)  # nobody served it
    market.refund(request_id, sender=app_builder)
    with pytest.raises(RequestRefunded, match=f"request {request_id} ended in state 6") as caught:
        client.wait(request_id, timeout=60, poll=0)
    assert (caught.value.request_id, caught.value.state) == (request_id, RequestState.REFUNDED)


def test_client_wait__not_served_in_time__raises_request_timed_out(digits_model, client, samples):
    request_id = client.request(digits_model, inputs.encode_pixels(samples[5][0]))
    with pytest.raises(RequestTimedOut, match=f"request {request_id} not fulfilled within 0 s"):
        client.wait(request_id, timeout=0, poll=0)
    assert issubclass(RequestTimedOut, NeuralCommonsError)


def test_client_fetch__no_fulfilment__raises_result_unavailable(spec, digits_model, client, samples):
    request_id = client.request(digits_model, inputs.encode_pixels(samples[6][0]))
    with pytest.raises(ResultUnavailable, match=f"request {request_id} has no fulfilment on this chain"):
        client.fetch(request_id, spec)
    with pytest.raises(ResultUnavailable, match=f"request {request_id} has no fulfilment on this chain"):
        client.fetch_all([request_id], spec)


def test_client_fetch_all__one_result_tampered__refused(system, spec, digits_model, make_worker, client, served,
                                                        samples):
    store, _ = served
    ids = [client.request(digits_model, inputs.encode_pixels(p)) for p, _ in samples[7:9]]
    make_worker().step()
    onchain = bytes(system.InferenceMarket.get_request(ids[1]).hash)
    genuine = store.path(onchain).read_bytes()
    store.path(onchain).write_bytes(genuine[:-1] + bytes([genuine[-1] ^ 1]))
    with pytest.raises(ResultUnavailable, match="404"):  # the corrupted copy is not served, nor taken
        client.fetch_all(ids, spec)


def test_worker__input_host_trickles__others_served_slow_one_abandoned_at_deadline(
        system, spec, digits_model, make_worker, client, served, samples, app_builder):
    market = system.InferenceMarket
    store, server = served
    fast_document = inputs.encode_pixels(samples[2][0])
    with TrickleHost(size=30, interval=2.0) as slow_host:  # a byte every 2 s: a minute for the whole input
        slow = client.request(digits_model, b" " * 30, input_uri=slow_host.url, ttl=600)
        fast = client.request(digits_model, fast_document, input_uri=server.result_url(store.put(fast_document)))
        agent = make_worker(input_deadline_s=3.0, input_wait_s=1.0)
        report = agent.step()
        # The fast request is claimed and fulfilled in the same step; the slow one does not hold it up.
        assert (report.claimed, report.fulfilled, report.fetching, report.rejected) == (1, 1, 1, 0)
        assert market.get_request(fast).state == FULFILLED
        assert market.get_request(slow).state == REQUESTED  # not claimed: nobody is blamed for the host
        client.fetch(fast, spec)
        # The slow host is cut off at the deadline: rejected, never claimed, hung up on.
        assert slow_host.hung_up.wait(timeout=30)
        assert not slow_host.finished.is_set()
        report = agent.step()
        assert (report.rejected, report.claimed, report.fetching) == (1, 0, 0)
        assert "did not arrive within 3 s" in agent.state.rejected[str(slow)]
    assert WorkerState.load(agent.state_path).rejected[str(slow)] == agent.state.rejected[str(slow)]
    assert system.WorkerRegistry.missed(agent.account) == 0


def test_model_resolution__pending_duplicate_registered_later__active_listing_served(
        system, spec, digits_model, mallory, worker, served, tmp_path, project):
    registry = system.ModelRegistry
    # Anyone can register the same artifact again: it is a new model id, pending.
    registry.register_model(spec.artifact_hash, spec.manifest_hash, "models/digits", 1, [mallory], [1],
                            sender=mallory)
    duplicate = registry.model_count()
    assert duplicate > digits_model and registry.models(duplicate).status == 1
    assert find_model_ids(registry, spec.artifact_hash) == [digits_model]
    assert find_model_id(registry, spec.artifact_hash) == digits_model
    # A worker started now serves the listed model, not the newest registration.
    import offchain.deploy

    offchain.deploy.save_deployment(system, tmp_path / "deployments")
    mp = pytest.MonkeyPatch()
    mp.setenv("NC_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    try:
        agent, server = build_worker(project, chain.provider, worker, worker.private_key, ["digits"],
                                     tmp_path / "worker")
        server.stop()
    finally:
        mp.undo()
    assert set(agent.runtimes) == {digits_model}


def test_model_resolution__no_active_registration__refused(system, mallory):
    registry = system.ModelRegistry
    artifact = keccak(b"an artifact nobody listed")
    registry.register_model(artifact, keccak(b"manifest"), "x", 1, [mallory], [1], sender=mallory)
    with pytest.raises(NeuralCommonsError, match="no active model with artifact .* are pending, suspended or retired"):
        find_model_id(registry, artifact)
    with pytest.raises(NeuralCommonsError, match="is registered on this chain"):
        find_model_id(registry, keccak(b"never registered"))


def test_worker__callbacks_too_big_for_one_block__finalized_one_by_one(project, system, spec, digits_model, deployer,
                                                                      worker, served, tmp_path):
    # A requester may ask for the largest callback the market allows, and its callback may burn all of it. One
    # batch of such requests needs more gas than a block holds, so `finalize_batch` cannot be mined; the worker
    # must still finalize each (and every other request of the batch), not stall on it step after step.
    market = system.InferenceMarket
    consumer = deployer.deploy(project.MockActor)
    consumer.set_callback_mode(2, sender=deployer)  # CALLBACK_BURN_GAS
    gas = 2_000_000
    count = chain.blocks.head.gas_limit // gas + 1
    price = market.quote(digits_model) + gas * market.params().callback_gas_price
    for pixels, _ in held_out_digits(spec, count):
        document = inputs.encode_pixels(pixels)
        consumer.act(market, market.request_inference_with_callback.encode_input(
            digits_model, keccak(document), inputs.data_uri(document), chain.pending_timestamp + 3600, gas),
            sender=deployer, value=price)
    ids = list(range(market.request_count() - count + 1, market.request_count() + 1))
    store, server = served
    agent = InferenceWorker(market, worker, worker.private_key, {digits_model: load_runtime(spec)}, store,
                            tmp_path / "worker.json", server.result_url, batch_size=count)
    assert agent.step().fulfilled == count
    chain.mine(timestamp=chain.pending_timestamp + market.params().challenge_window + 1)
    report = agent.step()
    assert report.finalized == count
    assert all(market.get_request(i).state == FINALIZED for i in ids)
    assert WorkerState.load(agent.state_path).open == {}
    assert market.owed(worker) >= count * gas * market.params().callback_gas_price  # each callback's fee earned


def test_worker__callback_result_too_large__rejected_unclaimed_others_fulfilled_and_finalized(
        project, system, spec, digits_model, deployer, make_worker, client, govern, samples, worker):
    # Governance lowered the largest result a callback may receive below the digits model's result (anyone may
    # also ask a callback of a model whose results never fit, to have workers claim what cannot be fulfilled
    # and be slashed for the miss). The worker rejects that request without claiming it, goes on with the
    # others (fulfils and finalizes them), and the request expires and is refunded with nobody slashed.
    market = system.InferenceMarket
    fields = ["protocol_fee_bps", "worker_bps", "shareholders_bps", "holders_bps", "claim_timeout",
              "challenge_window", "challenge_bond", "challenge_slash", "miss_slash", "callback_gas_price",
              "max_result_size"]
    govern((market, "set_params", tuple(8 if f == "max_result_size" else getattr(market.params(), f) for f in fields)))
    consumer = deployer.deploy(project.MockActor)
    document = inputs.encode_pixels(samples[0][0])
    gas = 100_000
    consumer.act(market, market.request_inference_with_callback.encode_input(
        digits_model, keccak(document), inputs.data_uri(document), chain.pending_timestamp + 600, gas),
        sender=deployer, value=market.quote(digits_model) + gas * market.params().callback_gas_price)
    refused = market.request_count()
    ids = [client.request(digits_model, inputs.encode_pixels(p)) for p, _ in samples[1:4]]
    agent = make_worker()
    stake = system.WorkerRegistry.workers(worker).stake
    report = agent.step()
    assert (report.fulfilled, report.rejected) == (3, 1)
    assert market.get_request(refused).state == REQUESTED
    assert "52-byte results exceed the 8 bytes" in WorkerState.load(agent.state_path).rejected[str(refused)]
    chain.mine(timestamp=chain.pending_timestamp + market.params().challenge_window + 1)
    assert agent.step().finalized == 3
    assert all(market.get_request(i).state == FINALIZED for i in ids)
    chain.mine(timestamp=max(chain.pending_timestamp, market.get_request(refused).deadline + 1))
    market.refund(refused, sender=deployer)
    agent.step()
    assert WorkerState.load(agent.state_path).open == {}
    assert system.WorkerRegistry.workers(worker).stake == stake  # no miss, no slash


class FulfilmentTimesOut:
    """The market, except that sending a fulfilment fails the way ape reports a node that stopped answering while
    it estimated the transaction's gas: a read timeout wrapped in a VirtualMachineError."""

    def __init__(self, market):
        self._market = market

    def __getattr__(self, name):
        if name in ("fulfill", "fulfill_batch"):
            def times_out(*_, **__):
                import requests
                from ape.exceptions import VirtualMachineError

                raise VirtualMachineError(base_err=requests.exceptions.ReadTimeout("Read timed out."))
            return times_out
        return getattr(self._market, name)


def test_worker__node_times_out_while_fulfilling__step_stops_and_a_restart_fulfils_each(
        system, spec, digits_model, worker, served, client, samples, tmp_path):
    # A connection failure ape wraps in a transaction error is not the chain refusing the fulfilment: the step
    # stops (the bot waits the node out) instead of trying every request alone against a dead node and
    # reporting them refused; the claims are kept and the next worker fulfils each once.
    from ape.exceptions import VirtualMachineError

    store, server = served
    ids = [client.request(digits_model, inputs.encode_pixels(p)) for p, _ in samples[:3]]

    def agent(market):
        return InferenceWorker(market, worker, worker.private_key, {digits_model: load_runtime(spec)}, store,
                               tmp_path / "worker.json", server.result_url, batch_size=8)

    with pytest.raises(VirtualMachineError):
        agent(FulfilmentTimesOut(system.InferenceMarket)).step()
    assert all(system.InferenceMarket.get_request(i).state == CLAIMED for i in ids)
    assert agent(system.InferenceMarket).step().fulfilled == 3
    assert all(system.InferenceMarket.get_request(i).state == FULFILLED for i in ids)
    assert all(len(fulfilled_events(system.InferenceMarket, i)) == 1 for i in ids)
