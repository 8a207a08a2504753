"""DisputeCourt attacked: each test performs an attack as the attacker would and asserts what it gets.

Actors: a worker that served a wrong result, a challenger (free inference, griefing, picking the
committee), committee members (copying, withholding), pool members moving around a draw, strangers
calling any function at a bad time, and value conservation in every way a dispute ends.
"""

import ape
import pytest
from ape import chain

from offchain.court import Phase, expected_committee
from tests.conftest import stake_worker
from tests.unit.court.conftest import BOND, FEE, NO_SHOW, WRONG
from tests.utils.constants import ETH, MIN_STAKE
from tests.utils.court import (
    by_address,
    commit,
    decide,
    draw,
    members,
    new_verifiers,
    past,
    past_draw_block,
    reveal,
    salt_of,
    vote,
)
from tests.utils.market import FINALIZED, FULFILLED, REFUNDED, fulfil, request

CHALLENGE_SLASH = 100 * ETH


def _dormant(accounts, system, deployer, model_id, count: int) -> list:
    """`count` accounts that joined the pool, then unbonded and withdrew everything (deregistered,
    inactive, still listed in the pool because nobody evicted them)."""
    workers = system.WorkerRegistry
    dormant = new_verifiers(accounts, system, deployer, model_id, count)
    for account in dormant:
        workers.unbond(sender=account)
    past(chain.pending_timestamp + workers.unbonding_delay())
    for account in dormant:
        workers.withdraw_stake(sender=account)
        assert workers.active_signer(account) == "0x0000000000000000000000000000000000000000"
        assert system.DisputeCourt.is_member(model_id, account)
    return dormant


def _challenged(market, court, model_id, app_builder, staked_worker, signer_key, challenger) -> int:
    rid = request(market, model_id, app_builder)
    market.claim(rid, sender=staked_worker)
    fulfil(market, rid, staked_worker, signer_key)
    tx = market.challenge(rid, WRONG, sender=challenger, value=BOND)
    return tx.decode_logs(court.DisputeOpened)[0].dispute_id


# ---------------------------------------------------------------- picking the committee


def test_draw__dormant_members_reactivated_after_seed__not_eligible(accounts, system, court, market, workers, token,
                                                                   deployer, model_id, app_builder, staked_worker,
                                                                   signer_key, challenger, verifiers, mallory):
    """The worker keeps two dormant accounts in the pool (joined long ago, withdrawn since). Four honest
    verifiers have left; the dispute opens; once the seed is public the worker re-registers its
    dormant accounts and draws. Were they eligible they would be two of the three members."""
    dormant = _dormant(accounts, system, deployer, model_id, 2)
    for honest in verifiers[1:]:
        workers.unbond(sender=honest)
    dispute_id = _challenged(market, court, model_id, app_builder, staked_worker, signer_key, challenger)
    past_draw_block(court, dispute_id)
    for account in dormant:  # the seed is known: reactivate
        token.approve(workers, MIN_STAKE, sender=account)
        workers.register(account, "http://sybil.example", MIN_STAKE, sender=account)
        assert workers.active_signer(account) == account.address
    tx = court.draw(dispute_id, sender=staked_worker)
    escalated = tx.decode_logs(court.DisputeEscalated)[0]
    assert (escalated.dispute_id, escalated.reason) == (dispute_id, "too few verifiers")
    assert tx.decode_logs(court.CommitteeDrawn) == []
    assert list(court.committee(dispute_id)) == []
    assert court.disputes(dispute_id).phase == Phase.ESCALATED
    for account in dormant:
        assert court.ballots(dispute_id, account) == 0
        assert workers.locked_by(court, account) == 0


