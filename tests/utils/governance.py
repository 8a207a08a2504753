"""Drives proposals through the Governor in tests."""

from __future__ import annotations

from ape import chain

from offchain.governance import Proposal, Support, pass_locally


def advance(seconds: int) -> None:
    chain.pending_timestamp += seconds
    chain.mine()


def to_active(governor, proposal_id: int) -> None:
    advance(governor.proposalSnapshot(proposal_id) - chain.pending_timestamp + 1)


def to_deadline_passed(governor, proposal_id: int) -> None:
    advance(governor.proposalDeadline(proposal_id) - chain.pending_timestamp + 1)


def to_eta(governor, proposal_id: int) -> None:
    advance(governor.proposalEta(proposal_id) - chain.pending_timestamp)


def propose(governor, proposal: Proposal, proposer) -> int:
    governor.propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description, sender=proposer)
    return proposal.id(governor)


def pass_proposal(governor, proposal: Proposal, proposer, voters, *, execute: bool = True):
    """Proposes, votes For with every voter, queues and (by default) executes.
    Returns the execute receipt, or the proposal id when not executing."""
    if execute:
        return pass_locally(governor, proposal, proposer, voters)["execute"]
    proposal_id = propose(governor, proposal, proposer)
    to_active(governor, proposal_id)
    for voter in voters:
        governor.castVote(proposal_id, Support.For, sender=voter)
    to_deadline_passed(governor, proposal_id)
    governor.queue(*proposal.args(), sender=proposer)
    return proposal_id
