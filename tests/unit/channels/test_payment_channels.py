"""PaymentChannels: prepaid channels, cumulative vouchers, batched settlement,
closing, receipt challenges."""

import ape
import pytest
from ape import chain
from eth_utils import keccak

from offchain.governance import Proposal
from tests.conftest import MIN_STAKE
from tests.utils.channels import item, open_channel, receipt, receipt_digest, voucher
from tests.utils.court import by_address, decide, draw, escalate, members, new_verifiers, past, vote
from tests.utils.governance import pass_proposal
from tests.utils.market import request
from tests.utils.constants import DAY, ETH

SLASH = 100 * ETH  # the receipt challenge_slash of the deploy defaults, locked per challenge
DEPOSIT = 1 * ETH
IN, OUT, OTHER = keccak(b"in"), keccak(b"out"), keccak(b"other")
EVIDENCE = ("data:application/json,in", "https://payer.example/results/out")  # (input_uri, result_uri)


BOND, FEE = 10**16, 10**15  # receipt challenge bond, court member fee (deploy defaults)


@pytest.fixture(scope="module")
def pool(accounts, system, deployer, model_id):
    """Three staked verifiers in the model's pool: the court's default committee."""
    return by_address(new_verifiers(accounts, system, deployer, model_id, 3))


@pytest.fixture
def cid(channels, model_id, staked_worker, app_builder, pool):
    return open_channel(channels, app_builder, staked_worker, model_id, DEPOSIT)


def split(amount):
    worker = amount * 7_000 // 10_000
    shares = amount * 2_000 // 10_000
    holders = amount * 500 // 10_000
    return worker, shares, holders, amount - worker - shares - holders


# ---------------------------------------------------------------- open and fund


def test_open__records_channel_and_logs(channels, model_id, staked_worker, app_builder):
    tx = channels.open_channel(staked_worker, model_id, sender=app_builder, value=DEPOSIT)
    log = tx.decode_logs(channels.ChannelOpened)[0]
    cid = bytes(log.channel_id)
    assert cid == bytes(channels.channel_id_of(app_builder, staked_worker, model_id))
    c = channels.channels(cid)
    assert (c.payer, c.worker, c.model_id, c.deposit, c.settled, c.closes_at, c.closed) == (
        app_builder.address, staked_worker.address, model_id, DEPOSIT, 0, 0, False)
    assert channels.balance == DEPOSIT


def test_open__twice__reverts(channels, cid, model_id, staked_worker, app_builder):
    with ape.reverts("PaymentChannels: channel already open"):
        channels.open_channel(staked_worker, model_id, sender=app_builder, value=1)


def test_open__inactive_worker__reverts(channels, model_id, mallory, app_builder):
    with ape.reverts("PaymentChannels: worker not active"):
        channels.open_channel(mallory, model_id, sender=app_builder, value=1)


def test_open__inactive_model__reverts(channels, models, author, staked_worker, app_builder):
    models.register_model(b"\x01" * 32, b"\x02" * 32, "", 1, [author], [1], sender=author)
    with ape.reverts("PaymentChannels: model not active"):
        channels.open_channel(staked_worker, models.model_count(), sender=app_builder, value=1)