def test_draw__reactivated_by_add_stake_after_opening__not_eligible(accounts, system, court, market, workers, token,
                                                                   deployer, model_id, app_builder, staked_worker,
                                                                   signer_key, challenger, verifiers, pool, mallory):
    """A member whose stake fell below the minimum (here: a no-show slash) is inactive; topping it up after
    a dispute opened does not make it eligible for that dispute, only for later ones."""
    first = _challenged(market, court, model_id, app_builder, staked_worker, signer_key, challenger)
    draw(court, first, mallory)
    committee = members(court, first, pool)
    vote(court, first, [(committee[0], True), (committee[1], True), (committee[2], None)])
    court.settle(first, sender=mallory)
    lazy = committee[2]
    assert workers.workers(lazy).stake == MIN_STAKE - NO_SHOW
    assert workers.active_signer(lazy) == "0x0000000000000000000000000000000000000000"
    second = _challenged(market, court, model_id, app_builder, staked_worker, signer_key, challenger)
    past_draw_block(court, second)
    token.transfer(lazy, NO_SHOW, sender=deployer)
    token.approve(workers, NO_SHOW, sender=lazy)
    workers.add_stake(NO_SHOW, sender=lazy)  # active again, after the seed is known
    assert workers.active_signer(lazy) == lazy.address
    assert workers.active_since(lazy) > court.disputes(second).opened_block
    court.draw(second, sender=mallory)
    others = [v.address for v in verifiers if v.address != lazy.address]
    seed_block = chain.blocks[court.disputes(second).draw_block].hash
    assert set(map(str, court.committee(second))) == expected_committee(seed_block, second, others, 3)
    assert court.ballots(second, lazy) == 0
    # A dispute opened after it came back ranks it again.
    third = _challenged(market, court, model_id, app_builder, staked_worker, signer_key, challenger)
    draw(court, third, mallory)
    seed_block = chain.blocks[court.disputes(third).draw_block].hash
    everyone = [v.address for v in verifiers]
    assert set(map(str, court.committee(third))) == expected_committee(seed_block, third, everyone, 3)


def test_draw__member_leaves_after_seed__only_removes_itself(court, market, workers, dispute, verifiers, pool,
                                                           staked_worker, challenger, model_id, mallory):
    """A member that sees it would be drawn leaves: the next-ranked honest member takes its place; leaving
    never brings anyone in who was not already next in the ranking."""
    past_draw_block(court, dispute)
    block_hash = chain.blocks[court.disputes(dispute).draw_block].hash
    eligible = [v.address for v in verifiers]
    would_be = expected_committee(block_hash, dispute, eligible, 3)
    leaver = sorted(would_be)[0]
    court.leave(model_id, sender=pool[leaver])
    tx = court.draw(dispute, sender=mallory)
    drawn = set(map(str, tx.decode_logs(court.CommitteeDrawn)[0].members))
    assert drawn == expected_committee(block_hash, dispute, [a for a in eligible if a != leaver], 3)
    assert would_be - {leaver} <= drawn
    assert court.ballots(dispute, leaver) == 0


# ---------------------------------------------------------------- committee members


def test_reveal__copier_of_another_commitment__cannot_reveal_and_is_slashed(court, token, workers, dispute, pool,
                                                                          system, mallory):
    """A lazy member copies a diligent member's commitment instead of re-executing; at reveal it replays
    the other's verdict and salt (seen in the mempool): the hash binds the member, so it fails either way
    and the copier ends up a no-show."""
    draw(court, dispute, mallory)
    diligent, copier, third = members(court, dispute, pool)
    commit(court, dispute, diligent, True)
    court.commit(dispute, court.commitments(dispute, diligent), sender=copier)
    commit(court, dispute, third, True)
    reveal(court, dispute, diligent, True)
    for verdict in (True, False):
        with ape.reverts("DisputeCourt: reveal does not match commitment"):
            court.reveal(dispute, verdict, salt_of(diligent), sender=copier)
    reveal(court, dispute, third, True)
    past(court.disputes(dispute).reveal_deadline)
    tx = court.settle(dispute, sender=mallory)
    assert tx.decode_logs(court.DisputeSettled)[0].no_shows == 1
    assert [(str(s.worker), s.amount) for s in tx.decode_logs(workers.Slashed)] == [(copier.address, NO_SHOW)]
    assert court.owed(copier) == 0 and court.owed(diligent) == FEE and court.owed(third) == FEE


