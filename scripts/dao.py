"""Govern Neural Commons from a terminal.

    ape run dao delegate [--to ADDRESS]
    ape run dao propose "Shorten voting" --action "Governor.setVotingPeriod(259200)"
    ape run dao propose "Grant" --send-eth 0xRecipient 2.5
    ape run dao vote PROPOSAL_ID for|against|abstain [--reason TEXT]
    ape run dao queue PROPOSAL_ID
    ape run dao execute PROPOSAL_ID
    ape run dao status [PROPOSAL_ID]
    ape run dao advance SECONDS          # local chains only

Every command takes --network (default: the embedded chain, which lives only
as long as one command: use --network ethereum:local:foundry with anvil
running, or a live network) and --account.
"""

from decimal import Decimal

import click
from ape import chain, project
from ape.cli import ConnectedProviderCommand, account_option

from offchain.cli import advance_time, console, fmt_tokens, require_local, resolve_account, table, user_errors
from offchain.deploy import load_deployment
from offchain.errors import ProposalError
from offchain.governance import Proposal, Support, describe_state, find_proposal, parse_action, propose

SUPPORT = {"for": Support.For, "against": Support.Against, "abstain": Support.Abstain}


@click.group()
def cli():
    """Propose, vote, queue, execute and inspect governance proposals."""


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.option("--to", "delegatee", default=None, help="Delegate to this address (default: yourself).")
@user_errors
def delegate(provider, account, delegatee):
    """Delegate your votes (needed once before your tokens count)."""
    sender = resolve_account(account, provider)
    token = load_deployment(project, provider).GovernanceToken
    token.invoke_transaction("delegate", delegatee or sender.address, sender=sender)
    console.print(f"{sender.address} delegates to {delegatee or 'itself'}: {fmt_tokens(token.getVotes(sender))} votes")


@cli.command(name="propose", cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("description")
@click.option("--action", "actions", multiple=True, help='A call, e.g. "Governor.setVotingPeriod(259200)".')
@click.option(
    "--send-eth", "transfers", multiple=True, nargs=2, help="A treasury ETH transfer: RECIPIENT AMOUNT_IN_ETH."
)
@user_errors
def propose_command(provider, account, description, actions, transfers):
    """Submit a proposal."""
    sender = resolve_account(account, provider)
    deployment = load_deployment(project, provider)
    proposal = Proposal(description)
    for text in actions:
        contract, method, args = parse_action(text, deployment.contracts)
        proposal.call(contract, method, *args)
    for recipient, amount in transfers:
        proposal.transfer_eth(recipient, int(Decimal(amount) * 10**18))
    proposal_id = propose(deployment.Governor, proposal, sender)
    console.print(f"proposal id: {proposal_id}", soft_wrap=True)
    _print_status(deployment.Governor, proposal_id)


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("proposal_id", type=int)
@click.argument("support", type=click.Choice(sorted(SUPPORT)))
@click.option("--reason", default="", help="Recorded in the VoteCast event.")
@user_errors
def vote(provider, account, proposal_id, support, reason):
    """Vote on an active proposal."""
    sender = resolve_account(account, provider)
    governor = load_deployment(project, provider).Governor
    receipt = governor.castVoteWithReason(proposal_id, SUPPORT[support], reason, sender=sender)
    weight = receipt.decode_logs(governor.VoteCast)[0].weight
    console.print(f"{sender.address} voted {support} with {fmt_tokens(weight)} votes")
    _print_status(governor, proposal_id)


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("proposal_id", type=int)
@user_errors
def queue(provider, account, proposal_id):
    """Queue a succeeded proposal in the timelock."""
    sender = resolve_account(account, provider)
    governor = load_deployment(project, provider).Governor
    governor.queue(*find_proposal(governor, proposal_id).args(), sender=sender)
    _print_status(governor, proposal_id)


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("proposal_id", type=int)
@user_errors
def execute(provider, account, proposal_id):
    """Execute a queued proposal whose timelock delay has passed."""
    sender = resolve_account(account, provider)
    governor = load_deployment(project, provider).Governor
    governor.execute(*find_proposal(governor, proposal_id).args(), sender=sender)
    _print_status(governor, proposal_id)


@cli.command(cls=ConnectedProviderCommand)
@click.argument("proposal_id", type=int, required=False)
@user_errors
def status(provider, proposal_id):
    """Show one proposal, or list all of them."""
    governor = load_deployment(project, provider).Governor
    if proposal_id is not None:
        _print_status(governor, proposal_id)
        return
    rows = []
    for log in governor.ProposalCreated.range(0, None):
        info = describe_state(governor, log.proposalId)
        rows.append((log.proposalId, info["state"], "yes" if info["critical"] else "no", log.description[:60]))
    if not rows:
        raise ProposalError("no proposals on this chain yet")
    console.print(table("Proposals", ["id", "state", "critical", "description"], rows))


@cli.command(cls=ConnectedProviderCommand)
@click.argument("seconds", type=int)
@user_errors
def advance(provider, seconds):
    """Move a local chain's clock forward (anvil or the embedded chain)."""
    require_local(provider, "advancing time")
    advance_time(seconds)
    console.print(f"chain time is now {chain.blocks.head.timestamp}")


def _print_status(governor, proposal_id: int) -> None:
    info = describe_state(governor, proposal_id)
    rows = [
        ("id", info["id"]),
        ("state", info["state"]),
        ("critical", "yes" if info["critical"] else "no"),
        ("proposer", info["proposer"]),
        ("snapshot", info["snapshot"]),
        ("deadline", info["deadline"]),
        ("eta", info["eta"] or "-"),
        ("for / against / abstain", f"{fmt_tokens(info['for'])} / {fmt_tokens(info['against'])} / "
         f"{fmt_tokens(info['abstain'])}"),
        # Quorum is read at the snapshot, which must be in the past.
        ("quorum", fmt_tokens(governor.proposal_quorum(proposal_id)) if info["snapshot"] < chain.blocks.head.timestamp
         else "at snapshot"),
        ("now", chain.blocks.head.timestamp),
    ]
    console.print(table("Proposal", ["field", "value"], rows))
