"""DisputeCourt: opening, the draw, commit and reveal, settlement, escalation, and the attacks on each.

Deploy defaults: committee 3, draw delay 2 blocks, commit 1 h, reveal 30 min,
member fee 0.001 ETH of the 0.01 ETH bond, no-show slash 50 tokens, escalation 14 days.
"""

import ape
import pytest
from ape import chain

from offchain.court import Ballot, Phase, commitment, expected_committee
from tests.unit.court.conftest import BOND, FEE, NO_SHOW, WRONG
from tests.utils.constants import DAY, ETH, MIN_STAKE, ZERO_ADDRESS
from tests.utils.court import (
    commit,
    decide,
    draw,
    members,
    new_verifiers,
    past,
    reveal,
    salt_of,
    vote,
)
from tests.utils.market import CHALLENGED, FINALIZED, FULFILLED, REFUNDED, RESULT_HASH, fulfil, request

PAYMENT = 10**15 * 105 // 100
CHALLENGE_SLASH = 100 * ETH
MARKET_LOCK = 100 * ETH  # the market's lock per request in flight


# ---------------------------------------------------------------- opening


def test_challenge__opens_dispute_and_forwards_bond(market, court, fulfilled, challenger, staked_worker, model_id):
    market_balance = market.balance
    tx = market.challenge(fulfilled, WRONG, sender=challenger, value=BOND)
    opened = tx.decode_logs(court.DisputeOpened)[0]
    assert (opened.client, opened.subject_id, opened.model_id, opened.worker, opened.challenger) == (
        market.address, fulfilled, model_id, staked_worker.address, challenger.address)
    assert (bytes(opened.worker_hash), bytes(opened.challenger_hash), opened.bond) == (RESULT_HASH, WRONG, BOND)
    dispute_id = opened.dispute_id
    assert dispute_id == court.dispute_count()
    challenged = tx.decode_logs(market.InferenceChallenged)[0]
    assert (challenged.request_id, challenged.challenger, challenged.bond, challenged.dispute_id) == (
        fulfilled, challenger.address, BOND, dispute_id)
    d = court.disputes(dispute_id)
    assert (d.phase, d.opened_block, d.draw_block, d.bond, d.committee_size, d.member_fee) == (
        Phase.DRAWING, tx.block_number, tx.block_number + 2, BOND, 3, FEE)
    assert market.challenges(fulfilled).dispute_id == dispute_id
    assert market.get_request(fulfilled).state == CHALLENGED
    assert court.balance == BOND and market.balance == market_balance


def test_open_dispute__not_a_client__reverts(court, model_id, staked_worker, mallory):
    with ape.reverts("DisputeCourt: caller is not a client"):
        court.open_dispute(model_id, staked_worker, mallory, 1, RESULT_HASH, WRONG, ZERO_ADDRESS, sender=mallory,
                           value=BOND)
    assert court.dispute_count() == 0


def test_open_dispute__bond_below_committee_fees__reverts(market, court, govern, model_id, app_builder,
                                                          staked_worker, signer_key, challenger):
    params = list(court.params())
    params[4] = BOND // 3 + 1  # member_fee: three members would take more than the bond
    govern((court, "set_params", tuple(params)))
    rid = request(market, model_id, app_builder)  # after the proposal's days: a fresh request
    market.claim(rid, sender=staked_worker)
    fulfil(market, rid, staked_worker, signer_key)
    with ape.reverts("DisputeCourt: bond below committee fees"):
        market.challenge(rid, WRONG, sender=challenger, value=BOND)
    assert market.get_request(rid).state == FULFILLED


# ---------------------------------------------------------------- the draw


def test_draw__before_draw_block__reverts(court, dispute, mallory):
    with ape.reverts("DisputeCourt: draw block not mined"):
        court.draw(dispute, sender=mallory)
    assert court.disputes(dispute).phase == Phase.DRAWING