def test_reveal__minority_member_withholds__slashed_while_minority_revealer_keeps_stake(court, workers, dispute, pool,
                                                                                     market, fulfilled, mallory):
    """Voting blind and withholding the reveal when the others turn out to disagree costs the no-show slash;
    revealing a minority vote costs nothing. Withholding never pays, so a member has no reason to wait
    and follow the majority."""
    draw(court, dispute, mallory)
    a, b, c = members(court, dispute, pool)
    for member in (a, b, c):
        commit(court, dispute, member, member != c)  # c guessed "wrong"
    reveal(court, dispute, a, True)
    reveal(court, dispute, b, True)
    past(court.disputes(dispute).reveal_deadline)  # c saw it is in the minority and stays silent
    tx = court.settle(dispute, sender=mallory)
    assert [(str(s.worker), s.amount) for s in tx.decode_logs(workers.Slashed)] == [(c.address, NO_SHOW)]
    assert workers.workers(c).stake == MIN_STAKE - NO_SHOW
    assert court.owed(c) == 0


def test_settle__minority_revealer__not_slashed_not_paid(court, workers, dispute, pool, mallory):
    draw(court, dispute, mallory)
    a, b, c = members(court, dispute, pool)
    vote(court, dispute, [(a, True), (b, True), (c, False)])
    tx = court.settle(dispute, sender=mallory)
    assert tx.decode_logs(workers.Slashed) == []
    assert workers.workers(c).stake == MIN_STAKE and court.owed(c) == 0
    assert workers.locked_by(court, c) == 0


def test_vote__one_member_colludes_with_wrong_worker__outvoted_and_unpaid(court, market, workers, dispute,
                                                                                 pool, fulfilled, staked_worker,
                                                                                 challenger, mallory):
    """A member bribed by the worker votes for it: one of three is outvoted, earns no fee and the worker
    is slashed. (Capturing a committee needs a majority of it: the documented bound.)"""
    draw(court, dispute, mallory)
    honest, bribed, other = members(court, dispute, pool)
    vote(court, dispute, [(honest, False), (bribed, True), (other, False)])
    tx = court.settle(dispute, sender=mallory)
    assert not tx.decode_logs(court.DisputeSettled)[0].worker_was_right
    assert tx.decode_logs(market.ChallengeResolved)[0].slashed == CHALLENGE_SLASH
    assert court.owed(bribed) == 0 and court.owed(honest) == FEE and court.owed(other) == FEE
    assert court.owed(challenger) == BOND - 2 * FEE and court.owed(staked_worker) == 0


# ---------------------------------------------------------------- challengers


def test_challenge__requester_challenges_own_good_result__loses_bond_pays_as_usual(system, court, market, workers,
                                                                                  deployer, model_id, app_builder,
                                                                                  staked_worker, signer_key,
                                                                                  verifiers, pool, mallory):
    """Free inference: the requester (staked as a worker so it may challenge) disputes the correct result
    it received, hoping for a refund while keeping the result. The committee upholds it: no refund, the
    bond goes to the worker, the payment is final."""
    stake_worker(system.GovernanceToken, workers, deployer, app_builder)
    rid = request(market, model_id, app_builder)
    market.claim(rid, sender=staked_worker)
    fulfil(market, rid, staked_worker, signer_key)
    tx = market.challenge(rid, WRONG, sender=app_builder, value=BOND)
    dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
    tx = decide(court, dispute_id, pool, True, mallory)
    assert tx.decode_logs(market.ChallengeResolved)[0].worker_was_right
    assert app_builder.address not in list(map(str, court.committee(dispute_id)))
    assert court.owed(app_builder) == 0 and market.owed(app_builder) == 0
    assert court.owed(staked_worker) == BOND - 3 * FEE
    market.finalize(rid, sender=mallory)
    assert market.get_request(rid).state == FINALIZED


def test_challenge__second_challenge_on_same_request__reverts(market, court, dispute, fulfilled, verifiers):
    with ape.reverts("InferenceMarket: request not fulfilled"):
        market.challenge(fulfilled, WRONG, sender=verifiers[0], value=BOND)
    assert court.dispute_count() == dispute


