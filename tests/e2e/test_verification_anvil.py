"""Verification end to end on anvil, every party a separate bot process: a
cheating worker bot (the real worker bot with the test-only tamper option)
serves MiniLM with noise on its embeddings; four verifier bots sample every
fulfilled request (this deployment sets sample_bps to 100 %); the first to
judge challenges automatically; the committee (default size, 3: the other
three verifiers) draws, commits, reveals and settles; the worker is slashed
(half to the challenger, the rest to the treasury), the requester refunded, challenger and members paid. A
member bot killed before the draw and restarted takes its seat: no no-show."""

import time

import pytest
from ape import chain

import offchain.deploy
from offchain import inputs
from offchain.cli import ETH, advance_time
from offchain.client import InferenceClient
from offchain.court import Phase
from offchain.deploy import MarketConfig, deploy_system
from offchain.demos.inference import WORKER_PORT, stake
from offchain.governance import Proposal, pass_locally
from offchain.localnet import BotProcess, running
from offchain.market import RequestState
from offchain.models import load_spec

CHEAT = 5  # test account of the cheating worker
VERIFIERS = (3, 4, 7, 9)  # test accounts of the verifier bots
COMMITTEE = 3  # the deploy default


@pytest.fixture(scope="module")
def spec():
    return load_spec("minilm")


@pytest.fixture
def economy(anvil, project, accounts, spec):
    """MiniLM listed through a real DAO vote; a staked cheat; four staked verifiers in its pool."""
    deployer, alice, bob, author = accounts[0], accounts[1], accounts[2], accounts[8]
    d = deploy_system(project, deployer, market=MarketConfig(sample_bps=10_000, committee_size=COMMITTEE))
    token, registry = d.GovernanceToken, d.ModelRegistry
    for holder, amount in ((alice, 30_000_000), (bob, 20_000_000)):
        token.transfer(holder, amount * ETH, sender=deployer)
        token.invoke_transaction("delegate", holder, sender=holder)
    advance_time(1)
    registry.register_model(spec.artifact_hash, spec.manifest_hash, "models/minilm", spec.manifest["price_wei"],
                            [author], [1], sender=author)
    model_id = registry.model_count()
    pass_locally(d.Governor, Proposal("list minilm").call(registry, "approve_model", model_id), alice, [alice, bob])
    stake(d, deployer, accounts[CHEAT], f"http://127.0.0.1:{WORKER_PORT}")
    for i, index in enumerate(VERIFIERS):
        stake(d, deployer, accounts[index], f"http://127.0.0.1:{WORKER_PORT + 1 + i}")
        d.DisputeCourt.join(model_id, sender=accounts[index])
    offchain.deploy.save_deployment(d)
    return d, model_id


