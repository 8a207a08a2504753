"""The verifier against the embedded chain: a cheating worker (the real worker with
a tamper option) fulfils, a sampling verifier re-executes and challenges, a
committee of verifiers draws, commits, reveals and settles; restarts lose no
reveal and commit nothing twice; honest results are not challenged."""

import pytest
from ape import chain

from offchain import inputs
from offchain.client import InferenceClient
from offchain.court import Ballot, Phase
from offchain.demos.inference import held_out_digits
from offchain.market import RequestState
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.tamper import Tamper
from offchain.verifier import Verifier, VerifierState, sampled
from offchain.worker import InferenceWorker
from tests.conftest import stake_worker
from tests.utils.court import past


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Result servers of the worker and of the sampling verifier."""
    started = {name: (store := ContentStore(tmp_path_factory.mktemp(name)), ResultServer(store).start())
               for name in ("worker", "sampler")}
    yield started
    for _, server in started.values():
        server.stop()


@pytest.fixture(scope="module")
def sampler(system, deployer, mallory, digits_model):
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, mallory)
    return mallory


@pytest.fixture(scope="module")
def cheat_staked(system, deployer, worker, digits_model, members):
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker)
    return worker


@pytest.fixture
def cheat(system, cheat_staked, runtime, digits_model, servers, tmp_path):
    """The real worker with the test-only tamper option: it flips a bit of every result it
    attests and serves (a fresh state per test: each test starts from the module's chain)."""
    store, server = servers["worker"]
    return InferenceWorker(system.InferenceMarket, cheat_staked, cheat_staked.private_key, {digits_model: runtime},
                           store, tmp_path / "cheat.json", server.result_url, tamper=Tamper.parse("flip"))


def verifier_for(system, account, digits_model, runtime, store, path, *, sample: list[int] = (), skip: list[int] = ()):
    """A Verifier whose (otherwise random) sampling secret re-executes `sample` and not `skip`."""
    if not path.exists():
        bps = system.DisputeCourt.params().sample_bps
        state = VerifierState.load(path)
        while not (all(sampled(bytes.fromhex(state.secret), r, bps) for r in sample)
                   and not any(sampled(bytes.fromhex(state.secret), r, bps) for r in skip)):
            state = VerifierState.load(path)  # a fresh random secret
        state.save(path)
    return Verifier(system.InferenceMarket, system.DisputeCourt, account, {digits_model: runtime}, store, path)


def challenged_dispute(system, spec, runtime, digits_model, cheat, sampler, servers, app_builder, tmp_path,
                       digit: int) -> int:
    """The cheat fulfils a request for held-out digit `digit`, the sampler re-executes and challenges it:
    the id of the dispute it opens."""
    client = InferenceClient(system.InferenceMarket, app_builder)
    rid = client.request(digits_model, inputs.encode_pixels(held_out_digits(spec, digit + 1)[digit][0]))
    cheat.step()
    watcher = verifier_for(system, sampler, digits_model, runtime, servers["sampler"][0], tmp_path / "s.json",
                           sample=[rid])
    watcher.state.cursor = chain.blocks.head.number - 3
    assert watcher.step().challenged == 1
    return list(system.DisputeCourt.DisputeOpened.range(0, None))[-1].dispute_id


def test_cheating_worker__sampled_challenged_committee_slashes(system, spec, runtime, digits_model, cheat, sampler,
                                                                members, servers, app_builder, tmp_path):
    market, court, workers = system.InferenceMarket, system.DisputeCourt, system.WorkerRegistry
    client = InferenceClient(market, app_builder)
    (p1, _), (p2, _) = held_out_digits(spec, 2)
    checked = client.request(digits_model, inputs.encode_pixels(p1))
    unchecked = client.request(digits_model, inputs.encode_pixels(p2))
    cheat.step()
    assert market.get_request(checked).state == RequestState.FULFILLED
    paid = market.get_request(checked)

    store, _ = servers["sampler"]
    watcher = verifier_for(system, sampler, digits_model, runtime, store, tmp_path / "sampler.json",
                           sample=[checked], skip=[unchecked])
    stake_before = workers.workers(cheat.account).stake
    report = watcher.step()
    assert (report.sampled, report.judged, report.challenged) == (1, 1, 1)
    assert market.get_request(checked).state == RequestState.CHALLENGED
    assert market.get_request(unchecked).state == RequestState.FULFILLED  # not sampled: not judged
    assert watcher.state.judged[str(checked)]["agrees"] is False
    opened = list(court.DisputeOpened.range(0, None))[-1]
    assert opened.subject_id == checked and opened.challenger == sampler.address
    assert store.has(bytes(opened.challenger_hash))  # the challenger serves its own result by hash
    dispute_id = opened.dispute_id

    pool = members
    bots = {a: verifier_for(system, pool[a], digits_model, runtime, ContentStore(tmp_path / f"r{i}"),
                            tmp_path / f"m{i}.json") for i, a in enumerate(pool)}
    chain.mine(court.params().draw_delay + 1)
    for bot in bots.values():
        bot.step()
    assert court.phase_of(dispute_id) == Phase.REVEALING  # every member committed
    committee = [str(a) for a in court.committee(dispute_id)]
    assert sorted(committee) == sorted(pool)
    assert all(court.ballots(dispute_id, a) == Ballot.COMMITTED for a in committee)
    assert all(bots[a].state.disputes[str(dispute_id)]["verdict"] is False for a in committee)

    challenger_owed = court.owed(sampler) + market.owed(sampler)
    challenger_tokens = system.GovernanceToken.balanceOf(sampler)
    treasury_tokens = system.GovernanceToken.balanceOf(system.Timelock)
    requester_owed = market.owed(app_builder)
    reports = [bot.step() for bot in bots.values()]  # reveal; the last revealer settles
    assert sum(r.revealed for r in reports) == 3 and sum(r.settled for r in reports) == 1
    settled = list(court.DisputeSettled.range(0, None, search_topics={"dispute_id": dispute_id}))
    assert len(settled) == 1
    assert (settled[0].worker_was_right, settled[0].for_worker, settled[0].for_challenger, settled[0].no_shows) == \
        (False, 0, 3, 0)
    assert court.phase_of(dispute_id) == Phase.SETTLED
    assert market.get_request(checked).state == RequestState.REFUNDED
    slash = market.params().challenge_slash
    assert workers.workers(cheat.account).stake == stake_before - slash
    fee = court.params().member_fee
    assert all(court.owed(a) == fee for a in committee)
    bond = market.params().challenge_bond
    assert court.owed(sampler) + market.owed(sampler) == challenger_owed + bond - 3 * fee
    assert market.owed(app_builder) == requester_owed + paid.payment  # refunded in full
    # Half the slash to the challenger, the rest to the treasury: a sybil challenger of the worker's still loses.
    assert system.GovernanceToken.balanceOf(sampler) == challenger_tokens + slash // 2
    assert system.GovernanceToken.balanceOf(system.Timelock) == treasury_tokens + slash - slash // 2
    for bot in bots.values():
        bot.step()
        assert str(dispute_id) not in bot.state.disputes  # ended: forgotten


def test_honest_worker__sampled__not_challenged(system, spec, runtime, digits_model, sampler, members, servers,
                                                 app_builder, tmp_path, accounts, deployer):
    honest = accounts.generate_test_account()
    deployer.transfer(honest, 10**18)
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, honest)
    store, server = servers["worker"]
    agent = InferenceWorker(system.InferenceMarket, honest, honest.private_key, {digits_model: runtime}, store,
                            tmp_path / "honest.json", server.result_url)
    client = InferenceClient(system.InferenceMarket, app_builder)
    rid = client.request(digits_model, inputs.encode_pixels(held_out_digits(spec, 3)[2][0]))
    while system.InferenceMarket.get_request(rid).state != RequestState.FULFILLED:
        agent.step()
    watcher = verifier_for(system, sampler, digits_model, runtime, servers["sampler"][0], tmp_path / "s.json",
                           sample=[rid])
    watcher.state.cursor = chain.blocks.head.number - 5
    report = watcher.step()
    assert report.judged == 1 and report.challenged == 0
    assert watcher.state.judged[str(rid)]["agrees"] is True
    assert system.InferenceMarket.get_request(rid).state == RequestState.FULFILLED