def test_challenge__cheating_worker_frontruns_with_own_sybil__still_loses_the_slash(system, court, market, token,
                                                                                   workers, deployer, model_id,
                                                                                   app_builder, staked_worker,
                                                                                   signer_key, verifiers, pool,
                                                                                   challenger, mallory, accounts):
    """The worker served a wrong result and front-runs the honest challenge with a second staked account
    of its own, hoping to take its slash back. Only half of the slash goes to the challenger, the rest to
    the treasury: the pair loses half of the slash in tokens and the committee fees in ETH."""
    sybil = accounts.generate_test_account()
    deployer.transfer(sybil, ETH)
    stake_worker(token, workers, deployer, sybil)
    treasury = system.Timelock
    assert market.governance() == treasury.address
    rid = request(market, model_id, app_builder)
    market.claim(rid, sender=staked_worker)
    fulfil(market, rid, staked_worker, signer_key)  # a wrong result
    market.challenge(rid, WRONG, sender=sybil, value=BOND)  # ahead of the honest challenger's transaction
    with ape.reverts("InferenceMarket: request not fulfilled"):
        market.challenge(rid, WRONG, sender=challenger, value=BOND)
    before = token.balanceOf(sybil) + workers.workers(staked_worker).stake
    treasury_before = token.balanceOf(treasury)
    tx = decide(court, court.dispute_count(), pool, False, mallory)
    assert tx.decode_logs(market.ChallengeResolved)[0].slashed == CHALLENGE_SLASH  # the total, as before
    assert [(str(s.worker), s.amount, str(s.recipient)) for s in tx.decode_logs(workers.Slashed)] == [
        (staked_worker.address, CHALLENGE_SLASH // 2, sybil.address),
        (staked_worker.address, CHALLENGE_SLASH - CHALLENGE_SLASH // 2, treasury.address),
    ]
    after = token.balanceOf(sybil) + workers.workers(staked_worker).stake
    net_gain = after - before  # of the worker and its sybil together, in tokens
    assert net_gain == -(CHALLENGE_SLASH - CHALLENGE_SLASH // 2) and net_gain < 0
    assert token.balanceOf(treasury) == treasury_before + CHALLENGE_SLASH - CHALLENGE_SLASH // 2
    assert court.owed(sybil) == BOND - 3 * FEE  # and the committee fees are lost too
    assert market.owed(app_builder) == 10**15 * 105 // 100  # the requester is refunded in full


def test_challenge_receipt__cheating_worker_challenges_from_own_sybil__still_loses_half_the_slash(
        system, court, token, workers, deployer, model_id, app_builder, staked_worker, verifiers, pool, mallory,
        accounts):
    """The same move through the channels: the worker signed a wrong receipt on a channel a second account
    of its own pays for, and that payer challenges it first (only a channel's payer may). Half the slash goes
    to the treasury."""
    from tests.utils.channels import open_channel, receipt
    from tests.utils.market import RESULT_HASH
    channels = system.PaymentChannels
    sybil = accounts.generate_test_account()
    deployer.transfer(sybil, ETH)
    cid = open_channel(channels, sybil, staked_worker, model_id, 10**16)
    sig = receipt(channels, staked_worker, cid, 1, b"\x01" * 32, RESULT_HASH)  # a wrong result, signed
    tx = channels.challenge_receipt(cid, 1, b"\x01" * 32, RESULT_HASH, sig, WRONG, "data:,in", "data:,out",
                                    sender=sybil, value=channels.params().challenge_bond)
    dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
    before = token.balanceOf(sybil) + workers.workers(staked_worker).stake
    treasury_before = token.balanceOf(system.Timelock)
    tx = decide(court, dispute_id, pool, False, mallory)
    assert tx.decode_logs(channels.ReceiptChallengeResolved)[0].slashed == CHALLENGE_SLASH
    assert [(s.amount, str(s.recipient)) for s in tx.decode_logs(workers.Slashed)] == [
        (CHALLENGE_SLASH // 2, sybil.address), (CHALLENGE_SLASH - CHALLENGE_SLASH // 2, system.Timelock.address)]
    net_gain = token.balanceOf(sybil) + workers.workers(staked_worker).stake - before
    assert net_gain == -(CHALLENGE_SLASH - CHALLENGE_SLASH // 2) and net_gain < 0
    assert token.balanceOf(system.Timelock) == treasury_before + CHALLENGE_SLASH - CHALLENGE_SLASH // 2
    assert court.owed(sybil) == channels.params().challenge_bond - 3 * FEE  # the member fees are lost too


def test_draw__requester_in_pool__not_drawn_on_its_own_request(system, court, market, workers, deployer, model_id,
                                                              app_builder, staked_worker, signer_key, challenger,
                                                              verifiers, mallory):
    stake_worker(system.GovernanceToken, workers, deployer, app_builder)
    court.join(model_id, sender=app_builder)
    for verifier in verifiers[2:]:  # the pool left: the requester and two verifiers, exactly a committee
        workers.unbond(sender=verifier)
    """The requester, refunded if the worker loses, is in the verifier pool: it would sit on its own case
    (then one more colluder, not two, decides it). The market names it the dispute's beneficiary and the
    court never draws it: here the rest of the pool is two verifiers, too few, so the dispute escalates."""
    rid = request(market, model_id, app_builder)
    market.claim(rid, sender=staked_worker)
    fulfil(market, rid, staked_worker, signer_key)
    tx = market.challenge(rid, WRONG, sender=challenger, value=BOND)
    opened = tx.decode_logs(court.DisputeOpened)[0]
    assert opened.beneficiary == app_builder.address
    dispute_id = opened.dispute_id
    assert court.beneficiary(dispute_id) == app_builder.address
    tx = draw(court, dispute_id, mallory)
    assert tx.decode_logs(court.DisputeEscalated)[0].reason == "too few verifiers"
    assert list(court.committee(dispute_id)) == []
    assert court.ballots(dispute_id, app_builder) == 0
    assert workers.locked_by(court, app_builder) == 0


# ---------------------------------------------------------------- strangers at bad times


@pytest.mark.parametrize("unknown", [0, 999])
def test_stranger__calls_on_unknown_dispute__reverts(court, dispute, mallory, unknown):
    past_draw_block(court, dispute)
    with ape.reverts("DisputeCourt: dispute not drawing"):
        court.draw(unknown, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not voting"):
        court.settle(unknown, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not escalated"):
        court.expire(unknown, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not committing"):
        court.commit(unknown, b"\x01" * 32, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not revealing"):
        court.reveal(unknown, True, b"\x01" * 32, sender=mallory)


def test_stranger__settles_or_expires_settled_dispute__reverts(court, dispute, pool, mallory):
    decide(court, dispute, pool, True, mallory)
    with ape.reverts("DisputeCourt: dispute not voting"):
        court.settle(dispute, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not escalated"):
        court.expire(dispute, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not drawing"):
        court.draw(dispute, sender=mallory)
    assert court.disputes(dispute).phase == Phase.SETTLED


def test_governance__rules_after_expiry__reverts_and_expired_stands(court, govern, dispute, verifiers, workers,
                                                                    challenger, mallory):
    for verifier in verifiers:
        workers.unbond(sender=verifier)
    draw(court, dispute, mallory)
    past(court.disputes(dispute).escalated_until)
    court.expire(dispute, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not escalated"):
        govern((court, "rule", dispute, False))
    assert court.disputes(dispute).phase == Phase.EXPIRED
    assert court.owed(challenger) == BOND


# ---------------------------------------------------------------- conservation in every ending


ENDINGS = ["upheld", "rejected", "tie_then_rule_for", "tie_then_rule_against", "no_quorum_expired",
           "pool_too_small_expired", "pool_too_small_rule_against"]


@pytest.mark.parametrize("ending", ENDINGS)
def test_dispute__every_ending__eth_and_tokens_conserved(court, market, workers, token, govern, system, dispute,
                                                        fulfilled, verifiers, pool, staked_worker, challenger,
                                                        app_builder, mallory, ending):
    """Sum in == sum out: the bond is paid out exactly once (fees + winner, or whole to one side), the
    court holds exactly what it owes, and every token slashed leaves the registry to a named recipient."""
    parties = list(by_address([staked_worker, challenger, app_builder, mallory, *verifiers]).values())
    owed_before = sum(court.owed(p) for p in parties)
    court_eth = court.balance
    registry_tokens = token.balanceOf(workers)
    holders = [challenger, system.Timelock]
    held_before = sum(token.balanceOf(h) for h in holders)
    slashes = []

    if ending in ("pool_too_small_expired", "pool_too_small_rule_against"):
        for verifier in verifiers[:3]:
            workers.unbond(sender=verifier)
        tx = draw(court, dispute, mallory)
        assert tx.decode_logs(court.DisputeEscalated)[0].reason == "too few verifiers"
    else:
        draw(court, dispute, mallory)
        a, b, c = members(court, dispute, pool)
        votes = {
            "upheld": [(a, True), (b, True), (c, False)],
            "rejected": [(a, False), (b, False), (c, True)],
            "tie_then_rule_for": [(a, True), (b, False), (c, None)],
            "tie_then_rule_against": [(a, True), (b, False), (c, None)],
            "no_quorum_expired": [(a, True), (b, None), (c, None)],
        }[ending]
        vote(court, dispute, votes)
        past(court.disputes(dispute).reveal_deadline)
        tx = court.settle(dispute, sender=mallory)
        slashes += tx.decode_logs(workers.Slashed)
    if ending.endswith("expired"):
        past(court.disputes(dispute).escalated_until)
        tx = court.expire(dispute, sender=mallory)
        slashes += tx.decode_logs(workers.Slashed)
    elif ending.startswith(("tie", "pool")):
        tx = govern((court, "rule", dispute, ending.endswith("for")))
        slashes += tx.decode_logs(workers.Slashed)

    paid_out = sum(court.owed(p) for p in parties) - owed_before
    assert paid_out == BOND  # every wei of the bond, once
    assert court.balance == court_eth  # nothing left unowed, nothing paid twice
    assert court.disputes(dispute).phase in (Phase.SETTLED, Phase.RULED, Phase.EXPIRED)
    taken = sum(s.amount for s in slashes)
    assert token.balanceOf(workers) == registry_tokens - taken
    assert sum(token.balanceOf(h) for h in holders) == held_before + taken
    assert all(workers.locked_by(court, v) == 0 for v in verifiers)
    state = market.get_request(fulfilled).state
    worker_lost = ending in ("rejected", "tie_then_rule_against", "pool_too_small_rule_against")
    assert state == (REFUNDED if worker_lost else FULFILLED)
    assert market.owed(app_builder) == (market.get_request(fulfilled).state == REFUNDED) * (10**15 * 105 // 100)
    if not worker_lost:
        assert court.owed(challenger) in (0, BOND)  # lost it, or got it back at expiry
        market.finalize(fulfilled, sender=mallory)
        assert workers.locked(staked_worker) == 0


def test_challenge_receipt__griefer_repeats_on_honest_receipt__loses_every_bond(court, system, workers, model_id,
                                                                               staked_worker, app_builder, pool,
                                                                               mallory):
    """Griefing an honest worker through the channels: its payer challenges honest receipts (each once: a
    second challenge of one receipt is refused); each challenge locks its stake until the committee upholds
    the receipt, and each costs the griefer its whole bond; the worker is never slashed and every lock is
    released."""
    from tests.utils.channels import open_channel, receipt
    from tests.utils.market import RESULT_HASH
    channels = system.PaymentChannels
    bond = channels.params().challenge_bond
    cid = open_channel(channels, app_builder, staked_worker, model_id, 10**16)
    stake = workers.workers(staked_worker).stake
    for seq in (1, 2):
        sig = receipt(channels, staked_worker, cid, seq, b"\x01" * 32, RESULT_HASH)
        tx = channels.challenge_receipt(cid, seq, b"\x01" * 32, RESULT_HASH, sig, WRONG, "data:,in", "data:,out",
                                        sender=app_builder, value=bond)
        dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
        assert workers.locked_by(channels, staked_worker) == CHALLENGE_SLASH
        tx = decide(court, dispute_id, pool, True, mallory)
        resolved = tx.decode_logs(channels.ReceiptChallengeResolved)[0]
        assert (resolved.worker_was_right, resolved.slashed) == (True, 0)
        assert workers.locked_by(channels, staked_worker) == 0
        with ape.reverts("PaymentChannels: receipt already challenged"):
            channels.challenge_receipt(cid, seq, b"\x01" * 32, RESULT_HASH, sig, WRONG, "data:,in", "data:,out",
                                       sender=app_builder, value=bond)
    assert court.owed(staked_worker) == 2 * (bond - 3 * FEE)
    assert court.owed(app_builder) == 0
    assert workers.workers(staked_worker).stake == stake