def mine_until(done, what: str, timeout: float = 300) -> None:
    """Mines a block now and then (the bots step on blocks) until `done()`."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not {what} within {timeout} s"
        chain.mine()
        time.sleep(0.5)


def cheat_and_verifiers(tmp_path) -> list[BotProcess]:
    """The tampering worker bot first, then one verifier bot per verifier account (not started)."""
    bots = [BotProcess(CHEAT, WORKER_PORT, tmp_path / "cheat", models="minilm", tamper="noise:1e-4")]
    return bots + [BotProcess(index, WORKER_PORT + 1 + i, tmp_path / f"verifier{i}", bot="bots.verifier:bot",
                              models="minilm") for i, index in enumerate(VERIFIERS)]


def test_tampered_minilm__verifier_bot_challenges__committee_slashes_and_pays(economy, accounts, tmp_path):
    d, model_id = economy
    market, court, workers, token = d.InferenceMarket, d.DisputeCourt, d.WorkerRegistry, d.GovernanceToken
    app_builder = accounts[6]
    cheat = accounts[CHEAT]
    bots = cheat_and_verifiers(tmp_path)
    with running(*bots, timeout=300):
        cheat_stake = workers.workers(cheat).stake
        tokens_before = {i: token.balanceOf(accounts[i]) for i in VERIFIERS}
        request_id = InferenceClient(market, app_builder).request(
            model_id, inputs.encode_text("Community-owned neural networks earn revenue for their shareholders."))
        payment = market.get_request(request_id).payment
        owed_before = market.owed(app_builder)
        mine_until(lambda: market.get_request(request_id).state == RequestState.CHALLENGED, "challenged")
        opened = list(court.DisputeOpened.range(0, None, search_topics={"model_id": model_id}))
        assert len(opened) == 1 and opened[0].subject_id == request_id and opened[0].worker == cheat.address
        dispute_id = opened[0].dispute_id
        challenger = opened[0].challenger
        assert challenger in {accounts[i].address for i in VERIFIERS}
        mine_until(lambda: court.phase_of(dispute_id) == Phase.SETTLED, "settled")

    settled = list(court.DisputeSettled.range(0, None, search_topics={"dispute_id": dispute_id}))
    assert len(settled) == 1
    assert (settled[0].worker_was_right, settled[0].for_worker, settled[0].for_challenger, settled[0].no_shows) == \
        (False, 0, COMMITTEE, 0)
    members = [str(a) for a in court.committee(dispute_id)]
    assert len(members) == COMMITTEE and challenger not in members and cheat.address not in members
    revealed = list(court.VerdictRevealed.range(0, None, search_topics={"dispute_id": dispute_id}))
    assert sorted(e.member for e in revealed) == sorted(members) and not any(e.worker_was_right for e in revealed)
    # Payout: the requester refunded in full, the worker slashed (half to the challenger), the bond
    # back to the challenger less the members' fees, each member paid its fee.
    assert market.get_request(request_id).state == RequestState.REFUNDED
    assert market.owed(app_builder) == owed_before + payment
    slash = market.params().challenge_slash
    assert workers.workers(cheat).stake == cheat_stake - slash
    by_address = {accounts[i].address: i for i in VERIFIERS}
    assert token.balanceOf(challenger) == tokens_before[by_address[challenger]] + slash // 2
    fee, bond = court.params().member_fee, market.params().challenge_bond
    assert all(court.owed(m) == fee for m in members)
    assert court.owed(challenger) + market.owed(challenger) == bond - COMMITTEE * fee
    # Every verifier bot stayed up through the dispute.
    assert all(bot.process.poll() is None or bot.process.returncode == 0 for bot in bots)


def test_member_bot_killed__restarted__takes_its_committee_seat_no_no_show(economy, accounts, tmp_path):
    d, model_id = economy
    market, court = d.InferenceMarket, d.DisputeCourt
    bots = cheat_and_verifiers(tmp_path)
    with running(*bots, timeout=300):
        request_id = InferenceClient(market, accounts[6]).request(
            model_id, inputs.encode_text("The cat slept on the warm windowsill all afternoon."))
        mine_until(lambda: market.get_request(request_id).state == RequestState.CHALLENGED, "challenged")
        (opened,) = list(court.DisputeOpened.range(0, None, search_topics={"model_id": model_id}))
        dispute_id = opened.dispute_id
        # One member's process dies (SIGKILL) before the draw; the others draw and commit.
        victim = next(b for b in bots[1:] if accounts[b.account_index].address != opened.challenger)
        victim.kill()
        mine_until(lambda: court.phase_of(dispute_id) == Phase.COMMITTING and court.disputes(dispute_id).commits == 2,
                   "two commits")
        assert court.ballots(dispute_id, accounts[victim.account_index]) == 1  # drawn, not committed
        victim.start()  # the same state folder: it finds the dispute and its seat from the chain
        victim.wait_ready(timeout=300)
        mine_until(lambda: court.phase_of(dispute_id) == Phase.SETTLED, "settled")
    (settled,) = list(court.DisputeSettled.range(0, None, search_topics={"dispute_id": dispute_id}))
    assert (settled.worker_was_right, settled.for_challenger, settled.no_shows) == (False, COMMITTEE, 0)
    assert market.get_request(request_id).state == RequestState.REFUNDED
