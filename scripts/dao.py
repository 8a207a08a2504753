"""Govern Neural Commons from a terminal.

    ape run dao delegate [--to ADDRESS]
    ape run dao propose "Shorten voting" --action "Governor.setVotingPeriod(259200)"
    ape run dao propose "Grant" --send-eth 0xRecipient "2.5 ether"
    ape run dao propose "Open a bounty" --action "DataBounties.open_bounty('ipfs://spec', 10e18, 1000e18, 1900000000, [0xV1, 0xV2], 2)"
    ape run dao vote PROPOSAL for|against|abstain [--reason TEXT]
    ape run dao queue PROPOSAL
    ape run dao execute PROPOSAL
    ape run dao status [PROPOSAL] [--full-ids]
    ape run dao advance 5d                # local chains only: 2d, 6h, 30m, 45s

PROPOSAL is the short id `status` shows (its first hex digits), or the full id. Before a proposal is
submitted each action is simulated as the timelock would make it: one that would revert is refused with
its reason (`--no-simulate` skips that; the actions are then checked only at execution). List arguments
are written `[a, b, c]`, structs `(a, b)`.

Every command takes --network (default: the embedded chain, which lives only as long as one command:
use --network ethereum:local:foundry with anvil running, or a live network) and --account.
"""

import click
from ape import chain
from eth_abi import decode as abi_decode

from offchain.cli import chain_command, delegate_votes, deployment_of
from offchain.cli import Group, advance_time, console, fmt_eth, fmt_span, fmt_time, fmt_tokens, \
    parse_address, parse_amount, parse_duration, require_local, resolve_account, short_id, table
from offchain.errors import InvalidInput, ProposalError
from offchain.governance import Proposal, Support, describe_state, find_proposal, parse_action, propose

SUPPORT = {"for": Support.For, "against": Support.Against, "abstain": Support.Abstain}
ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


@click.group(cls=Group)
def cli():
    """Propose, vote, queue, execute and inspect governance proposals."""


def resolve_proposal(governor, text: str) -> int:
    """A proposal id from its full decimal or 0x form, or the short hex prefix `status` prints."""
    text = text.strip().lower()
    if text.isdigit() and len(text) > 12:
        return int(text)
    prefix = text[2:] if text.startswith("0x") else text
    if not prefix or any(c not in "0123456789abcdef" for c in prefix):
        raise InvalidInput(f"'{text}' is not a proposal id: use the short id `ape run dao status` shows")
    if len(prefix) == 64:
        return int(prefix, 16)
    matches = {log.proposalId for log in governor.ProposalCreated.range(0, None)
               if f"{int(log.proposalId):064x}".startswith(prefix)}
    if not matches:
        raise ProposalError(f"no proposal whose id starts with {prefix} on this chain: `ape run dao status` lists them")
    if len(matches) > 1:
        raise ProposalError(f"{len(matches)} proposals start with {prefix}: give more digits")
    return matches.pop()


def simulate(provider, timelock: str, target: str, value: int, calldata: bytes) -> str | None:
    """Runs one action as an `eth_call` from the timelock; returns the revert reason, or None if it succeeds.

    Each action is simulated against the chain as it is now, not after the proposal's earlier actions.
    Nodes run a call without a gas price for free; the embedded chain charges gas even in a call, so there
    the call runs in a snapshot where the timelock was given the gas money, then the snapshot is undone."""
    call = {"from": timelock, "to": target, "data": "0x" + calldata.hex(), "gas": 10_000_000, "gasPrice": 0}
    if value:
        call["value"] = value
    reason = _call(provider, call)
    if reason and _fee_refused(reason) and provider.network.name == "local":
        from ape import accounts

        snapshot = chain.snapshot()
        try:
            # Gas money for the simulation only, from a funded test account (tests may have generated
            # unfunded ones at the end of the list).
            funder = next(a for a in accounts.test_accounts if a.balance > 2 * 10**18)
            funder.transfer(timelock, 10**18)
            del call["gasPrice"]
            reason = _call(provider, call)
        finally:
            chain.restore(snapshot)
    return reason


def _fee_refused(reason: str) -> bool:
    return "base fee" in reason or "cannot afford" in reason or "insufficient funds" in reason


def _call(provider, call: dict) -> str | None:
    try:
        provider.web3.eth.call(call, "latest")
    except Exception as exc:  # noqa: BLE001  (nodes and web3 report reverts as several error types)
        return _reason(getattr(exc, "data", None)) or _message(exc)
    return None


def _reason(data) -> str | None:
    if isinstance(data, str) and data.startswith("0x"):
        try:
            data = bytes.fromhex(data[2:])
        except ValueError:
            return None
    if isinstance(data, bytes) and data[:4] == ERROR_SELECTOR:
        return abi_decode(["string"], data[4:])[0]
    return None


