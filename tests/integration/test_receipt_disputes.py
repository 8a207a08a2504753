"""Receipt disputes against the embedded chain: the payer of a channel challenges
a receipt with the evidence it kept (the input it sent and the result bytes the
worker answered), and a committee of verifier bots fetches that evidence,
re-executes with the channel's model runtime and votes, as for market disputes.

A cheating worker is the real channel worker with the tamper option (it signs
and serves altered bytes consistently); an honest worker is the same worker
without it."""

import pytest
from ape import chain
from eth_utils import keccak
from fastapi.testclient import TestClient

from offchain import inputs
from offchain.channels import ChannelClient, ChannelWorker, create_app, input_document
from offchain.channels.client import evidence_uri
from offchain.court import Ballot, Phase
from offchain.demos.inference import held_out_digits
from offchain.store import ContentStore
from offchain.tamper import Tamper
from offchain.verifier import Verifier
from tests.conftest import stake_worker


@pytest.fixture(scope="module")
def documents(spec):
    return [input_document(p) for p, _ in held_out_digits(spec, 4)]


def channel_worker(system, account, digits_model, runtime, path, tamper=None):
    """The real channel worker (its HTTP app in-process); `tamper` makes it a cheat."""
    price = system.ModelRegistry.model_terms(digits_model)[1]
    return ChannelWorker(system.PaymentChannels, account, account.private_key, {digits_model: runtime},
                         {digits_model: price}, chain_id=chain.chain_id, state_dir=path, refresh_after=0,
                         tick_every=None, tamper=tamper)


def paid_call(system, api, payer, account, digits_model, document):
    """`payer` opens a channel to `account` and makes one paid call; returns (client, call)."""
    client = ChannelClient(system.PaymentChannels, system.ModelRegistry, system.WorkerRegistry, payer,
                           chain_id=chain.chain_id)
    price = system.ModelRegistry.model_terms(digits_model)[1]
    try:
        with TestClient(create_app(api)) as http:
            client.open(account, digits_model, 3 * price, url="http://testserver")
            call = client.call(document, http)
    finally:
        api.close()
    return client, call


def committee(system, members, digits_model, runtime, tmp_path) -> dict:
    """One verifier bot per member, each with its own state file and result store."""
    return {a: Verifier(system.InferenceMarket, system.DisputeCourt, m, {digits_model: runtime},
                        ContentStore(tmp_path / f"r{i}"), tmp_path / f"m{i}.json", channels=system.PaymentChannels)
            for i, (a, m) in enumerate(members.items())}


def judge(system, bots, dispute_id, verdict: bool):
    """Draw and commit (every member to `verdict`), then reveal and settle: returns the DisputeSettled event."""
    court = system.DisputeCourt
    chain.mine(court.params().draw_delay + 1)
    for bot in bots.values():
        bot.step()
    assert court.phase_of(dispute_id) == Phase.REVEALING  # every member committed: nobody is a no-show
    assert all(court.ballots(dispute_id, a) == Ballot.COMMITTED for a in bots)
    assert [bot.state.disputes[str(dispute_id)]["verdict"] for bot in bots.values()] == [verdict] * 3
    reports = [bot.step() for bot in bots.values()]
    assert sum(r.revealed for r in reports) == 3 and sum(r.settled for r in reports) == 1
    (settled,) = court.DisputeSettled.range(0, None, search_topics={"dispute_id": dispute_id})
    assert court.phase_of(dispute_id) == Phase.SETTLED
    return settled


@pytest.fixture
def cheat(system, deployer, worker, digits_model, members, app_builder):
    if system.WorkerRegistry.workers(worker).stake == 0:
        stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker)
    return worker


@pytest.fixture
def honest(system, accounts, deployer, digits_model, members, app_builder):
    account = accounts.generate_test_account()
    deployer.transfer(account, 10**18)
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, account)
    return account


def test_tampered_receipt__payer_challenges_with_evidence__committee_slashes_worker(
        system, runtime, digits_model, cheat, members, documents, app_builder, tmp_path):
    channels, court, workers, token = (system.PaymentChannels, system.DisputeCourt, system.WorkerRegistry,
                                       system.GovernanceToken)
    api = channel_worker(system, cheat, digits_model, runtime, tmp_path / "ledger", Tamper.parse("flip"))
    client, call = paid_call(system, api, app_builder, cheat, digits_model, documents[0])
    (honest_result,) = runtime.infer([inputs.parse(runtime.spec.input_schema, documents[0])])
    assert call.result != honest_result  # the receipt signs the tampered bytes, and the client's checks pass
    stake_before, tokens_before = workers.workers(cheat).stake, token.balanceOf(app_builder)
    treasury_before = token.balanceOf(system.Timelock)

    challenge_id = client.challenge(call, keccak(honest_result))
    (published,) = channels.ReceiptChallenged.range(0, None, search_topics={"challenge_id": challenge_id})
    assert published.input_uri == evidence_uri(documents[0], json=True)
    assert published.result_uri == evidence_uri(call.result)
    dispute_id = channels.challenges(challenge_id).dispute_id

    bots = committee(system, members, digits_model, runtime, tmp_path)
    settled = judge(system, bots, dispute_id, False)
    assert (settled.worker_was_right, settled.for_worker, settled.for_challenger, settled.no_shows) == (False, 0, 3, 0)
    (resolved,) = channels.ReceiptChallengeResolved.range(0, None, search_topics={"challenge_id": challenge_id})
    slash = channels.params().challenge_slash
    assert (resolved.worker_was_right, resolved.slashed) == (False, slash)
    assert workers.workers(cheat).stake == stake_before - slash
    assert workers.locked(cheat) == 0
    assert token.balanceOf(app_builder) == tokens_before + slash // 2  # half; the treasury gets the rest
    assert token.balanceOf(system.Timelock) == treasury_before + slash - slash // 2
    fee = court.params().member_fee
    assert court.owed(app_builder) == channels.params().challenge_bond - 3 * fee  # the bond returns, less fees
    assert all(court.owed(a) == fee for a in members)
    assert channels.challenges(challenge_id).resolved


