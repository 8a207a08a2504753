"""Proposal building and lifecycle on the Governor: used by `ape run dao`, the demo and tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum

from eth_utils import keccak

from offchain.errors import ProposalError


class ProposalState(IntEnum):
    """IGovernor.ProposalState."""

    Pending = 0
    Active = 1
    Canceled = 2
    Defeated = 3
    Succeeded = 4
    Queued = 5
    Expired = 6
    Executed = 7


class Support(IntEnum):
    """Vote types of Bravo counting."""

    Against = 0
    For = 1
    Abstain = 2


@dataclass(frozen=True)
class Action:
    """One call the timelock makes if the proposal passes."""

    target: str
    value: int
    calldata: bytes


@dataclass
class Proposal:
    """A proposal as the Governor hashes it: actions plus description."""

    description: str
    actions: list[Action] = field(default_factory=list)

    def call(self, contract, method: str, *args, value: int = 0) -> "Proposal":
        """Adds `contract.method(*args)` (with `value` wei from the treasury)."""
        handler = getattr(contract, method, None)
        if handler is None:
            raise ProposalError(f"{contract.contract_type.name} has no method '{method}'")
        calldata = bytes(handler.encode_input(*args))
        self.actions.append(Action(str(contract.address), value, calldata))
        return self

    def transfer_eth(self, receiver: str, value: int) -> "Proposal":
        """Adds a plain ETH transfer from the treasury (always a critical action)."""
        self.actions.append(Action(str(receiver), value, b""))
        return self

    @property
    def targets(self) -> list[str]:
        return [a.target for a in self.actions]

    @property
    def values(self) -> list[int]:
        return [a.value for a in self.actions]

    @property
    def calldatas(self) -> list[bytes]:
        return [a.calldata for a in self.actions]

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)

    def args(self) -> tuple:
        """(targets, values, calldatas, descriptionHash): the arguments of queue, execute, cancel."""
        return self.targets, self.values, self.calldatas, self.description_hash

    def id(self, governor) -> int:
        return governor.hashProposal(*self.args())


def acceptance(fund, registry, campaign_id: int, price: int) -> Proposal:
    """The proposal that accepts a training campaign's delivery and lists its model in the same transaction:
    listing is opened around `accept`, so the model it registers is active at once, and closed again (left
    open if it was). Not by the id `accept` will take: anyone can register a copy of the delivered artifact
    first and take that id, and a predicted `approve_model` would list the copy, its shares all the copier's."""
    proposal = Proposal(f"Accept campaign {campaign_id} and list its model")
    if registry.open_listing():
        return proposal.call(fund, "accept", campaign_id, price)
    return (proposal.call(registry, "set_open_listing", True)
            .call(fund, "accept", campaign_id, price)
            .call(registry, "set_open_listing", False))


def propose(governor, proposal: Proposal, sender) -> int:
    """Submits the proposal; returns its id."""
    if not proposal.actions:
        raise ProposalError("a proposal needs at least one action")
    governor.propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description, sender=sender)
    return proposal.id(governor)


def state(governor, proposal_id: int) -> ProposalState:
    return ProposalState(governor.state(proposal_id))


def find_proposal(governor, proposal_id: int, start_block: int = 0) -> Proposal:
    """Rebuilds a proposal's actions from its `ProposalCreated` event.

    Needed by queue and execute, which take the actions again rather than
    reading them from storage (the IGovernor design keeps them off-chain).
    """
    for log in governor.ProposalCreated.range(start_block, None):
        if log.proposalId == proposal_id:
            actions = [
                Action(str(t), int(v), bytes(c))
                for t, v, c in zip(log.targets, log.values, log.calldatas, strict=True)
            ]
            return Proposal(description=log.description, actions=actions)
    raise ProposalError(f"no ProposalCreated event for proposal {proposal_id} on this chain")


def describe_state(governor, proposal_id: int) -> dict:
    """A read-only summary of a proposal, for CLIs and the demo."""
    against, for_votes, abstain = governor.proposalVotes(proposal_id)
    return {
        "id": proposal_id,
        "state": state(governor, proposal_id).name,
        "critical": governor.is_critical_proposal(proposal_id),
        # The proposal's own bar, fixed at creation; for critical proposals
        # `quorum(snapshot)` would show the routine bar instead.
        "quorum_bps": governor.proposal_quorum_bps(proposal_id),
        "proposer": str(governor.proposalProposer(proposal_id)),
        "snapshot": governor.proposalSnapshot(proposal_id),
        "deadline": governor.proposalDeadline(proposal_id),
        "eta": governor.proposalEta(proposal_id),
        "for": for_votes,
        "against": against,
        "abstain": abstain,
    }