def _message(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    return text.removeprefix("execution reverted: ").strip() or type(exc).__name__


@chain_command(
    cli,
    click.option("--to", "delegatee", default=None, help="Delegate to this address (default: yourself)."),
)
def delegate(provider, account, delegatee):
    """Delegate your votes (needed once before your tokens count)."""
    delegate_votes(provider, account, delegatee)


@chain_command(
    cli,
    click.argument("description"),
    click.option("--action", "actions", multiple=True,
                 help='A call, e.g. "Governor.setVotingPeriod(259200)"; lists as [a, b], structs as (a, b).'),
    click.option("--send-eth", "transfers", multiple=True, nargs=2,
                 help="A treasury ETH transfer: RECIPIENT AMOUNT ('2.5 ether', '500 gwei'; a bare number is ether)."),
    click.option("--no-simulate", is_flag=True, help="Do not simulate the actions as the timelock first."),
    name="propose",
)
def propose_command(provider, account, description, actions, transfers, no_simulate):
    """Submit a proposal (each action is simulated as the timelock first)."""
    sender = resolve_account(account, provider)
    if not description.strip():
        raise InvalidInput("the description is empty: say what the proposal does")
    if not actions and not transfers:
        raise InvalidInput("a proposal needs at least one --action or --send-eth")
    deployment = deployment_of(provider)
    proposal = Proposal(description)
    for text in actions:
        contract, method, args = parse_action(text, deployment.contracts)
        try:
            proposal.call(contract, method, *args)
        except ProposalError:
            raise
        except Exception as exc:  # noqa: BLE001  (ape's argument encoding raises many kinds)
            raise InvalidInput(f"the arguments of '{text}' do not fit {method}'s ABI: {exc}") from None
    for recipient, amount in transfers:
        proposal.transfer_eth(parse_address(recipient, "--send-eth recipient"), parse_amount(amount, "--send-eth"))
    timelock = str(deployment.Timelock.address)
    needed, held = sum(proposal.values), provider.get_balance(timelock)
    if needed > held:
        raise InvalidInput(f"the proposal sends {fmt_eth(needed)} ETH but the treasury holds {fmt_eth(held)} ETH: "
                           f"it would revert at execution")
    if not no_simulate:
        for index, action in enumerate(proposal.actions, 1):
            reason = simulate(provider, timelock, action.target, action.value, action.calldata)
            if reason is not None:
                raise ProposalError(f"action {index} would revert when the timelock executes it: {reason} "
                                    f"(fix it, or --no-simulate if it depends on an earlier action)")
    proposal_id = propose(deployment.Governor, proposal, sender)
    console.print(f"proposal {short_id(proposal_id)} submitted (full id {proposal_id})")
    _print_status(deployment.Governor, proposal_id)


@chain_command(
    cli,
    click.argument("proposal"),
    click.argument("support", type=click.Choice(sorted(SUPPORT))),
    click.option("--reason", default="", help="Recorded in the VoteCast event."),
)
def vote(provider, account, proposal, support, reason):
    """Vote on an active proposal."""
    sender = resolve_account(account, provider)
    governor = deployment_of(provider).Governor
    proposal_id = resolve_proposal(governor, proposal)
    receipt = governor.castVoteWithReason(proposal_id, SUPPORT[support], reason, sender=sender)
    weight = receipt.decode_logs(governor.VoteCast)[0].weight
    console.print(f"{sender.address} voted {support} with {fmt_tokens(weight)} votes")
    _print_status(governor, proposal_id)


@chain_command(cli, click.argument("proposal"))
def queue(provider, account, proposal):
    """Queue a succeeded proposal in the timelock."""
    _advance(provider, account, proposal, "queue")


@chain_command(cli, click.argument("proposal"))
def execute(provider, account, proposal):
    """Execute a queued proposal whose timelock delay has passed."""
    _advance(provider, account, proposal, "execute")


def _advance(provider, account, proposal, method: str) -> None:
    """`Governor.queue` or `Governor.execute` with the proposal's own arguments, then its status."""
    sender = resolve_account(account, provider)
    governor = deployment_of(provider).Governor
    proposal_id = resolve_proposal(governor, proposal)
    getattr(governor, method)(*find_proposal(governor, proposal_id).args(), sender=sender)
    _print_status(governor, proposal_id)


@chain_command(
    cli,
    click.argument("proposal", required=False),
    click.option("--full-ids", is_flag=True, help="Show full proposal ids."),
)
def status(provider, account, proposal, full_ids):
    """Show one proposal, or list all of them."""
    governor = deployment_of(provider).Governor
    if proposal is not None:
        _print_status(governor, resolve_proposal(governor, proposal))
        return
    now = chain.blocks.head.timestamp
    rows = []
    for log in governor.ProposalCreated.range(0, None):
        info = describe_state(governor, log.proposalId)
        rows.append((log.proposalId if full_ids else short_id(log.proposalId), info["state"],
                     "yes" if info["critical"] else "no", fmt_time(info["deadline"], now), log.description[:60]))
    if not rows:
        raise ProposalError("no proposals on this chain yet: `ape run dao propose` submits one")
    console.print(table("Proposals", ["id", "state", "critical", "voting ends", "description"], rows))


@chain_command(cli, click.argument("duration"))
def advance(provider, account, duration):
    """Move a local chain's clock forward by DURATION (2d, 6h, 30m, 45s; any local dev node)."""
    seconds = parse_duration(duration, "DURATION")
    require_local(provider, "advancing time")
    now = advance_time(seconds)
    console.print(f"advanced {fmt_span(seconds)}: chain time is now {fmt_time(now)}")


def _print_status(governor, proposal_id: int) -> None:
    info = describe_state(governor, proposal_id)
    now = chain.blocks.head.timestamp
    rows = [
        ("id", f"{short_id(proposal_id)} (full: {proposal_id})"),
        ("state", info["state"]),
        ("critical", "yes" if info["critical"] else "no"),
        ("proposer", info["proposer"]),
        ("voting starts", fmt_time(info["snapshot"], now)),
        ("voting ends", fmt_time(info["deadline"], now)),
        ("executable from", fmt_time(info["eta"], now) if info["eta"] else "-"),
        ("for / against / abstain", f"{fmt_tokens(info['for'])} / {fmt_tokens(info['against'])} / "
         f"{fmt_tokens(info['abstain'])}"),
        # Quorum is read at the snapshot, which must be in the past.
        ("quorum", fmt_tokens(governor.proposal_quorum(proposal_id)) if info["snapshot"] < now else "at snapshot"),
        ("now", fmt_time(now)),
    ]
    console.print(table("Proposal", ["field", "value"], rows))