def test_fund__adds_deposit(channels, cid, app_builder):
    tx = channels.fund(cid, sender=app_builder, value=ETH // 2)
    assert channels.channels(cid).deposit == DEPOSIT + ETH // 2
    assert tx.decode_logs(channels.ChannelFunded)[0].deposit == DEPOSIT + ETH // 2


@pytest.mark.parametrize("case,reason", [
    ("stranger", "PaymentChannels: caller is not the payer"),
    ("zero", "PaymentChannels: nothing to fund"),
    ("closing", "PaymentChannels: channel closing"),
    ("closed by the worker", "PaymentChannels: channel closed"),
])
def test_fund__invalid__reverts(channels, cid, app_builder, mallory, staked_worker, case, reason):
    sender, value = app_builder, 1
    if case == "stranger":
        sender = mallory
    elif case == "zero":
        value = 0
    elif case == "closing":
        channels.request_close(cid, sender=app_builder)
    else:  # the worker closes first (a race, or front-running the top-up): the top-up must not be stuck
        channels.close(cid, sender=staked_worker)
    balance = channels.balance
    with ape.reverts(reason):
        channels.fund(cid, sender=sender, value=value)
    assert channels.balance == balance


# ---------------------------------------------------------------- settle


def test_settle__pays_difference_split_like_the_market(channels, system, token, shares, cid, model_id, app_builder,
                                                      staked_worker, author):
    holders_before = token.balance
    tx = channels.settle([item(channels, app_builder, cid, 10**15)], sender=staked_worker)
    tx2 = channels.settle([item(channels, app_builder, cid, 3 * 10**15, root=b"\x01" * 32)], sender=staked_worker)
    assert [log.paid for log in tx.decode_logs(channels.ChannelSettled) + tx2.decode_logs(channels.ChannelSettled)] \
        == [10**15, 2 * 10**15]
    assert bytes(tx2.decode_logs(channels.ChannelSettled)[0].receipts_root) == b"\x01" * 32
    worker_cut, share_cut, holder_cut, treasury_cut = split(10**15)
    w2, s2, h2, t2 = split(2 * 10**15)
    assert channels.owed(staked_worker) == worker_cut + w2
    assert channels.owed(system.Timelock) == treasury_cut + t2
    assert token.balance == holders_before + holder_cut + h2
    assert shares.withdrawable_revenue(author, [model_id]) == (share_cut + s2) * 600 // 1000
    assert channels.channels(cid).settled == 3 * 10**15


def test_settle__market_split_changed_by_governance__channels_follow_at_once(channels, system, govern, token, cid,
                                                                           app_builder, staked_worker):
    """One owner of the split: a governed change of the market's basis points
    applies to the next settlement, through `split_bps()`, not a copy."""
    market = system.InferenceMarket
    p = market.params()
    new_params = (p.protocol_fee_bps, 5_000, 3_000, 1_000) + tuple(p)[4:]
    govern((market, "set_params", new_params))
    assert tuple(market.split_bps()) == (5_000, 3_000, 1_000)
    holders_before = token.balance
    channels.settle([item(channels, app_builder, cid, 10**15)], sender=staked_worker)
    assert channels.owed(staked_worker) == 10**15 * 5_000 // 10_000
    assert token.balance == holders_before + 10**15 * 1_000 // 10_000
    assert channels.owed(system.Timelock) == 10**15 - 10**15 * 9_000 // 10_000


def test_settle__several_channels_in_one_transaction(channels, model_id, staked_worker, app_builder, alice, cid):
    other = open_channel(channels, alice, staked_worker, model_id, DEPOSIT)
    tx = channels.settle([item(channels, app_builder, cid, 5), item(channels, alice, other, 7)], sender=staked_worker)
    assert [log.paid for log in tx.decode_logs(channels.ChannelSettled)] == [5, 7]


@pytest.mark.parametrize("case,reason", [
    ("older", "PaymentChannels: voucher not newer than last settlement"),
    ("same", "PaymentChannels: voucher not newer than last settlement"),
    ("over", "PaymentChannels: voucher exceeds deposit"),
    ("stranger", "PaymentChannels: caller is not the channel's worker"),
    ("signer", "PaymentChannels: invalid voucher signature"),
    ("chain", "PaymentChannels: invalid voucher signature"),
    ("contract", "PaymentChannels: invalid voucher signature"),
])
def test_settle__bad_voucher__reverts(channels, market, cid, app_builder, staked_worker, mallory, case, reason):
    channels.settle([item(channels, app_builder, cid, 100)], sender=staked_worker)
    sender, entry = staked_worker, item(channels, app_builder, cid, 200)
    if case == "older":
        entry = item(channels, app_builder, cid, 50)
    elif case == "same":
        entry = item(channels, app_builder, cid, 100)
    elif case == "over":
        entry = item(channels, app_builder, cid, DEPOSIT + 1)
    elif case == "stranger":
        sender = mallory
    elif case == "signer":
        entry = item(channels, mallory, cid, 200)
    elif case == "chain":
        entry = item(channels, app_builder, cid, 200, chain_id=chain.chain_id + 1)
    elif case == "contract":
        entry = item(channels, app_builder, cid, 200, contract=str(market.address))
    with ape.reverts(reason):
        channels.settle([entry], sender=sender)


def test_settle__voucher_of_another_channel__reverts(channels, model_id, cid, app_builder, alice, staked_worker):
    other = open_channel(channels, alice, staked_worker, model_id, DEPOSIT)
    signed_for_cid = voucher(channels, app_builder, cid, 100)
    with ape.reverts("PaymentChannels: invalid voucher signature"):
        channels.settle([(other, 100, signed_for_cid, b"\x00" * 32)], sender=staked_worker)


# ---------------------------------------------------------------- closing


def test_close__payer_waits_delay__worker_settles_in_between__rest_refunded(channels, cid, app_builder,
                                                                           staked_worker, mallory):
    tx = channels.request_close(cid, sender=app_builder)
    closes_at = tx.decode_logs(channels.CloseRequested)[0].closes_at
    assert closes_at == chain.blocks.head.timestamp + 3_600
    channels.settle([item(channels, app_builder, cid, 400)], sender=staked_worker)  # the closing race
    with ape.reverts("PaymentChannels: close delay not passed"):
        channels.close(cid, sender=mallory)
    chain.mine(timestamp=closes_at)
    tx = channels.close(cid, sender=mallory)
    assert tx.decode_logs(channels.ChannelClosed)[0].refunded == DEPOSIT - 400
    assert channels.owed(app_builder) == DEPOSIT - 400
    with ape.reverts("PaymentChannels: channel closed"):
        channels.settle([item(channels, app_builder, cid, 500)], sender=staked_worker)


def test_close__by_worker__at_once(channels, cid, app_builder, staked_worker):
    channels.close(cid, sender=staked_worker)
    assert channels.channels(cid).closed
    assert channels.owed(app_builder) == DEPOSIT


@pytest.mark.parametrize("case,reason", [
    ("not requested", "PaymentChannels: close not requested"),
    ("twice", "PaymentChannels: channel closed"),
    ("unknown", "PaymentChannels: unknown channel"),
])
def test_close__invalid__reverts(channels, cid, app_builder, staked_worker, mallory, case, reason):
    target = cid
    if case == "twice":
        channels.close(cid, sender=staked_worker)
    elif case == "unknown":
        target = b"\x09" * 32
    with ape.reverts(reason):
        channels.close(target, sender=mallory)


@pytest.mark.parametrize("case,reason", [
    ("stranger", "PaymentChannels: caller is not the payer"),
    ("twice", "PaymentChannels: close already requested"),
    ("closed", "PaymentChannels: channel closed"),
])
def test_request_close__invalid__reverts(channels, cid, app_builder, staked_worker, mallory, case, reason):
    sender = app_builder
    if case == "stranger":
        sender = mallory
    elif case == "twice":
        channels.request_close(cid, sender=app_builder)
    else:
        channels.close(cid, sender=staked_worker)
    with ape.reverts(reason):
        channels.request_close(cid, sender=sender)


def test_reopen__new_id__old_vouchers_worthless(channels, model_id, cid, app_builder, staked_worker):
    old = voucher(channels, app_builder, cid, 300)
    channels.close(cid, sender=staked_worker)
    new = open_channel(channels, app_builder, staked_worker, model_id, DEPOSIT)
    assert new != cid
    with ape.reverts("PaymentChannels: invalid voucher signature"):
        channels.settle([(new, 300, old, b"\x00" * 32)], sender=staked_worker)


# ---------------------------------------------------------------- receipts


def dispute_of(channels, challenge_id) -> int:
    return channels.challenges(challenge_id).dispute_id


def test_challenge_receipt__worker_wrong__slashed_half_to_challenger_rest_to_treasury(
        channels, court, token, workers, timelock, cid, staked_worker, pool, mallory, carol, app_builder):
    sig = receipt(channels, staked_worker, cid, 7, IN, OUT)
    tx = channels.challenge_receipt(cid, 7, IN, OUT, sig, OTHER, *EVIDENCE, sender=app_builder, value=10**16)
    challenge_id = tx.decode_logs(channels.ReceiptChallenged)[0].challenge_id
    before, treasury_before = token.balanceOf(app_builder), token.balanceOf(timelock)
    assert channels.governance() == timelock.address
    tx = decide(court, dispute_of(channels, challenge_id), pool, False, carol)
    resolved = tx.decode_logs(channels.ReceiptChallengeResolved)[0]
    assert (resolved.challenge_id, resolved.worker_was_right, resolved.slashed) == (challenge_id, False, 100 * ETH)
    # Half to the challenger, the rest to the treasury (a sybil challenger of the worker's must still lose).
    assert [(str(s.worker), s.amount, str(s.recipient), str(s.slasher)) for s in tx.decode_logs(workers.Slashed)] == [
        (staked_worker.address, 50 * ETH, app_builder.address, channels.address),
        (staked_worker.address, 50 * ETH, timelock.address, channels.address),
    ]
    assert token.balanceOf(app_builder) == before + 50 * ETH
    assert token.balanceOf(timelock) == treasury_before + 50 * ETH
    assert court.owed(app_builder) == BOND - 3 * FEE
    assert workers.slashed(staked_worker) == 1
    unlocked = [log.amount for log in tx.decode_logs(workers.StakeUnlocked) if log.slasher == channels.address]
    assert unlocked == [SLASH]  # after the slash took it
    assert (workers.locked(staked_worker), workers.workers(staked_worker).stake) == (0, MIN_STAKE - SLASH)
    assert channels.challenges(challenge_id).resolved


def test_challenge_receipt__worker_right__takes_bond_rest(channels, court, workers, cid, staked_worker, pool, mallory, app_builder):
    sig = receipt(channels, staked_worker, cid, 1, IN, OUT)
    channels.challenge_receipt(cid, 1, IN, OUT, sig, OTHER, *EVIDENCE, sender=app_builder, value=10**16)
    tx = decide(court, dispute_of(channels, channels.challenge_count()), pool, True, mallory)
    assert court.owed(staked_worker) == BOND - 3 * FEE
    assert tx.decode_logs(channels.ReceiptChallengeResolved)[0].slashed == 0
    assert [log.amount for log in tx.decode_logs(workers.StakeUnlocked) if log.slasher == channels.address] == [SLASH]
    assert (workers.locked(staked_worker), workers.workers(staked_worker).stake) == (0, MIN_STAKE)


@pytest.mark.parametrize("case,reason", [
    ("bond", "PaymentChannels: wrong challenge bond"),
    ("same", "PaymentChannels: challenge repeats the result"),
    ("forged", "PaymentChannels: receipt not signed by the worker"),
    ("unknown", "PaymentChannels: unknown channel"),
    ("no input", "PaymentChannels: input uri is empty"),
    ("no result", "PaymentChannels: result uri is empty"),
    ("stranger", "PaymentChannels: caller is not the payer"),
])
def test_challenge_receipt__invalid__reverts(channels, cid, staked_worker, mallory, case, reason, app_builder):
    target, value, claimed, evidence, challenger = cid, 10**16, OTHER, EVIDENCE, app_builder
    sig = receipt(channels, staked_worker, cid, 1, IN, OUT)
    if case == "stranger":
        challenger = mallory
    elif case == "bond":
        value = 1
    elif case == "same":
        claimed = OUT
    elif case == "forged":
        sig = receipt(channels, staked_worker, cid, 1, IN, OUT, key=mallory.private_key)
    elif case == "no input":
        evidence = ("", EVIDENCE[1])
    elif case == "no result":
        evidence = (EVIDENCE[0], "")
    else:
        target = b"\x09" * 32
    with ape.reverts(reason):
        channels.challenge_receipt(target, 1, IN, OUT, sig, claimed, *evidence, sender=challenger, value=value)
    assert channels.challenge_count() == 0


def test_attack__copies_of_the_payers_challenge__one_dispute_one_slash(channels, court, workers, token, cid,
                                                                       staked_worker, pool, app_builder, mallory,
                                                                       carol):
    """A review found a receipt challengeable any number of times: copies of the payer's challenge (its
    calldata is public) each locked and slashed `challenge_slash`, so one wrong receipt could take the whole
    stake, the copier taking the rewards; and the worker's own copy with withheld evidence, sent ahead, would
    have left the receipt standing. Only the payer challenges, once per receipt."""
    sig = receipt(channels, staked_worker, cid, 1, IN, OUT)
    args = (cid, 1, IN, OUT, sig, OTHER, *EVIDENCE)
    with ape.reverts("PaymentChannels: caller is not the payer"):  # the copier, or the worker's sybil, ahead
        channels.challenge_receipt(*args, sender=mallory, value=BOND)
    tx, challenge_id = challenge(channels, cid, staked_worker, app_builder)
    digest = receipt_digest(channels, cid, 1, IN, OUT)
    assert channels.receipt_challenge(digest) == challenge_id
    with ape.reverts("PaymentChannels: receipt already challenged"):
        channels.challenge_receipt(*args, sender=app_builder, value=BOND)
    assert (channels.challenge_count(), workers.locked(staked_worker)) == (challenge_id, SLASH)
    before = token.balanceOf(app_builder)
    decide(court, dispute_of(channels, challenge_id), pool, False, carol)
    with ape.reverts("PaymentChannels: receipt already challenged"):  # decided: the verdict stands
        channels.challenge_receipt(*args, sender=app_builder, value=BOND)
    assert workers.workers(staked_worker).stake == MIN_STAKE - SLASH  # one slash
    assert token.balanceOf(app_builder) == before + SLASH // 2
    # Another receipt (another result signed for the same seq) is another claim of the worker's, challengeable.
    other = receipt(channels, staked_worker, cid, 1, IN, OTHER)
    tx = channels.challenge_receipt(cid, 1, IN, OTHER, other, OUT, *EVIDENCE, sender=app_builder, value=BOND)
    assert tx.decode_logs(channels.ReceiptChallenged)[0].challenge_id == challenge_id + 1


def test_on_verdict__not_the_court__reverts(channels, mallory):
    with ape.reverts("PaymentChannels: caller is not the court"):
        channels.on_verdict(1, True, sender=mallory)


# ---------------------------------------------------------------- payouts and params


def test_withdraw_and_sweep__pay_once(channels, system, cid, app_builder, staked_worker, mallory):
    channels.settle([item(channels, app_builder, cid, 10**15)], sender=staked_worker)
    owed = channels.owed(staked_worker)
    tx = channels.withdraw(sender=staked_worker)
    log = tx.decode_logs(channels.Withdrawn)[0]
    assert (log.account, log.to, log.amount) == (staked_worker.address, staked_worker.address, owed)
    with ape.reverts("pull_payments: nothing to withdraw"):
        channels.withdraw(sender=staked_worker)
    before = system.Timelock.balance
    treasury = channels.owed(system.Timelock)
    tx = channels.sweep_treasury(sender=mallory)
    log = tx.decode_logs(channels.Withdrawn)[0]
    assert (log.account, log.to, log.amount) == (system.Timelock.address, system.Timelock.address, treasury)
    assert system.Timelock.balance == before + treasury
    with ape.reverts("pull_payments: nothing to withdraw"):
        channels.sweep_treasury(sender=mallory)


def test_withdraw__reentrant_payer__reverts(project, channels, model_id, staked_worker, deployer):
    actor = deployer.deploy(project.MockActor)
    actor.act(channels, channels.open_channel.encode_input(staked_worker, model_id), sender=deployer, value=DEPOSIT)
    cid = bytes(channels.channel_id_of(actor, staked_worker, model_id))
    # the id moved on when it closes; read it before
    channels.close(cid, sender=staked_worker)
    actor.arm(channels, channels.withdraw.encode_input(), sender=deployer)
    with ape.reverts():
        actor.act(channels, channels.withdraw.encode_input(), sender=deployer)
    assert channels.owed(actor) == DEPOSIT


def test_set_params__governance_only_and_checked(channels, govern, deployer):
    tx = govern((channels, "set_params", (60, 10**15, ETH)))
    assert channels.params().close_delay == 60
    log = tx.decode_logs(channels.ParamsChanged)[0]
    assert tuple(log.new_params) == (60, 10**15, ETH)
    with ape.reverts("PaymentChannels: caller is not governance"):
        channels.set_params((60, 1, 1), sender=deployer)


@pytest.mark.parametrize(("params", "reason"), [
    ((0, 10**15, ETH), "close delay below a minute"),
    ((59, 10**15, ETH), "close delay below a minute"),
    ((30 * DAY + 1, 10**15, ETH), "close delay above 30 days"),
    ((3_600, 10**15, 2**128 + 1), "challenge slash above bound"),  # would overflow every challenge's lock
])
def test_set_params__out_of_bounds__reverts_even_for_a_critical_vote(channels, govern, params, reason):
    with ape.reverts(f"PaymentChannels: {reason}"):
        govern((channels, "set_params", params))


def test_deploy__out_of_bounds_params__reverts(project, system, deployer):
    with ape.reverts("PaymentChannels: close delay below a minute"):
        deployer.deploy(project.PaymentChannels, system.Timelock, system.ModelRegistry, system.WorkerRegistry,
                        system.InferenceMarket, system.DisputeCourt, system.ModelShares, system.GovernanceToken,
                        (0, 10**16, ETH))


def test_challenge_receipt__slash_disabled_by_governance__bond_still_returned(channels, court, govern, workers, cid,
                                                                            staked_worker, pool, mallory, app_builder):
    govern((channels, "set_params", (3_600, 10**16, 0)))
    sig = receipt(channels, staked_worker, cid, 2, IN, OUT)
    channels.challenge_receipt(cid, 2, IN, OUT, sig, OTHER, *EVIDENCE, sender=app_builder, value=10**16)
    tx = decide(court, dispute_of(channels, channels.challenge_count()), pool, False, mallory)
    assert tx.decode_logs(channels.ReceiptChallengeResolved)[0].slashed == 0
    assert workers.slashed(staked_worker) == 0
    assert court.owed(app_builder) == BOND - 3 * FEE


# ---------------------------------------------------------------- locked stake and bounded disputes (issue 11)


def challenge(channels, cid, worker, challenger, seq=1):
    sig = receipt(channels, worker, cid, seq, IN, OUT)
    tx = channels.challenge_receipt(cid, seq, IN, OUT, sig, OTHER, *EVIDENCE, sender=challenger, value=10**16)
    return tx, tx.decode_logs(channels.ReceiptChallenged)[0].challenge_id


def test_attack__payer_challenges_ten_receipts__worker_still_claims_market_requests(
        channels, market, workers, cid, staked_worker, mallory, model_id, app_builder):
    """A review of the market's stake check: ten bonded challenges (of ten receipts) lock the worker's whole
    stake; had the market counted every lock, they would have stopped its claims. It counts its own."""
    for seq in range(1, MIN_STAKE // SLASH + 1):  # one challenge per receipt: ten receipts
        challenge(channels, cid, staked_worker, app_builder, seq)
    assert workers.free_stake(staked_worker) == 0
    rid = request(market, model_id, app_builder)
    market.claim(rid, sender=staked_worker)
    assert market.exposure(staked_worker) == (1, SLASH)


def test_challenge_receipt__locks_slash_and_opens_dispute(channels, court, workers, cid, staked_worker, mallory,
                                                          model_id, app_builder):
    tx, challenge_id = challenge(channels, cid, staked_worker, app_builder)
    log = tx.decode_logs(workers.StakeLocked)[0]
    assert (log.worker, log.slasher, log.amount) == (staked_worker.address, channels.address, SLASH)
    assert workers.locked_by(channels, staked_worker) == SLASH
    dispute = channels.challenges(challenge_id)
    opened = tx.decode_logs(court.DisputeOpened)[0]
    assert (dispute.locked, dispute.dispute_id, dispute.resolved) == (SLASH, opened.dispute_id, False)
    assert (opened.client, opened.subject_id, opened.model_id, opened.bond) == (
        channels.address, challenge_id, model_id, BOND)
    assert (bytes(opened.worker_hash), bytes(opened.challenger_hash)) == (OUT, OTHER)
    logged = tx.decode_logs(channels.ReceiptChallenged)[0]
    assert (logged.challenge_id, bytes(logged.channel_id), logged.challenger, logged.seq, bytes(logged.claimed_hash),
            logged.dispute_id, logged.input_uri, logged.result_uri) == (
        challenge_id, cid, app_builder.address, 1, OTHER, opened.dispute_id, *EVIDENCE)


def test_challenge_receipt__evidence_over_bound__reverts_and_nothing_locked(channels, workers, cid, staked_worker,
                                                                           mallory, app_builder):
    sig = receipt(channels, staked_worker, cid, 1, IN, OUT)
    count = channels.challenge_count()
    with ape.reverts():  # String[1024]: the ABI refuses a longer URI
        channels.challenge_receipt(cid, 1, IN, OUT, sig, OTHER, "data:," + "a" * 1_019, EVIDENCE[1], sender=app_builder,
                                   value=10**16)
    assert (channels.challenge_count(), workers.locked(staked_worker)) == (count, 0)


def test_challenge_receipt__evidence_at_bound__accepted_and_emitted_whole(channels, cid, staked_worker, mallory, app_builder):
    sig = receipt(channels, staked_worker, cid, 1, IN, OUT)
    longest = "data:," + "a" * 1_018
    tx = channels.challenge_receipt(cid, 1, IN, OUT, sig, OTHER, longest, longest, sender=app_builder, value=10**16)
    logged = tx.decode_logs(channels.ReceiptChallenged)[0]
    assert (len(logged.input_uri), logged.input_uri, logged.result_uri) == (1_024, longest, longest)


def test_challenge_receipt__worker_unbonds_and_withdraws__locked_stake_slashed_on_day_8(
        channels, court, governor, alice, bob, token, workers, cid, staked_worker, pool, mallory, carol, app_builder):
    """Issue 11 for receipts: challenged, unbond; the committee ties; withdraw on day 7, ruling (critical) on
    day 18."""
    _, challenge_id = challenge(channels, cid, staked_worker, app_builder)
    dispute_id = dispute_of(channels, challenge_id)
    at = workers.unbond(sender=staked_worker).decode_logs(workers.UnbondingStarted)[0].withdrawable_at
    draw(court, dispute_id, carol)
    committee = members(court, dispute_id, pool)
    vote(court, dispute_id, [(committee[0], True), (committee[1], False), (committee[2], None)])
    court.settle(dispute_id, sender=carol)  # no majority: escalated
    proposal = Proposal("rule on the receipt dispute").call(court, "rule", dispute_id, False)
    proposal_id = pass_proposal(governor, proposal, alice, [alice, bob], execute=False)
    chain.mine(timestamp=max(chain.pending_timestamp, at))
    assert workers.withdraw_stake(sender=staked_worker).decode_logs(workers.StakeWithdrawn)[0].amount == MIN_STAKE - SLASH
    chain.mine(timestamp=max(chain.pending_timestamp, governor.proposalEta(proposal_id)))
    before = token.balanceOf(app_builder)
    tx = governor.execute(*proposal.args(), sender=alice)
    assert tx.decode_logs(channels.ReceiptChallengeResolved)[0].slashed == SLASH
    assert token.balanceOf(app_builder) == before + SLASH // 2  # half; the treasury the rest
    assert court.owed(app_builder) == BOND
    assert (workers.workers(staked_worker).stake, workers.locked(staked_worker)) == (0, 0)


def test_challenge_receipt__unbonding_worker__still_challengeable_and_locked(channels, workers, cid, staked_worker,
                                                                            mallory, app_builder):
    workers.unbond(sender=staked_worker)
    _, challenge_id = challenge(channels, cid, staked_worker, app_builder)
    assert channels.challenges(challenge_id).worker == staked_worker.address
    assert workers.locked(staked_worker) == SLASH


def test_challenge_receipt__withdrawn_worker__reverts(channels, workers, cid, staked_worker, mallory, app_builder):
    sig = receipt(channels, staked_worker, cid, 1, IN, OUT)
    chain.mine(timestamp=workers.unbond(sender=staked_worker).decode_logs(workers.UnbondingStarted)[0].withdrawable_at)
    workers.withdraw_stake(sender=staked_worker)
    with ape.reverts("PaymentChannels: receipt not signed by the worker"):
        channels.challenge_receipt(cid, 1, IN, OUT, sig, OTHER, *EVIDENCE, sender=app_builder, value=10**16)


def test_attack__worker_rotates_key_ahead_of_challenge__still_challenged_and_slashed(
        channels, court, workers, cid, staked_worker, pool, mallory, carol, dave, app_builder):
    """A worker that sees a challenge of its wrong receipt coming sends `set_signer` ahead of it (front-running
    the challenge, or just in time): the receipt's key still binds it, the challenge opens and the slash lands."""
    sig = receipt(channels, staked_worker, cid, 1, IN, OUT)
    workers.set_signer(dave, sender=staked_worker)
    assert workers.signer_of(staked_worker) == dave.address
    tx = channels.challenge_receipt(cid, 1, IN, OUT, sig, OTHER, *EVIDENCE, sender=app_builder, value=10**16)
    challenge_id = tx.decode_logs(channels.ReceiptChallenged)[0].challenge_id
    assert workers.locked(staked_worker) == SLASH
    tx = decide(court, dispute_of(channels, challenge_id), pool, False, carol)
    assert tx.decode_logs(channels.ReceiptChallengeResolved)[0].slashed == SLASH
    assert workers.workers(staked_worker).stake == MIN_STAKE - SLASH


def test_challenge_receipt__key_rotated_away_past_the_unbonding_delay__reverts(channels, workers, cid,
                                                                              staked_worker, mallory, dave, app_builder):
    """The old key binds the worker for the unbonding delay only: after it, a receipt it signs (a thief's who
    stole the retired key, say) cannot be held against the worker; the new key's receipts can."""
    old_sig = receipt(channels, staked_worker, cid, 1, IN, OUT)
    until = workers.set_signer(dave, sender=staked_worker).timestamp + workers.unbonding_delay()
    assert workers.retired_until(staked_worker, staked_worker) == until
    chain.mine(timestamp=until)
    with ape.reverts("PaymentChannels: receipt not signed by the worker"):
        channels.challenge_receipt(cid, 1, IN, OUT, old_sig, OTHER, *EVIDENCE, sender=app_builder, value=10**16)
    new_sig = receipt(channels, staked_worker, cid, 2, IN, OUT, key=dave.private_key)
    tx = channels.challenge_receipt(cid, 2, IN, OUT, new_sig, OTHER, *EVIDENCE, sender=app_builder, value=10**16)
    assert tx.decode_logs(channels.ReceiptChallenged)[0].seq == 2
    assert workers.locked(staked_worker) == SLASH


def test_escalated_unruled__expires__bond_returns_lock_released_once(channels, court, workers, cid, staked_worker,
                                                                     pool, mallory, carol, app_builder):
    _, challenge_id = challenge(channels, cid, staked_worker, app_builder)
    dispute_id = dispute_of(channels, challenge_id)
    escalate(court, dispute_id, carol)
    past(court.disputes(dispute_id).escalated_until)
    tx = court.expire(dispute_id, sender=carol)
    resolved = tx.decode_logs(channels.ReceiptChallengeResolved)[0]
    assert (resolved.challenge_id, resolved.worker_was_right, resolved.slashed) == (challenge_id, True, 0)
    assert [log.amount for log in tx.decode_logs(workers.StakeUnlocked)] == [SLASH]
    assert court.owed(app_builder) == BOND and court.owed(staked_worker) == 0
    assert channels.challenges(challenge_id).resolved
    assert (workers.locked(staked_worker), workers.workers(staked_worker).stake, workers.slashed(staked_worker)) == (
        0, MIN_STAKE, 0)
    with ape.reverts("DisputeCourt: dispute not escalated"):
        court.expire(dispute_id, sender=carol)


def test_ruling__slash_raised_after_challenge__takes_only_what_was_locked(channels, court, govern, workers, cid,
                                                                         staked_worker, pool, mallory, carol, app_builder):
    # Raising a slash and ruling are critical (about 18 days) and the default escalation period is 21 days:
    # give appeals 30 days first so that the raise surely lands while the dispute is still open.
    params = list(court.params())
    params[6] = 30 * DAY  # escalation_period
    govern((court, "set_params", tuple(params)))
    _, challenge_id = challenge(channels, cid, staked_worker, app_builder)
    dispute_id = dispute_of(channels, challenge_id)
    escalate(court, dispute_id, carol)
    tx = govern((channels, "set_params", (3_600, 10**16, 500 * ETH)), (court, "rule", dispute_id, False))
    assert tx.decode_logs(channels.ReceiptChallengeResolved)[0].slashed == SLASH
    assert (workers.locked(staked_worker), workers.workers(staked_worker).stake) == (0, MIN_STAKE - SLASH)