def parse_action(text: str, contracts: dict) -> tuple:
    """Parses `Contract.method(arg, ...)` as typed on a command line.

    Arguments: `0x` + 40 hex digits is an address; other `0x` hex is bytes;
    `true`/`false`; integers, also written `5e18` or `1_000`; ETH amounts with
    a unit, `0.1 ether` or `20 gwei`, in wei (Ape's conversion); the name of a
    deployed contract stands for its address; `[a, b, c]` is a list (a
    DynArray) and `(a, b)` a tuple (a struct), nested as deep as needed;
    anything else is a string (quotes optional; quote strings that hold
    commas or brackets). Returns (contract, method, args).
    """
    text = text.strip()
    head, paren, rest = text.partition("(")
    if not paren or not rest.endswith(")") or "." not in head:
        raise ProposalError(f"cannot parse action '{text}': expected Contract.method(arg, ...)")
    name, method = head.rsplit(".", 1)
    if name not in contracts:
        known = ", ".join(sorted(contracts))
        raise ProposalError(f"unknown contract '{name}' in '{text}': deployed contracts are {known}")
    args = [_parse_arg(part, contracts) for part in _split_args(rest[:-1], text)]
    return contracts[name], method, args


_CLOSERS = {"[": "]", "(": ")"}


def _split_args(body: str, text: str) -> list[str]:
    """Splits on the commas outside brackets, parentheses and quotes."""
    parts, depth, quote, start = [], [], None, 0
    for i, char in enumerate(body):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _CLOSERS:
            depth.append(_CLOSERS[char])
        elif char in "])":
            if not depth or depth.pop() != char:
                raise ProposalError(f"cannot parse action '{text}': unbalanced '{char}'")
        elif char == "," and not depth:
            parts.append(body[start:i])
            start = i + 1
    if quote or depth:
        raise ProposalError(f"cannot parse action '{text}': unclosed {quote or '[ or ('}")
    parts.append(body[start:])
    parts = [part.strip() for part in parts]
    if parts == [""]:
        return []
    if "" in parts:
        raise ProposalError(f"cannot parse action '{text}': an empty argument between commas")
    return parts


_AMOUNT = re.compile(r"[-+\d.,_eE]+ [A-Za-z]+")  # a number and a unit: "0.1 ether", "20 gwei"


def _wei(amount: str) -> int:
    """An ETH amount with its unit, in wei, through Ape's conversion."""
    from ape import convert
    from ape.exceptions import ConversionError

    try:
        return int(convert(amount, int))
    except ConversionError as exc:
        raise ProposalError(f"'{amount}' is not an amount: write a number and a unit, e.g. '0.1 ether' "
                            "or '20 gwei'") from exc


def _parse_arg(token: str, contracts: dict):
    if len(token) >= 2 and token[0] in _CLOSERS and token[-1] == _CLOSERS[token[0]]:
        items = [_parse_arg(part, contracts) for part in _split_args(token[1:-1], token)]
        return items if token[0] == "[" else tuple(items)
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered.startswith("0x"):
        if len(token) == 42:
            return token
        try:
            return bytes.fromhex(token[2:])
        except ValueError as exc:
            raise ProposalError(f"'{token}' is neither an address nor hex bytes") from exc
    if token in contracts:
        return str(contracts[token].address)
    if _AMOUNT.fullmatch(token):
        return _wei(token)
    number = token.replace("_", "")
    if "e" in lowered and number.lower().split("e")[0].isdigit():
        mantissa, exponent = number.lower().split("e", 1)
        if exponent.isdigit():
            return int(mantissa) * 10 ** int(exponent)
    if number.isdigit():
        return int(number)
    if number.startswith("-") and number[1:].isdigit():
        return int(number)
    return token


def pass_locally(governor, proposal: Proposal, proposer, voters) -> dict:
    """Takes a proposal through vote, queue and execution on a local chain,
    advancing time; every voter votes For. Returns the receipts by step.

    For demos, benchmarks and tests: on a live network time passes by itself.
    """
    from offchain.cli import advance_to

    receipts = {
        "propose": governor.propose(
            proposal.targets, proposal.values, proposal.calldatas, proposal.description, sender=proposer
        )
    }
    proposal_id = proposal.id(governor)
    advance_to(governor.proposalSnapshot(proposal_id) + 1)
    receipts["castVote"] = [governor.castVote(proposal_id, Support.For, sender=voter) for voter in voters]
    advance_to(governor.proposalDeadline(proposal_id) + 1)
    receipts["queue"] = governor.queue(*proposal.args(), sender=proposer)
    advance_to(governor.proposalEta(proposal_id))
    receipts["execute"] = governor.execute(*proposal.args(), sender=proposer)
    return receipts
