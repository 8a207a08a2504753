"""The governance demo: deploy, distribute, delegate, propose, vote, queue, execute.

Runs on a local chain (time is advanced, test accounts are used). Returns a
summary so tests can check what the printed tables claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from offchain.cli import ETH, advance_time, advance_to, console, fmt_eth, fmt_tokens, table
from offchain.deploy import deploy_system
from offchain.governance import Proposal, Support, state


@dataclass
class DemoSummary:
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (setting, before, after)
    gas: dict[str, int] = field(default_factory=dict)
    states: list[tuple[str, str]] = field(default_factory=list)  # (proposal, final state)
    revenue: dict[str, int] = field(default_factory=dict)


def _lifecycle(governor, proposal: Proposal, proposer, voters, summary: DemoSummary, label: str) -> None:
    """Takes a proposal from creation to execution, recording gas of each step."""
    receipt = governor.propose(
        proposal.targets, proposal.values, proposal.calldatas, proposal.description, sender=proposer
    )
    summary.gas.setdefault("propose", receipt.gas_used)
    proposal_id = proposal.id(governor)
    critical = governor.is_critical_proposal(proposal_id)
    console.print(f"[bold]{label}[/bold]: proposed ({'critical' if critical else 'routine'}), id {proposal_id}")

    advance_time(governor.votingDelay() + 1)
    for voter, support in voters:
        receipt = governor.castVote(proposal_id, support, sender=voter)
        summary.gas.setdefault("castVote", receipt.gas_used)
    for_votes = governor.proposalVotes(proposal_id)[1]
    console.print(
        f"  voted: {fmt_tokens(for_votes)} For, quorum {fmt_tokens(governor.proposal_quorum(proposal_id))}"
    )

    advance_to(governor.proposalDeadline(proposal_id) + 1)
    receipt = governor.queue(*proposal.args(), sender=proposer)
    summary.gas.setdefault("queue", receipt.gas_used)
    eta = governor.proposalEta(proposal_id)
    console.print(f"  {state(governor, proposal_id).name}, executable at t={eta}")

    advance_to(eta + 1)
    receipt = governor.execute(*proposal.args(), sender=proposer)
    summary.gas.setdefault("execute", receipt.gas_used)
    summary.states.append((label, state(governor, proposal_id).name))
    console.print(f"  {state(governor, proposal_id).name}")


def run(project, accounts) -> DemoSummary:
    deployer, alice, bob, carol = accounts[:4]
    summary = DemoSummary()
    d = deploy_system(project, deployer)
    token, timelock, governor = d.GovernanceToken, d.Timelock, d.Governor
    console.print(table("Deployed", ["contract", "address"], d.addresses().items()))

    # Distribute: alice 30M, bob 20M, carol 5M, the treasury 40M; the deployer keeps 5M.
    for holder, amount in ((alice, 30_000_000), (bob, 20_000_000), (carol, 5_000_000), (timelock, 40_000_000)):
        receipt = token.transfer(holder, amount * ETH, sender=deployer)
        summary.gas.setdefault("transfer", receipt.gas_used)
    # Contracts that hold tokens for others must not trap revenue: governance
    # would exclude staking contracts; the demo only shows holders earning.
    for holder, delegatee in ((alice, alice), (bob, bob), (carol, alice)):
        # `delegate` is shadowed by ape's EIP-7702 property on every address.
        receipt = token.invoke_transaction("delegate", delegatee, sender=holder)
        summary.gas.setdefault("delegate", receipt.gas_used)
    deployer.transfer(timelock, 10 * ETH)  # the treasury holds ETH
    advance_time(1)

    # Revenue to holders (the market will do this per inference).
    token.deposit_revenue(sender=deployer, value=1 * ETH)
    for name, holder in (("alice", alice), ("bob", bob), ("carol", carol), ("treasury", timelock)):
        summary.revenue[name] = token.withdrawable_revenue(holder)

    # A routine proposal: an operational switch (open model listing).
    registry = d.ModelRegistry
    listing_before = registry.open_listing()
    routine = Proposal("Open model listing").call(registry, "set_open_listing", True)
    _lifecycle(governor, routine, alice, [(alice, Support.For), (bob, Support.Against)], summary, "routine")
    summary.changes.append(("open listing", str(listing_before), str(registry.open_listing())))

    # Governor settings are the rules: changing them is always critical.
    before = (governor.votingPeriod(), governor.quorum_bps())
    rules = (
        Proposal("Shorten the voting period to 3 days and raise quorum to 5%")
        .call(governor, "setVotingPeriod", 3 * 86_400)
        .call(governor, "updateQuorumNumerator", 500)
    )
    _lifecycle(governor, rules, alice, [(alice, Support.For), (bob, Support.Against)], summary, "critical rules")
    summary.changes.append(("votingPeriod (s)", str(before[0]), str(governor.votingPeriod())))
    summary.changes.append(("quorum (bps)", str(before[1]), str(governor.quorum_bps())))

    # A critical proposal: a treasury grant to carol (sends ETH, so it is critical).
    carol_before = carol.balance
    grant = Proposal("Grant 2 ETH from the treasury to carol for dataset curation").transfer_eth(carol, 2 * ETH)
    _lifecycle(governor, grant, bob, [(alice, Support.For), (bob, Support.For)], summary, "critical grant")
    summary.changes.append(("carol ETH", fmt_eth(carol_before), fmt_eth(carol.balance)))
    summary.changes.append(("treasury ETH", fmt_eth(10 * ETH), fmt_eth(timelock.balance)))
    return summary


def print_summary(summary: DemoSummary) -> None:
    console.print(table("What governance changed", ["what", "before", "after"], summary.changes))
    console.print(table("Proposals", ["proposal", "final state"], summary.states))
    console.print(
        table(
            "Holder revenue from a 1 ETH deposit",
            ["holder", "withdrawable ETH"],
            [(name, fmt_eth(wei)) for name, wei in summary.revenue.items()],
        )
    )
    console.print(table("Gas (first transaction of each kind)", ["operation", "gas"], summary.gas.items()))
