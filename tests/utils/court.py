"""DisputeCourt helpers: verifier pools, draws and committee votes, from real transactions."""

from __future__ import annotations

from ape import chain

from offchain.court import commitment
from tests.utils.constants import ETH, MIN_STAKE



def salt_of(member) -> bytes:
    """A distinct, reproducible salt per member."""
    return bytes.fromhex(str(member)[2:].lower().rjust(64, "0"))


def new_verifiers(accounts, system, deployer, model_id, count: int, *, stake: int = MIN_STAKE,
                  join: bool = True) -> list:
    """`count` fresh accounts, funded, staked as workers and (unless `join` is False) in the model's
    verifier pool."""
    token, workers, court = system.GovernanceToken, system.WorkerRegistry, system.DisputeCourt
    verifiers = []
    for _ in range(count):
        account = accounts.generate_test_account()
        deployer.transfer(account, 10 * ETH)
        token.transfer(account, stake, sender=deployer)
        token.approve(workers, stake, sender=account)
        workers.register(account, f"http://{account.address[:8]}.verifier", stake, sender=account)
        if join:
            court.join(model_id, sender=account)
        verifiers.append(account)
    return verifiers


def by_address(accounts_list) -> dict:
    return {str(a.address): a for a in accounts_list}


def past_draw_block(court, dispute_id: int) -> None:
    """Mines until `draw` may run in the next block."""
    target = court.disputes(dispute_id).draw_block
    missing = target - chain.blocks.head.number
    if missing > 0:
        chain.mine(missing)


def draw(court, dispute_id: int, sender):
    past_draw_block(court, dispute_id)
    return court.draw(dispute_id, sender=sender)


def members(court, dispute_id: int, pool: dict) -> list:
    """The drawn members as accounts (from `pool`, address -> account)."""
    return [pool[str(a)] for a in court.committee(dispute_id)]


def commit(court, dispute_id: int, member, worker_was_right: bool, salt: bytes | None = None):
    salt = salt_of(member) if salt is None else salt
    return court.commit(dispute_id, commitment(dispute_id, member.address, worker_was_right, salt), sender=member)


def reveal(court, dispute_id: int, member, worker_was_right: bool, salt: bytes | None = None):
    salt = salt_of(member) if salt is None else salt
    return court.reveal(dispute_id, worker_was_right, salt, sender=member)


def vote(court, dispute_id: int, votes: list[tuple[object, bool | None]]) -> list:
    """Each (member, verdict) commits then reveals; verdict None: the member never commits (then the
    reveals wait for the commit deadline). Returns every transaction in order (commits, then reveals)."""
    txs = [commit(court, dispute_id, m, v) for m, v in votes if v is not None]
    if any(v is None for _, v in votes):
        past(court.disputes(dispute_id).commit_deadline)
    txs += [reveal(court, dispute_id, m, v) for m, v in votes if v is not None]
    return txs


def decide(court, dispute_id: int, pool: dict, worker_was_right: bool, sender):
    """Draw, every member votes `worker_was_right`, settle. Returns the settle transaction."""
    draw(court, dispute_id, sender)
    vote(court, dispute_id, [(m, worker_was_right) for m in members(court, dispute_id, pool)])
    return court.settle(dispute_id, sender=sender)


def past(timestamp: int) -> None:
    chain.mine(timestamp=max(chain.pending_timestamp, timestamp + 1))


def escalate(court, dispute_id: int, sender):
    """Draw; nobody votes; settle after the commit deadline: no majority, escalated. Returns the settle tx
    (or the draw's, when too few verifiers escalated it at once)."""
    tx = draw(court, dispute_id, sender)
    if court.disputes(dispute_id).phase != 2:  # not committing: escalated at the draw
        return tx
    past(court.disputes(dispute_id).commit_deadline)
    return court.settle(dispute_id, sender=sender)
