"""offchain/court.py: the commitment, the phases and the next permissionless step, against the contract."""

import pytest
from ape import chain

from offchain.court import (
    Ballot,
    CourtParams,
    Dispute,
    Phase,
    ballot,
    commitment,
    committee,
    new_salt,
    phase,
    read_dispute,
)
from tests.unit.court.conftest import WRONG
from tests.utils.court import draw, vote
from tests.utils.market import RESULT_HASH


def _dispute(**changes) -> Dispute:
    fields = dict(dispute_id=1, client="0x" + "11" * 20, subject_id=1, model_id=1, worker="0x" + "22" * 20,
                  challenger="0x" + "33" * 20, worker_hash=b"\x01" * 32, challenger_hash=b"\x02" * 32, bond=10,
                  phase=Phase.COMMITTING, opened_block=10, draw_block=12, commit_deadline=1_000,
                  reveal_deadline=1_500, escalated_until=0, committee_size=3, member_fee=1, member_lock=5, commits=0,
                  reveals=0, for_worker=0)
    fields.update(changes)
    return Dispute(**fields)


def test_commitment__bad_salt_length__raises():
    with pytest.raises(ValueError, match="a salt is 32 bytes"):
        commitment(1, "0x" + "11" * 20, True, b"short")
    assert len(new_salt()) == 32 and new_salt() != new_salt()


@pytest.mark.parametrize(
    "changes,now,block,step",
    [
        ({"phase": Phase.DRAWING}, 0, 12, None),  # the draw block is not mined yet
        ({"phase": Phase.DRAWING}, 0, 13, "draw"),
        ({}, 999, 20, None),  # members may still commit
        ({}, 1_001, 20, "settle"),  # commit deadline passed, every committer (none) revealed
        ({"commits": 2, "reveals": 1}, 1_001, 20, None),  # a committer may still reveal
        ({"commits": 2, "reveals": 1}, 1_501, 20, "settle"),
        ({"phase": Phase.REVEALING, "commits": 3, "reveals": 3}, 900, 20, "settle"),
        ({"phase": Phase.ESCALATED, "escalated_until": 2_000}, 2_000, 20, None),
        ({"phase": Phase.ESCALATED, "escalated_until": 2_000}, 2_001, 20, "expire"),
        ({"phase": Phase.SETTLED}, 10**9, 10**9, None),
    ],
)
def test_next_step__as_the_contract_allows(changes, now, block, step):
    assert _dispute(**changes).next_step(now, block) == step


def test_effective_phase__commit_deadline_passed__revealing():
    assert _dispute().effective_phase(1_000) == Phase.COMMITTING
    assert _dispute().effective_phase(1_001) == Phase.REVEALING
    assert Phase.EXPIRED.ended and not Phase.ESCALATED.ended


def test_read_dispute__matches_chain_through_its_life(court, market, fulfilled, challenger, staked_worker, pool,
                                                       mallory):
    tx = market.challenge(fulfilled, WRONG, sender=challenger, value=10**16)
    dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
    d = read_dispute(court, dispute_id)
    assert (d.client, d.subject_id, d.worker, d.challenger) == (market.address, fulfilled, staked_worker.address,
                                                                challenger.address)
    assert (d.worker_hash, d.challenger_hash, d.phase) == (RESULT_HASH, WRONG, Phase.DRAWING)
    assert phase(court, dispute_id) == Phase.DRAWING
    draw(court, dispute_id, mallory)
    members = [pool[a] for a in committee(court, dispute_id)]
    assert ballot(court, dispute_id, members[0]) == Ballot.DRAWN
    vote(court, dispute_id, [(m, True) for m in members])
    d = read_dispute(court, dispute_id)
    assert (d.commits, d.reveals, d.for_worker, d.phase) == (3, 3, 3, Phase.REVEALING)
    assert d.next_step(chain.blocks.head.timestamp, chain.blocks.head.number) == "settle"
    court.settle(dispute_id, sender=mallory)
    assert phase(court, dispute_id) == Phase.SETTLED
    assert CourtParams.from_chain(court).worst_case_duration() == 3_600 + 1_800