def test_member_restarted__after_commit__reveals_with_saved_salt_and_never_recommits(
        system, spec, runtime, digits_model, cheat, sampler, members, servers, app_builder, tmp_path):
    court = system.DisputeCourt
    dispute_id = challenged_dispute(system, spec, runtime, digits_model, cheat, sampler, servers, app_builder,
                                    tmp_path, 3)
    pool = members
    paths = {a: tmp_path / f"m{i}.json" for i, a in enumerate(pool)}

    def bot(a):
        return verifier_for(system, pool[a], digits_model, runtime, ContentStore(tmp_path / "r"), paths[a])

    chain.mine(court.params().draw_delay + 1)
    first = {a: bot(a) for a in pool}
    for b in first.values():
        b.state.cursor = chain.blocks.head.number - 8
        b.step()
    salts = {a: b.state.disputes[str(dispute_id)]["salt"] for a, b in first.items()}
    # Every member process restarts: new objects over the same state files.
    again = {a: bot(a) for a in pool}
    assert {a: b.state.disputes[str(dispute_id)]["salt"] for a, b in again.items()} == salts
    reports = [b.step() for b in again.values()]
    assert sum(r.committed for r in reports) == 0  # the chain says committed: nothing sent twice
    assert sum(r.revealed for r in reports) == 3
    settled = list(court.DisputeSettled.range(0, None, search_topics={"dispute_id": dispute_id}))
    assert len(settled) == 1 and settled[0].for_challenger == 3 and settled[0].no_shows == 0


def test_member_crashed__between_saving_salt_and_commit__commits_the_same_after_restart(
        system, spec, runtime, digits_model, cheat, sampler, members, servers, app_builder, tmp_path, monkeypatch):
    court = system.DisputeCourt
    dispute_id = challenged_dispute(system, spec, runtime, digits_model, cheat, sampler, servers, app_builder,
                                    tmp_path, 4)
    pool = members
    address = next(iter(pool))
    path = tmp_path / "crash.json"
    crashing = verifier_for(system, pool[address], digits_model, runtime, ContentStore(tmp_path / "r"), path)
    crashing.state.cursor = chain.blocks.head.number - 3
    chain.mine(court.params().draw_delay + 1)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed before the commit went out")

    # commit is the only court call with three arguments here (dispute id, commitment, report)
    monkeypatch.setattr(crashing, "_send", lambda method, *a: crash() if len(a) == 3 else
                        Verifier._send(crashing, method, *a))
    with pytest.raises(KeyboardInterrupt):
        crashing.step()
    assert court.ballots(dispute_id, address) == Ballot.DRAWN
    saved = VerifierState.load(path).disputes[str(dispute_id)]
    restarted = verifier_for(system, pool[address], digits_model, runtime, ContentStore(tmp_path / "r"), path)
    assert restarted.step().committed == 1
    assert court.ballots(dispute_id, address) == Ballot.COMMITTED
    assert restarted.state.disputes[str(dispute_id)]["salt"] == saved["salt"]
    past(court.disputes(dispute_id).commit_deadline)
    assert restarted.step().revealed == 1  # the saved salt opens the commitment it sent
