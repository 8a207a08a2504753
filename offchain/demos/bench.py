"""Gas measurements from real transactions, shared by the bench scripts and their tests."""

from __future__ import annotations

from offchain.cli import ETH, advance_time
from offchain.deploy import deploy_system
from offchain.governance import Proposal, Support


def governance_gas(project, accounts) -> list[tuple[str, int]]:
    """Deploys a fresh system and returns (operation, gas used) rows."""
    from ape import chain

    deployer, alice, bob, carol = accounts[:4]
    d = deploy_system(project, deployer)
    token, governor = d.GovernanceToken, d.Governor
    rows: list[tuple[str, int]] = []

    def record(label: str, receipt) -> None:
        rows.append((label, receipt.gas_used))

    token.transfer(alice, 30_000_000 * ETH, sender=deployer)
    token.transfer(bob, 20_000_000 * ETH, sender=deployer)
    record("delegate (first, to self)", token.invoke_transaction("delegate", alice, sender=alice))
    token.invoke_transaction("delegate", bob, sender=bob)
    advance_time(1)
    record("transfer (both delegated, warm)", token.transfer(bob, 1 * ETH, sender=alice))
    record("transfer (to a new holder)", token.transfer(carol, 1 * ETH, sender=alice))
    record("delegate (re-delegate)", token.invoke_transaction("delegate", bob, sender=carol))
    record("deposit_revenue", token.deposit_revenue(sender=deployer, value=1 * ETH))
    record("withdraw_revenue", token.withdraw_revenue(sender=alice))

    proposal = Proposal("bench: shorten voting period").call(governor, "setVotingPeriod", 3 * 86_400)
    record(
        "propose (1 action)",
        governor.propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description, sender=alice),
    )
    proposal_id = proposal.id(governor)
    advance_time(governor.votingDelay() + 1)
    record("castVote", governor.castVote(proposal_id, Support.For, sender=alice))
    record("castVoteWithReason", governor.castVoteWithReason(proposal_id, Support.Against, "no", sender=bob))
    advance_time(governor.proposalDeadline(proposal_id) - chain.pending_timestamp + 1)
    record("queue (1 action)", governor.queue(*proposal.args(), sender=alice))
    advance_time(governor.proposalEta(proposal_id) - chain.pending_timestamp + 1)
    record("execute (1 action)", governor.execute(*proposal.args(), sender=alice))

    # Why the Governor schedules one timelock operation per action: snekmate's
    # batch entry point sizes memory for 255 payloads of 1 KiB.
    bare = deployer.deploy(project.Timelock, 0, [deployer], [deployer], "0x" + "00" * 20)
    salt, zero = b"\x01" * 32, b"\x00" * 32
    record("timelock.schedule_batch (1 action)", bare.schedule_batch([alice], [0], [b""], zero, salt, 0, sender=deployer))
    record("timelock.schedule (1 action)", bare.schedule(alice, 0, b"", zero, salt, 0, sender=deployer))
    return rows