def test_draw__committee_locked_and_logged(court, workers, dispute, verifiers, pool, mallory):
    tx = draw(court, dispute, mallory)
    drawn = tx.decode_logs(court.CommitteeDrawn)[0]
    committee = [str(a) for a in court.committee(dispute)]
    assert len(committee) == 3 and len(set(committee)) == 3
    assert [str(a) for a in drawn.members] == committee
    assert drawn.commit_deadline == tx.timestamp + 3_600
    d = court.disputes(dispute)
    assert (d.phase, d.commit_deadline, d.reveal_deadline, d.member_lock) == (
        Phase.COMMITTING, tx.timestamp + 3_600, tx.timestamp + 3_600 + 1_800, NO_SHOW)
    locks = tx.decode_logs(workers.StakeLocked)
    assert [(str(log.worker), log.slasher, log.amount) for log in locks] == [
        (m, court.address, NO_SHOW) for m in committee]
    for member in committee:
        assert court.ballots(dispute, member) == Ballot.DRAWN
        assert workers.locked_by(court, member) == NO_SHOW


def test_draw__twice__reverts(court, dispute, mallory):
    draw(court, dispute, mallory)
    with ape.reverts("DisputeCourt: dispute not drawing"):
        court.draw(dispute, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not drawing"):
        court.draw(999, sender=mallory)


def test_attack__worker_and_challenger_in_pool__never_drawn(court, market, model_id, fulfilled, staked_worker,
                                                            challenger, verifiers, mallory):
    court.join(model_id, sender=staked_worker)
    court.join(model_id, sender=challenger)
    tx = market.challenge(fulfilled, WRONG, sender=challenger, value=BOND)
    dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
    draw(court, dispute_id, mallory)
    committee = set(map(str, court.committee(dispute_id)))
    assert staked_worker.address not in committee and challenger.address not in committee


def test_attack__committee_is_the_future_blockhash_draw__worker_cannot_predict_it(court, market, workers, fulfilled,
                                                                                  challenger, verifiers, mallory):
    tx = market.challenge(fulfilled, WRONG, sender=challenger, value=BOND)
    dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
    draw_block = court.disputes(dispute_id).draw_block
    # When the challenge is mined the seed block does not exist yet.
    assert chain.blocks.head.number < draw_block
    draw(court, dispute_id, mallory)
    block_hash = bytes(chain.blocks[draw_block].hash)
    eligible = [v.address for v in verifiers]
    assert set(map(str, court.committee(dispute_id))) == expected_committee(block_hash, dispute_id, eligible, 3)


def test_attack__sybils_join_after_challenge__not_eligible(accounts, system, court, market, deployer, model_id,
                                                          fulfilled, challenger, mallory):
    # The pool has exactly three members before the challenge; a worker that
    # floods it afterwards with its own accounts cannot get one drawn.
    tx = market.challenge(fulfilled, WRONG, sender=challenger, value=BOND)
    dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
    honest = [str(a) for a in court.pool(model_id)]
    sybils = new_verifiers(accounts, system, deployer, model_id, 4)
    draw(court, dispute_id, mallory)
    committee = set(map(str, court.committee(dispute_id)))
    assert committee <= set(honest)
    assert not committee & {s.address for s in sybils}


def test_draw__too_few_eligible__escalated_nothing_locked(court, workers, dispute, verifiers, mallory):
    for verifier in verifiers[2:]:
        workers.unbond(sender=verifier)  # inactive: skipped by the draw
    tx = draw(court, dispute, mallory)
    escalated = tx.decode_logs(court.DisputeEscalated)[0]
    assert (escalated.dispute_id, escalated.reason, escalated.until) == (dispute, "too few verifiers",
                                                                       tx.timestamp + 21 * DAY)
    assert tx.decode_logs(workers.StakeLocked) == []
    d = court.disputes(dispute)
    assert (d.phase, d.escalated_until) == (Phase.ESCALATED, tx.timestamp + 21 * DAY)
    assert list(court.committee(dispute)) == []


def test_draw__inactive_member__skipped(court, workers, dispute, verifiers, mallory):
    workers.unbond(sender=verifiers[0])
    workers.unbond(sender=verifiers[1])
    draw(court, dispute, mallory)
    assert set(map(str, court.committee(dispute))) == {v.address for v in verifiers[2:]}


def test_draw__blockhash_gone__reanchored_to_future_block(court, dispute, verifiers, mallory):
    chain.mine(court.disputes(dispute).draw_block - chain.blocks.head.number + 256)
    tx = court.draw(dispute, sender=mallory)
    log = tx.decode_logs(court.DrawReanchored)[0]
    assert (log.dispute_id, log.draw_block) == (dispute, tx.block_number + 2)
    assert court.disputes(dispute).phase == Phase.DRAWING
    assert court.disputes(dispute).draw_block == tx.block_number + 2
    with ape.reverts("DisputeCourt: draw block not mined"):
        court.draw(dispute, sender=mallory)
    tx = draw(court, dispute, mallory)
    assert len(tx.decode_logs(court.CommitteeDrawn)[0].members) == 3


# ---------------------------------------------------------------- commit


@pytest.fixture
def drawn(court, dispute, pool, mallory):
    draw(court, dispute, mallory)
    return dispute


@pytest.fixture
def committee(court, drawn, pool):
    return members(court, drawn, pool)


def test_commit__member__recorded_and_logged(court, drawn, committee):
    member = committee[0]
    sealed = commitment(drawn, member.address, True, salt_of(member))
    assert court.commitment_of(drawn, member, True, salt_of(member)) == sealed
    tx = court.commit(drawn, sealed, sender=member)
    log = tx.decode_logs(court.VerdictCommitted)[0]
    assert (log.dispute_id, log.member) == (drawn, member.address)
    assert court.ballots(drawn, member) == Ballot.COMMITTED
    assert bytes(court.commitments(drawn, member)) == sealed
    assert court.disputes(drawn).commits == 1
    assert tx.decode_logs(court.RevealStarted) == []


def test_commit__all_members__reveal_starts_early(court, drawn, committee):
    commit(court, drawn, committee[0], True)
    commit(court, drawn, committee[1], True)
    tx = commit(court, drawn, committee[2], False)
    log = tx.decode_logs(court.RevealStarted)[0]
    assert (log.dispute_id, log.reveal_deadline) == (drawn, tx.timestamp + 1_800)
    d = court.disputes(drawn)
    assert (d.phase, d.reveal_deadline) == (Phase.REVEALING, tx.timestamp + 1_800)
    with ape.reverts("DisputeCourt: dispute not committing"):
        commit(court, drawn, committee[0], True)


def test_commit__non_member__reverts(court, drawn, staked_worker, challenger, verifiers, committee):
    outsider = next(v for v in verifiers if v not in committee)
    for account in (outsider, staked_worker, challenger):
        with ape.reverts("DisputeCourt: caller is not a member"):
            court.commit(drawn, b"\x01" * 32, sender=account)


def test_commit__twice__reverts(court, drawn, committee):
    commit(court, drawn, committee[0], True)
    with ape.reverts("DisputeCourt: already committed"):
        commit(court, drawn, committee[0], False)
    assert bytes(court.commitments(drawn, committee[0])) == commitment(drawn, committee[0].address, True,
                                                                       salt_of(committee[0]))


def test_commit__empty__reverts(court, drawn, committee):
    with ape.reverts("DisputeCourt: empty commitment"):
        court.commit(drawn, b"\x00" * 32, sender=committee[0])


def test_commit__after_deadline__reverts(court, drawn, committee):
    past(court.disputes(drawn).commit_deadline)
    with ape.reverts("DisputeCourt: commit deadline passed"):
        commit(court, drawn, committee[0], True)


def test_commit__before_draw__reverts(court, dispute, verifiers):
    with ape.reverts("DisputeCourt: dispute not committing"):
        court.commit(dispute, b"\x01" * 32, sender=verifiers[0])


# ---------------------------------------------------------------- reveal


def test_reveal__matching__counted_and_logged(court, drawn, committee):
    vote_all_commit(court, drawn, committee, [True, True, False])
    tx = reveal(court, drawn, committee[2], False)
    log = tx.decode_logs(court.VerdictRevealed)[0]
    assert (log.dispute_id, log.member, log.worker_was_right) == (drawn, committee[2].address, False)
    reveal(court, drawn, committee[0], True)
    assert court.ballots(drawn, committee[0]) == Ballot.REVEALED_RIGHT
    assert court.ballots(drawn, committee[2]) == Ballot.REVEALED_WRONG
    d = court.disputes(drawn)
    assert (d.reveals, d.for_worker) == (2, 1)


def vote_all_commit(court, dispute_id, committee, verdicts):
    for member, verdict in zip(committee, verdicts, strict=True):
        commit(court, dispute_id, member, verdict)


def test_reveal__during_commit_phase__reverts(court, drawn, committee):
    commit(court, drawn, committee[0], True)
    with ape.reverts("DisputeCourt: dispute not revealing"):
        reveal(court, drawn, committee[0], True)


@pytest.mark.parametrize("case", ["salt", "verdict", "other member's salt"])
def test_reveal__not_what_was_committed__reverts(court, drawn, committee, case):
    vote_all_commit(court, drawn, committee, [True, True, True])
    member, verdict, salt = committee[0], True, salt_of(committee[0])
    if case == "salt":
        salt = b"\x01" * 32
    elif case == "verdict":
        verdict = False
    else:
        salt = salt_of(committee[1])
    with ape.reverts("DisputeCourt: reveal does not match commitment"):
        court.reveal(drawn, verdict, salt, sender=member)
    assert court.ballots(drawn, member) == Ballot.COMMITTED


def test_reveal__copied_commitment__reverts(court, drawn, committee):
    # A member that copies another's commitment cannot reveal it: the member's address is inside.
    sealed = commitment(drawn, committee[0].address, True, salt_of(committee[0]))
    court.commit(drawn, sealed, sender=committee[0])
    court.commit(drawn, sealed, sender=committee[1])
    commit(court, drawn, committee[2], True)
    with ape.reverts("DisputeCourt: reveal does not match commitment"):
        court.reveal(drawn, True, salt_of(committee[0]), sender=committee[1])


def test_reveal__twice__reverts(court, drawn, committee):
    vote_all_commit(court, drawn, committee, [True, True, True])
    reveal(court, drawn, committee[0], True)
    with ape.reverts("DisputeCourt: already revealed"):
        reveal(court, drawn, committee[0], True)
    assert court.disputes(drawn).reveals == 1


def test_reveal__without_commit__reverts(court, drawn, committee):
    commit(court, drawn, committee[0], True)
    past(court.disputes(drawn).commit_deadline)  # the reveal phase starts with the deadline
    assert court.phase_of(drawn) == Phase.REVEALING
    with ape.reverts("DisputeCourt: not committed"):
        reveal(court, drawn, committee[1], True)


def test_reveal__non_member__reverts(court, drawn, committee, verifiers):
    vote_all_commit(court, drawn, committee, [True, True, True])
    outsider = next(v for v in verifiers if v not in committee)
    with ape.reverts("DisputeCourt: caller is not a member"):
        reveal(court, drawn, outsider, True)


def test_reveal__after_deadline__reverts(court, drawn, committee):
    vote_all_commit(court, drawn, committee, [True, True, True])
    past(court.disputes(drawn).reveal_deadline)
    with ape.reverts("DisputeCourt: reveal deadline passed"):
        reveal(court, drawn, committee[0], True)


# ---------------------------------------------------------------- settlement


def test_settle__worker_right__fees_bond_rest_and_finalizable(court, market, workers, drawn, committee, fulfilled,
                                                              staked_worker, challenger, mallory):
    txs = vote(court, drawn, [(m, True) for m in committee])
    tx = court.settle(drawn, sender=mallory)
    settled = tx.decode_logs(court.DisputeSettled)[0]
    assert (settled.dispute_id, settled.worker_was_right, settled.for_worker, settled.for_challenger,
            settled.no_shows) == (drawn, True, 3, 0, 0)
    resolved = tx.decode_logs(market.ChallengeResolved)[0]
    assert (resolved.request_id, resolved.worker_was_right, resolved.slashed) == (fulfilled, True, 0)
    assert [log.amount for log in tx.decode_logs(workers.StakeUnlocked)] == [NO_SHOW] * 3
    assert tx.decode_logs(workers.Slashed) == []
    for member in committee:
        assert court.owed(member) == FEE
        assert workers.locked_by(court, member) == 0
    assert court.owed(staked_worker) == BOND - 3 * FEE
    assert court.owed(challenger) == 0
    assert court.disputes(drawn).phase == Phase.SETTLED
    state = market.get_request(fulfilled)
    assert (state.state, state.stamp) == (FULFILLED, 0)
    # The window is over: finalized at once, the market's lock released there.
    market.finalize(fulfilled, sender=mallory)
    assert market.get_request(fulfilled).state == FINALIZED
    assert workers.locked(staked_worker) == 0
    assert len(txs) == 6


def test_settle__worker_wrong_two_to_one__challenger_paid_worker_slashed_requester_refunded(
        court, market, token, workers, system, drawn, committee, fulfilled, staked_worker, challenger, app_builder,
        mallory):
    vote(court, drawn, [(committee[0], False), (committee[1], True), (committee[2], False)])
    challenger_tokens = token.balanceOf(challenger)
    treasury_tokens = token.balanceOf(system.Timelock)
    tx = court.settle(drawn, sender=mallory)
    settled = tx.decode_logs(court.DisputeSettled)[0]
    assert (settled.worker_was_right, settled.for_worker, settled.for_challenger, settled.no_shows) == (
        False, 1, 2, 0)
    resolved = tx.decode_logs(market.ChallengeResolved)[0]
    assert (resolved.worker_was_right, resolved.slashed) == (False, CHALLENGE_SLASH)
    assert court.owed(committee[0]) == FEE and court.owed(committee[2]) == FEE
    assert court.owed(committee[1]) == 0  # the minority is not paid
    assert court.owed(challenger) == BOND - 2 * FEE
    assert court.owed(staked_worker) == 0
    # Half the slash to the challenger, the rest to the treasury: one Slashed event each.
    assert [(str(s.worker), s.amount, str(s.recipient), str(s.slasher)) for s in tx.decode_logs(workers.Slashed)] == [
        (staked_worker.address, CHALLENGE_SLASH // 2, challenger.address, market.address),
        (staked_worker.address, CHALLENGE_SLASH // 2, system.Timelock.address, market.address),
    ]
    assert token.balanceOf(challenger) == challenger_tokens + CHALLENGE_SLASH // 2
    assert token.balanceOf(system.Timelock) == treasury_tokens + CHALLENGE_SLASH // 2
    assert workers.workers(staked_worker).stake == MIN_STAKE - CHALLENGE_SLASH
    assert market.get_request(fulfilled).state == REFUNDED
    assert market.owed(app_builder) == PAYMENT
    assert (workers.locked(staked_worker), market.exposure(staked_worker)) == (0, (0, 0))
    for member in committee:
        assert workers.locked_by(court, member) == 0


def test_settle__never_committed__no_show_slashed_to_treasury(court, token, workers, drawn, committee, system,
                                                               staked_worker, mallory):
    vote(court, drawn, [(committee[0], True), (committee[1], True), (committee[2], None)])
    treasury_tokens = token.balanceOf(system.Timelock)
    tx = court.settle(drawn, sender=mallory)  # every committer revealed: no need to wait for the reveal deadline
    assert tx.decode_logs(court.DisputeSettled)[0].no_shows == 1
    slashed = tx.decode_logs(workers.Slashed)
    assert [(str(s.worker), s.amount, s.recipient) for s in slashed] == [
        (committee[2].address, NO_SHOW, system.Timelock.address)]
    assert token.balanceOf(system.Timelock) == treasury_tokens + NO_SHOW
    assert workers.workers(committee[2]).stake == MIN_STAKE - NO_SHOW
    assert court.owed(committee[2]) == 0
    assert court.owed(staked_worker) == BOND - 2 * FEE
    assert all(workers.locked_by(court, m) == 0 for m in committee)


def test_settle__committed_not_revealed__slashed_after_reveal_deadline(court, workers, drawn, committee, mallory):
    vote_all_commit(court, drawn, committee, [False, False, False])
    reveal(court, drawn, committee[0], False)
    reveal(court, drawn, committee[1], False)
    with ape.reverts("DisputeCourt: votes still open"):
        court.settle(drawn, sender=mallory)
    past(court.disputes(drawn).reveal_deadline)
    tx = court.settle(drawn, sender=mallory)
    assert tx.decode_logs(court.DisputeSettled)[0].no_shows == 1
    assert [str(s.worker) for s in tx.decode_logs(workers.Slashed) if s.slasher == court.address] == [
        committee[2].address]


def test_attack__challenger_settles_early__reverts(court, drawn, committee, challenger):
    with ape.reverts("DisputeCourt: votes still open"):
        court.settle(drawn, sender=challenger)
    vote_all_commit(court, drawn, committee[:2], [False, False])
    # A majority has committed, but the third member may still commit until the deadline.
    with ape.reverts("DisputeCourt: votes still open"):
        court.settle(drawn, sender=challenger)
    assert court.disputes(drawn).phase == Phase.COMMITTING


def test_settle__not_voting__reverts(court, dispute, mallory):
    with ape.reverts("DisputeCourt: dispute not voting"):
        court.settle(dispute, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not voting"):
        court.settle(999, sender=mallory)


def test_settle__twice__reverts(court, drawn, committee, mallory):
    vote(court, drawn, [(m, True) for m in committee])
    court.settle(drawn, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not voting"):
        court.settle(drawn, sender=mallory)


def test_settle__tie_with_no_show__escalated_no_show_slashed(court, market, workers, drawn, committee, fulfilled,
                                                            mallory):
    vote(court, drawn, [(committee[0], True), (committee[1], False), (committee[2], None)])
    past(court.disputes(drawn).commit_deadline)
    tx = court.settle(drawn, sender=mallory)
    escalated = tx.decode_logs(court.DisputeEscalated)[0]
    assert (escalated.reason, escalated.until) == ("no majority", tx.timestamp + 21 * DAY)
    assert tx.decode_logs(court.DisputeSettled) == []
    assert tx.decode_logs(market.ChallengeResolved) == []
    assert [str(s.worker) for s in tx.decode_logs(workers.Slashed)] == [committee[2].address]
    assert all(workers.locked_by(court, m) == 0 for m in committee)
    assert all(court.owed(m) == 0 for m in committee)  # no majority, no fees
    assert court.disputes(drawn).phase == Phase.ESCALATED
    assert market.get_request(fulfilled).state == CHALLENGED
    assert court.balance == BOND


def test_settle__nobody_commits__escalated_all_slashed(court, workers, drawn, committee, mallory):
    past(court.disputes(drawn).commit_deadline)
    tx = court.settle(drawn, sender=mallory)
    assert tx.decode_logs(court.DisputeEscalated)[0].reason == "no majority"
    assert sorted(str(s.worker) for s in tx.decode_logs(workers.Slashed)) == sorted(m.address for m in committee)


# ---------------------------------------------------------------- escalation


@pytest.fixture
def escalated(court, workers, dispute, verifiers, mallory):
    for verifier in verifiers:
        workers.unbond(sender=verifier)
    draw(court, dispute, mallory)
    return dispute


def test_rule__governance_against_worker__challenger_takes_bond_worker_slashed(court, market, govern, token,
                                                                             system, escalated, fulfilled,
                                                                             challenger, staked_worker, app_builder):
    challenger_tokens = token.balanceOf(challenger)
    treasury_tokens = token.balanceOf(system.Timelock)
    tx = govern((court, "rule", escalated, False))
    ruled = tx.decode_logs(court.DisputeRuled)[0]
    assert (ruled.dispute_id, ruled.worker_was_right) == (escalated, False)
    assert tx.decode_logs(market.ChallengeResolved)[0].slashed == CHALLENGE_SLASH
    assert court.owed(challenger) == BOND
    assert token.balanceOf(challenger) == challenger_tokens + CHALLENGE_SLASH // 2
    assert token.balanceOf(system.Timelock) == treasury_tokens + CHALLENGE_SLASH // 2
    assert court.disputes(escalated).phase == Phase.RULED
    assert market.get_request(fulfilled).state == REFUNDED
    assert market.owed(app_builder) == PAYMENT


def test_rule__governance_for_worker__worker_takes_whole_bond(court, market, govern, escalated, fulfilled,
                                                              staked_worker):
    govern((court, "rule", escalated, True))
    assert court.owed(staked_worker) == BOND
    assert market.get_request(fulfilled).state == FULFILLED


def test_rule__not_governance__reverts(court, escalated, challenger):
    with ape.reverts("ownable: caller is not the owner"):
        court.rule(escalated, False, sender=challenger)


def test_attack__governance_rules_dispute_not_escalated__reverts(court, govern, drawn, committee):
    with ape.reverts("DisputeCourt: dispute not escalated"):
        govern((court, "rule", drawn, False))
    assert court.disputes(drawn).phase == Phase.COMMITTING


def test_rule__after_escalation_period__reverts(court, govern, escalated):
    chain.mine(timestamp=chain.pending_timestamp + 7 * DAY)  # a (critical) ruling executed ~18 days later is too late
    with ape.reverts("DisputeCourt: escalation expired"):
        govern((court, "rule", escalated, False))
    assert court.disputes(escalated).phase == Phase.ESCALATED


def test_expire__after_escalation_period__result_stands_bond_back(court, market, workers, escalated, fulfilled,
                                                                 challenger, staked_worker, mallory):
    with ape.reverts("DisputeCourt: escalation not expired"):
        court.expire(escalated, sender=mallory)
    chain.pending_timestamp = court.disputes(escalated).escalated_until  # the last second governance may rule
    with ape.reverts("DisputeCourt: escalation not expired"):
        court.expire(escalated, sender=mallory)
    past(court.disputes(escalated).escalated_until)
    tx = court.expire(escalated, sender=mallory)
    assert tx.decode_logs(court.DisputeExpired)[0].dispute_id == escalated
    resolved = tx.decode_logs(market.ChallengeResolved)[0]
    assert (resolved.worker_was_right, resolved.slashed) == (True, 0)
    assert tx.decode_logs(workers.Slashed) == []
    assert court.owed(challenger) == BOND and court.owed(staked_worker) == 0
    assert court.disputes(escalated).phase == Phase.EXPIRED
    market.finalize(fulfilled, sender=mallory)
    assert market.get_request(fulfilled).state == FINALIZED
    assert workers.locked(staked_worker) == 0
    with ape.reverts("DisputeCourt: dispute not escalated"):
        court.expire(escalated, sender=mallory)


def test_expire__not_escalated__reverts(court, drawn, mallory):
    with ape.reverts("DisputeCourt: dispute not escalated"):
        court.expire(drawn, sender=mallory)


# ---------------------------------------------------------------- no escape for members


def test_attack__drawn_member_leaves_pool_unbonds_withdraws__still_slashed(court, token, workers, model_id, drawn,
                                                                          committee, system, mallory):
    runaway = committee[2]
    vote(court, drawn, [(committee[0], True), (committee[1], True), (runaway, None)])
    court.leave(model_id, sender=runaway)
    assert not court.is_member(model_id, runaway)
    withdrawable_at = workers.unbond(sender=runaway).decode_logs(workers.UnbondingStarted)[0].withdrawable_at
    chain.mine(timestamp=withdrawable_at)
    tx = workers.withdraw_stake(sender=runaway)
    log = tx.decode_logs(workers.StakeWithdrawn)[0]
    assert (log.amount, log.remaining) == (MIN_STAKE - NO_SHOW, NO_SHOW)
    # Its ballot stands whatever it did since the draw: a no-show.
    treasury_tokens = token.balanceOf(system.Timelock)
    tx = court.settle(drawn, sender=mallory)
    assert tx.decode_logs(court.DisputeSettled)[0].no_shows == 1
    slashed = tx.decode_logs(workers.Slashed)[0]
    assert (str(slashed.worker), slashed.amount) == (runaway.address, NO_SHOW)
    assert token.balanceOf(system.Timelock) == treasury_tokens + NO_SHOW
    assert (workers.workers(runaway).stake, workers.locked(runaway)) == (0, 0)


def test_attack__member_unbonds_before_commit__cannot_withdraw_lock(court, workers, drawn, committee):
    member = committee[0]
    withdrawable_at = workers.unbond(sender=member).decode_logs(workers.UnbondingStarted)[0].withdrawable_at
    chain.mine(timestamp=withdrawable_at)
    workers.withdraw_stake(sender=member)
    with ape.reverts("WorkerRegistry: stake locked"):
        workers.withdraw_stake(sender=member)
    assert workers.workers(member).stake == NO_SHOW


# ---------------------------------------------------------------- receipts: the same path


def test_receipt_challenge__committee_decides__worker_slashed_half_to_challenger(court, system, token, workers,
                                                                               model_id, staked_worker, app_builder,
                                                                               verifiers, pool, mallory):
    from tests.utils.channels import open_channel, receipt
    channels = system.PaymentChannels
    cid = open_channel(channels, app_builder, staked_worker, model_id, 10**16)
    sig = receipt(channels, staked_worker, cid, 1, b"\x01" * 32, RESULT_HASH)
    tx = channels.challenge_receipt(cid, 1, b"\x01" * 32, RESULT_HASH, sig, WRONG, "data:,in", "data:,out",
                                    sender=app_builder,
                                    value=channels.params().challenge_bond)
    opened = tx.decode_logs(court.DisputeOpened)[0]
    challenge_id = tx.decode_logs(channels.ReceiptChallenged)[0].challenge_id
    assert (opened.client, opened.subject_id, opened.worker, opened.challenger, opened.beneficiary) == (
        channels.address, challenge_id, staked_worker.address, app_builder.address, ZERO_ADDRESS)
    assert court.beneficiary(opened.dispute_id) == ZERO_ADDRESS  # only the challenger gains
    assert channels.challenges(challenge_id).dispute_id == opened.dispute_id
    challenger_tokens = token.balanceOf(app_builder)
    treasury_tokens = token.balanceOf(system.Timelock)
    tx = decide(court, opened.dispute_id, pool, False, mallory)
    resolved = tx.decode_logs(channels.ReceiptChallengeResolved)[0]
    assert (resolved.challenge_id, resolved.worker_was_right, resolved.slashed) == (challenge_id, False, 100 * ETH)
    assert [(str(s.recipient), s.amount) for s in tx.decode_logs(workers.Slashed)] == [
        (app_builder.address, 50 * ETH), (system.Timelock.address, 50 * ETH)]
    assert token.balanceOf(app_builder) == challenger_tokens + 50 * ETH
    assert token.balanceOf(system.Timelock) == treasury_tokens + 50 * ETH
    assert court.owed(app_builder) == BOND - 3 * FEE
    assert channels.challenges(challenge_id).resolved
    assert workers.locked_by(channels, staked_worker) == 0


# ---------------------------------------------------------------- clients' callbacks


def test_on_verdict__not_the_court__reverts(market, system, fulfilled, mallory):
    with ape.reverts("InferenceMarket: caller is not the court"):
        market.on_verdict(fulfilled, False, sender=mallory)
    with ape.reverts("PaymentChannels: caller is not the court"):
        system.PaymentChannels.on_verdict(1, False, sender=mallory)


def test_on_verdict__nothing_open__reverts(project, system, deployer, market_config):
    # A market and channels whose court is an account, to reach the state checks directly.
    s = system
    market = deployer.deploy(project.InferenceMarket, s.Timelock, s.ModelRegistry, s.WorkerRegistry, deployer,
                             s.ModelShares, s.GovernanceToken, market_config.market_params())
    channels = deployer.deploy(project.PaymentChannels, s.Timelock, s.ModelRegistry, s.WorkerRegistry, market,
                               deployer, s.ModelShares, s.GovernanceToken, market_config.channel_params())
    with ape.reverts("InferenceMarket: request not challenged"):
        market.on_verdict(1, False, sender=deployer)
    with ape.reverts("PaymentChannels: challenge not open"):
        channels.on_verdict(1, False, sender=deployer)
