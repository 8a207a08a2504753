"""The DisputeCourt seen from Python: phases, ballots, commitments and a
read of one dispute, for the verifier bot, the demos and the tests.

`commitment` computes exactly what `DisputeCourt.commit` expects
(keccak256(abi_encode(dispute_id, member, worker_was_right, salt))), so a
member can commit without a call to the chain; `Dispute.from_chain` unpacks
the `disputes(id)` getter; `next_step` says which permissionless call moves
a dispute on now. Pure functions need no chain; the rest take the court
contract (an ape ContractInstance).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

BLOCKHASH_WINDOW = 256  # blocks whose hash the EVM still returns (the court re-anchors after)


class Phase(IntEnum):
    """A dispute's phase as `phase_of(id)` reports it (0: no such dispute)."""

    NONE = 0
    DRAWING = 1  # opened; anyone draws once the draw block is mined
    COMMITTING = 2  # members commit until commit_deadline
    REVEALING = 3  # members reveal until reveal_deadline
    ESCALATED = 4  # governance may rule until escalated_until; then anyone expires
    SETTLED = 5  # the committee decided
    RULED = 6  # governance decided
    EXPIRED = 7  # escalated, unruled: the result stands

    @property
    def ended(self) -> bool:
        return self in (Phase.SETTLED, Phase.RULED, Phase.EXPIRED)


class Ballot(IntEnum):
    """A member's ballot as `ballots(dispute_id, member)` reports it."""

    NONE = 0  # not a member
    DRAWN = 1
    COMMITTED = 2
    REVEALED_RIGHT = 3  # revealed: the worker's result was right
    REVEALED_WRONG = 4


@dataclass(frozen=True)
class CourtParams:
    """The court's governed parameters (`params()`)."""

    committee_size: int
    draw_delay: int  # blocks
    commit_period: int  # seconds
    reveal_period: int  # seconds
    member_fee: int  # wei
    no_show_slash: int  # token wei
    escalation_period: int  # seconds
    sample_bps: int

    @classmethod
    def from_chain(cls, court) -> CourtParams:
        p = court.params()
        return cls(*(int(x) for x in p))

    def worst_case_duration(self) -> int:
        """Seconds from the draw to the latest settle: both phases run to their deadlines."""
        return self.commit_period + self.reveal_period


@dataclass(frozen=True)
class Dispute:
    """One dispute, unpacked from the `disputes(id)` getter."""

    dispute_id: int
    client: str
    subject_id: int
    model_id: int
    worker: str
    challenger: str
    worker_hash: bytes
    challenger_hash: bytes
    bond: int
    phase: Phase  # the stored phase (see `effective_phase`)
    opened_block: int
    draw_block: int
    commit_deadline: int
    reveal_deadline: int
    escalated_until: int
    committee_size: int
    member_fee: int
    member_lock: int
    commits: int
    reveals: int
    for_worker: int

    @classmethod
    def from_chain(cls, court, dispute_id: int) -> Dispute:
        d = court.disputes(dispute_id)
        return cls(
            dispute_id=int(dispute_id),
            client=str(d.client),
            subject_id=int(d.subject_id),
            model_id=int(d.model_id),
            worker=str(d.worker),
            challenger=str(d.challenger),
            worker_hash=bytes(d.worker_hash),
            challenger_hash=bytes(d.challenger_hash),
            bond=int(d.bond),
            phase=Phase(int(d.phase)),
            opened_block=int(d.opened_block),
            draw_block=int(d.draw_block),
            commit_deadline=int(d.commit_deadline),
            reveal_deadline=int(d.reveal_deadline),
            escalated_until=int(d.escalated_until),
            committee_size=int(d.committee_size),
            member_fee=int(d.member_fee),
            member_lock=int(d.member_lock),
            commits=int(d.commits),
            reveals=int(d.reveals),
            for_worker=int(d.for_worker),
        )

    def effective_phase(self, now: int) -> Phase:
        """The phase at timestamp `now`, as `phase_of` computes it: committing turns into revealing
        at the commit deadline."""
        if self.phase == Phase.COMMITTING and now > self.commit_deadline:
            return Phase.REVEALING
        return self.phase

    def can_draw(self, block_number: int) -> bool:
        """`draw` succeeds in a block numbered `block_number` (it re-anchors if the draw block is too old)."""
        return self.phase == Phase.DRAWING and block_number > self.draw_block

    def can_settle(self, now: int) -> bool:
        """`settle` succeeds at timestamp `now`."""
        if self.phase not in (Phase.COMMITTING, Phase.REVEALING):
            return False
        return (
            self.reveals == self.committee_size
            or now > self.reveal_deadline
            or (now > self.commit_deadline and self.reveals == self.commits)
        )

    def can_expire(self, now: int) -> bool:
        return self.phase == Phase.ESCALATED and now > self.escalated_until

    def next_step(self, now: int, block_number: int) -> str | None:
        """The permissionless call that moves the dispute on now (`draw`, `settle`, `expire`), or None
        (waiting for members, governance or time; or ended)."""
        if self.can_draw(block_number):
            return "draw"
        if self.can_settle(now):
            return "settle"
        if self.can_expire(now):
            return "expire"
        return None


def commitment(dispute_id: int, member: str, worker_was_right: bool, salt: bytes) -> bytes:
    """keccak256(abi_encode(dispute_id, member, worker_was_right, salt)), exactly as `DisputeCourt.reveal`
    checks it."""
    if len(salt) != 32:
        raise ValueError(f"a salt is 32 bytes, got {len(salt)}")
    return keccak(
        encode(["uint256", "address", "bool", "bytes32"],
               [int(dispute_id), to_checksum_address(member), bool(worker_was_right), salt])
    )


def new_salt() -> bytes:
    """A fresh secret salt: keep it until the reveal (losing it makes the member a no-show)."""
    return os.urandom(32)


def read_dispute(court, dispute_id: int) -> Dispute:
    """The dispute `dispute_id` of `court`."""
    return Dispute.from_chain(court, dispute_id)


def committee(court, dispute_id: int) -> list[str]:
    """The members drawn for `dispute_id` (empty before the draw)."""
    return [str(a) for a in court.committee(dispute_id)]


def ballot(court, dispute_id: int, member: str) -> Ballot:
    return Ballot(int(court.ballots(dispute_id, member)))


def phase(court, dispute_id: int) -> Phase:
    """The phase now, as the contract computes it."""
    return Phase(int(court.phase_of(dispute_id)))


def draw_seed(block_hash: bytes, dispute_id: int) -> bytes:
    """keccak256(abi_encode(blockhash(draw_block), dispute_id)), the draw's seed."""
    return keccak(encode(["bytes32", "uint256"], [bytes(block_hash), int(dispute_id)]))


def expected_committee(block_hash: bytes, dispute_id: int, eligible: list[str], size: int) -> set[str]:
    """The members `draw` picks from the `eligible` ones (joined before the opening block, active since
    before it (`WorkerRegistry.active_since`), neither the worker nor the challenger): the `size` lowest
    keccak256(abi_encode(seed, member)). Fewer than `size` eligible: the empty set (the court escalates)."""
    if len(eligible) < size:
        return set()
    seed = draw_seed(block_hash, dispute_id)

    def score(member: str) -> int:
        return int.from_bytes(keccak(encode(["bytes32", "address"], [seed, to_checksum_address(member)])), "big")

    return {to_checksum_address(m) for m in sorted(eligible, key=score)[:size]}