def test_honest_receipt__wrongly_challenged__worker_wins_bond_minus_fees(
        system, runtime, digits_model, honest, members, documents, app_builder, tmp_path):
    channels, court, workers = system.PaymentChannels, system.DisputeCourt, system.WorkerRegistry
    api = channel_worker(system, honest, digits_model, runtime, tmp_path / "ledger")
    client, call = paid_call(system, api, app_builder, honest, digits_model, documents[1])
    owed_before, payer_owed, stake = court.owed(honest), court.owed(app_builder), workers.workers(honest).stake
    challenge_id = client.challenge(call, keccak(b"the payer says otherwise"))
    dispute_id = channels.challenges(challenge_id).dispute_id

    settled = judge(system, committee(system, members, digits_model, runtime, tmp_path), dispute_id, True)
    assert (settled.worker_was_right, settled.for_worker, settled.for_challenger, settled.no_shows) == (True, 3, 0, 0)
    (resolved,) = channels.ReceiptChallengeResolved.range(0, None, search_topics={"challenge_id": challenge_id})
    assert (resolved.worker_was_right, resolved.slashed) == (True, 0)
    fee = court.params().member_fee
    assert court.owed(honest) == owed_before + channels.params().challenge_bond - 3 * fee
    assert (workers.workers(honest).stake, workers.locked(honest), workers.slashed(honest)) == (stake, 0, 0)
    assert court.owed(app_builder) == payer_owed  # the wrong challenger's bond is gone


@pytest.mark.parametrize("forged", ["result", "input", "unreachable", "malformed url"])
def test_honest_receipt__challenger_forges_or_withholds_evidence__unsubstantiated_worker_wins(
        system, runtime, digits_model, honest, members, documents, app_builder, tmp_path, forged):
    """Burden of proof: evidence that does not hash to the signed hashes (or cannot be fetched) frames
    nobody; every member still votes (no no-shows), for the worker."""
    channels, court, workers = system.PaymentChannels, system.DisputeCourt, system.WorkerRegistry
    api = channel_worker(system, honest, digits_model, runtime, tmp_path / "ledger")
    _, call = paid_call(system, api, app_builder, honest, digits_model, documents[2])
    (right,) = runtime.infer([inputs.parse(runtime.spec.input_schema, documents[2])])
    assert right == call.result
    wrong = right[:-1] + bytes([right[-1] ^ 0x01])  # bytes a framing challenger says the worker answered
    input_uri, result_uri = evidence_uri(documents[2], json=True), evidence_uri(wrong)
    if forged == "input":
        input_uri, result_uri = evidence_uri(documents[3], json=True), evidence_uri(right)
    elif forged == "unreachable":
        input_uri, result_uri = evidence_uri(documents[2], json=True), "http://127.0.0.1:9/results/withheld"
    elif forged == "malformed url":  # parsing it raises in urllib: a vote for the worker, not a crashed bot
        input_uri, result_uri = "http://[::1/in", "http://127.0.0.1:99999/out"
    stake = workers.workers(honest).stake
    tx = channels.challenge_receipt(call_channel(channels, honest, digits_model, app_builder), call.seq,
                                    call.input_hash, call.result_hash, call.receipt, keccak(wrong), input_uri,
                                    result_uri, sender=app_builder, value=channels.params().challenge_bond)
    challenge_id = tx.decode_logs(channels.ReceiptChallenged)[0].challenge_id
    bots = committee(system, members, digits_model, runtime, tmp_path)
    settled = judge(system, bots, channels.challenges(challenge_id).dispute_id, True)
    assert (settled.worker_was_right, settled.for_worker, settled.no_shows) == (True, 3, 0)
    assert (workers.workers(honest).stake, workers.locked(honest)) == (stake, 0)
    fee = court.params().member_fee
    assert court.owed(honest) == channels.params().challenge_bond - 3 * fee


def call_channel(channels, worker, model_id, payer) -> bytes:
    """The open channel of (payer, worker, model): the latest ChannelOpened for them."""
    opened = list(channels.ChannelOpened.range(0, None, search_topics={"payer": payer.address,
                                                                        "worker": worker.address}))
    return bytes(opened[-1].channel_id)
