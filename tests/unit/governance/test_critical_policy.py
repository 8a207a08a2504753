"""Governor: which actions are critical, and that no routine vote can lower a critical bar.

The system fixture holds 100M tokens: alice 30M, bob 20M, carol 5M (all
self-delegated), the deployer 45M undelegated. Deploy defaults: routine quorum
4 %, critical quorum 20 %, critical period 10 days, critical delay 7 days.
"""

import ape
import pytest
from ape import chain
from eth_abi import encode as abi_encode
from eth_utils import keccak

from offchain.deploy import (
    CANCELLER_ROLE,
    CRITICAL_EVERYWHERE,
    CRITICAL_METHODS,
    DEFAULT_ADMIN_ROLE,
    EXECUTOR_ROLE,
    PROPOSER_ROLE,
    critical_marks,
)
from offchain.governance import Proposal, ProposalState, Support
from tests.utils.governance import advance, pass_proposal, propose, to_active, to_deadline_passed, to_eta
from tests.utils.constants import DAY, ETH

ZERO = b"\x00" * 32
SALT = b"\x07" * 32


def state(governor, proposal_id):
    return ProposalState(governor.state(proposal_id))


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def encode(contract, method: str, *args) -> bytes:
    """Calldata from the contract's ABI (ape shadows some names, e.g. `delegate`, on every address)."""
    abi = next(a for a in contract.contract_type.mutable_methods if a.name == method and len(a.inputs) == len(args))
    return keccak(text=abi.selector)[:4] + abi_encode([i.canonical_type for i in abi.inputs], list(args))


def vote_through(governor, proposal, proposer, voters) -> int:
    """Proposes, lets `voters` vote For and runs to the deadline; returns the id."""
    proposal_id = propose(governor, proposal, proposer)
    to_active(governor, proposal_id)
    for voter in voters:
        governor.castVote(proposal_id, Support.For, sender=voter)
    to_deadline_passed(governor, proposal_id)
    return proposal_id


GOVERNED = (
    "GovernanceToken",
    "ModelShares",
    "ModelRegistry",
    "WorkerRegistry",
    "InferenceMarket",
    "PaymentChannels",
    "DisputeCourt",
    "DataBounties",
    "TrainingFund",
)


# ---------------------------------------------------------------- the attack from issue 11


def test_attack__five_percent_lowers_critical_policy__defeated_and_treasury_keeps_eth(
    governor, timelock, deployer, carol
):
    deployer.transfer(timelock, 10 * ETH)
    lower = Proposal("Lower the critical bar").call(governor, "set_critical_policy", 400, 432_000, 172_800)
    proposal_id = propose(governor, lower, carol)
    assert governor.is_critical_proposal(proposal_id)
    snapshot = governor.proposalSnapshot(proposal_id)
    assert governor.proposalDeadline(proposal_id) == snapshot + 10 * DAY
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=carol)  # 5 %: above the routine 4 %, below 20 %
    to_deadline_passed(governor, proposal_id)
    assert governor.quorum(snapshot) == 4_000_000 * ETH  # what let it pass before
    assert governor.proposal_quorum(proposal_id) == 20_000_000 * ETH
    assert state(governor, proposal_id) == ProposalState.Defeated
    with ape.reverts("Governor: proposal not successful"):
        governor.queue(*lower.args(), sender=carol)
    assert (governor.critical_quorum_bps(), governor.critical_voting_period(), governor.critical_delay()) == (
        2_000,
        10 * DAY,
        7 * DAY,
    )

    # The follow-up: the treasury ETH still needs the critical bar, and stays.
    grab = Proposal("Pay carol").transfer_eth(carol, 10 * ETH)
    grab_id = vote_through(governor, grab, carol, [carol])
    assert governor.is_critical_proposal(grab_id)
    assert state(governor, grab_id) == ProposalState.Defeated
    with ape.reverts("Governor: proposal not successful"):
        governor.queue(*grab.args(), sender=carol)
    assert timelock.balance == 10 * ETH


def test_attack__five_percent_grants_timelock_proposer__defeated(governor, timelock, carol, mallory):
    grant = Proposal("Make mallory a proposer").call(timelock, "grantRole", PROPOSER_ROLE, mallory)
    proposal_id = vote_through(governor, grant, carol, [carol])
    assert governor.is_critical_proposal(proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated
    assert not timelock.hasRole(PROPOSER_ROLE, mallory)


def test_attack__five_percent_grants_minting__defeated(governor, token, carol, mallory):
    mint_right = Proposal("Let mallory mint").call(token, "set_minter", mallory, True)
    proposal_id = vote_through(governor, mint_right, carol, [carol])
    assert governor.is_critical_proposal(proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated
    assert not token.is_minter(mallory)


def test_attack__five_percent_mints_to_itself_as_the_timelock__defeated(system, governor, token, timelock, carol):
    # The timelock became a minter with the token's and the shares' ownership: minting 10x the supply by a
    # routine vote would hold every later critical vote; shares of a model, its revenue.
    assert token.is_minter(timelock) and system.ModelShares.is_minter(timelock)
    supply = token.totalSupply()
    grab = (Proposal("Mint carol the majority").call(token, "mint", carol, 10 * supply)
            .call(system.ModelShares, "mint_batch", [carol], 1, [10**8]))
    proposal_id = vote_through(governor, grab, carol, [carol])
    assert governor.is_critical_proposal(proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated
    with ape.reverts("Governor: proposal not successful"):
        governor.queue(*grab.args(), sender=carol)
    assert token.totalSupply() == supply
    assert system.ModelShares.balanceOf(carol, 1) == 0


def test_attack__critical_action_mixed_into_routine_proposal__whole_proposal_critical(system, governor, carol):
    mixed = (
        Proposal("Open listing, and lower the quorum")
        .call(system.ModelRegistry, "set_open_listing", True)
        .call(governor, "updateQuorumNumerator", 100)
    )
    proposal_id = vote_through(governor, mixed, carol, [carol])
    assert governor.is_critical_proposal(proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated
    assert not system.ModelRegistry.open_listing()
    assert governor.quorum_bps() == 400


def test_attack__five_percent_raises_slash_to_whole_stake__defeated(system, governor, carol):
    # With routine slash sizes a 5 % vote could next resolve a staged challenge
    # and hand a worker's whole stake to the challenger.
    market = system.InferenceMarket
    params = list(market.params())
    params[7] = 10**30  # challenge_slash
    raise_slash = Proposal("Slash everything").call(market, "set_params", tuple(params))
    proposal_id = vote_through(governor, raise_slash, carol, [carol])
    assert governor.is_critical_proposal(proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated
    assert market.params()[7] == 100 * ETH


@pytest.mark.parametrize("contract,method,args", [
    ("DisputeCourt", "rule", lambda s: (1, False)),  # one of many escalated challenges of one worker's receipts
    ("WorkerRegistry", "set_min_stake", lambda s: (10**30,)),  # empties every committee: every dispute escalates
])
def test_attack__five_percent_forces_escalation_and_rules__defeated(system, governor, carol, contract, method, args):
    # Routine, these two would let a 5 % vote take a worker's whole stake: make every dispute escalate, open
    # challenge_slash-sized challenges until the stake is locked, then rule them all in one proposal.
    target = getattr(system, contract)
    proposal_id = vote_through(governor, Proposal(f"5 % {method}").call(target, method, *args(system)), carol, [carol])
    assert governor.is_critical_proposal(proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated
    assert system.WorkerRegistry.min_stake() == 1_000 * ETH


# ---------------------------------------------------------------- nested and forwarded calls


def _grant_calldata(timelock, account) -> bytes:
    return bytes(timelock.grantRole.encode_input(PROPOSER_ROLE, account))


@pytest.mark.parametrize(
    "method,args",
    [
        ("schedule", lambda tl, m: (tl.address, 0, _grant_calldata(tl, m), ZERO, SALT, 0)),
        ("execute", lambda tl, m: (tl.address, 0, _grant_calldata(tl, m), ZERO, SALT)),
        ("schedule_batch", lambda tl, m: ([tl.address], [0], [_grant_calldata(tl, m)], ZERO, SALT, 0)),
        ("execute_batch", lambda tl, m: ([tl.address], [0], [_grant_calldata(tl, m)], ZERO, SALT)),
    ],
)
def test_laundering__nested_timelock_call__critical_and_defeated(governor, timelock, carol, mallory, method, args):
    nested = Proposal(f"Nested grant via {method}").call(timelock, method, *args(timelock, mallory))
    proposal_id = vote_through(governor, nested, carol, [carol])
    assert governor.is_critical_proposal(proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated


def test_laundering__forwarding_contract__routine_but_gains_no_power(project, governor, timelock, deployer, carol, mallory):
    # A routine proposal may call any unmarked contract, but a forwarder calls
    # the timelock as itself, not as the timelock: it holds no role.
    forwarder = deployer.deploy(project.MockActor)
    forwarded = Proposal("Forward a grant").call(forwarder, "act", timelock.address, _grant_calldata(timelock, mallory))
    proposal_id = vote_through(governor, forwarded, carol, [carol])
    assert not governor.is_critical_proposal(proposal_id)
    assert state(governor, proposal_id) == ProposalState.Succeeded
    governor.queue(*forwarded.args(), sender=carol)
    to_eta(governor, proposal_id)
    with ape.reverts("access_control: account is missing role"):
        governor.execute(*forwarded.args(), sender=carol)
    assert not timelock.hasRole(PROPOSER_ROLE, mallory)
    assert not timelock.hasRole(PROPOSER_ROLE, forwarder)


# ---------------------------------------------------------------- classification


def _calls():
    """(label, contract name, method, args(system, mallory)) of every call that must be critical."""
    settings = [
        ("set_critical_policy", lambda s, m: (400, 432_000, 172_800)),
        (
            "set_critical_action",
            lambda s, m: (s.GovernanceToken.address, selector("set_minter(address,bool)"), False),
        ),
        ("updateQuorumNumerator", lambda s, m: (100,)),
        ("setVotingDelay", lambda s, m: (0,)),
        ("setVotingPeriod", lambda s, m: (1,)),
        ("setProposalThreshold", lambda s, m: (0,)),
        ("set_grace_period", lambda s, m: (1,)),
    ]
    timelock = [
        ("grantRole", lambda s, m: (PROPOSER_ROLE, m)),
        ("grantRole", lambda s, m: (EXECUTOR_ROLE, m)),
        ("grantRole", lambda s, m: (DEFAULT_ADMIN_ROLE, m)),
        ("revokeRole", lambda s, m: (CANCELLER_ROLE, s.Governor.address)),
        ("renounceRole", lambda s, m: (DEFAULT_ADMIN_ROLE, s.Timelock.address)),
        ("update_delay", lambda s, m: (0,)),
        ("cancel", lambda s, m: (ZERO,)),
    ]
    others = [
        ("GovernanceToken", "set_minter", lambda s, m: (m, True)),
        ("GovernanceToken", "transfer_ownership", lambda s, m: (m,)),
        ("GovernanceToken", "set_revenue_excluded", lambda s, m: (m, True)),
        ("GovernanceToken", "transfer", lambda s, m: (m, 1)),  # treasury tokens
        ("GovernanceToken", "approve", lambda s, m: (m, 1)),
        ("GovernanceToken", "delegate", lambda s, m: (m,)),  # treasury votes
        ("GovernanceToken", "burn", lambda s, m: (1,)),
        ("GovernanceToken", "mint", lambda s, m: (m, 1)),  # the timelock is a minter
        ("ModelShares", "mint_batch", lambda s, m: ([m], 1, [1])),
        ("ModelShares", "set_minter", lambda s, m: (m, True)),
        ("ModelShares", "transfer_ownership", lambda s, m: (m,)),
        ("ModelShares", "safeTransferFrom", lambda s, m: (s.Timelock.address, m, 1, 1, b"")),
        ("ModelShares", "setApprovalForAll", lambda s, m: (m, True)),
        ("ModelRegistry", "transfer_model", lambda s, m: (1, m)),
        ("ModelRegistry", "set_price", lambda s, m: (1, 0)),
        ("ModelRegistry", "publish_version", lambda s, m: (1, b"\x01" * 32, b"\x02" * 32, "", 0, [m], [1])),
        ("ModelRegistry", "retire_model", lambda s, m: (1,)),
        ("WorkerRegistry", "set_permissions", lambda s, m: (m, True, True)),
        ("WorkerRegistry", "transfer_ownership", lambda s, m: (m,)),
        ("WorkerRegistry", "set_unbonding_delay", lambda s, m: (0,)),
        ("WorkerRegistry", "set_min_stake", lambda s, m: (10**30,)),
        ("InferenceMarket", "sweep_treasury", lambda s, m: ()),
        ("InferenceMarket", "set_params", lambda s, m: (tuple(s.InferenceMarket.params()),)),
        ("PaymentChannels", "sweep_treasury", lambda s, m: ()),
        ("PaymentChannels", "set_params", lambda s, m: (tuple(s.PaymentChannels.params()),)),
        ("DisputeCourt", "set_params", lambda s, m: (tuple(s.DisputeCourt.params()),)),
        ("DisputeCourt", "set_client", lambda s, m: (m, True)),
        ("DisputeCourt", "rule", lambda s, m: (1, False)),
        ("DisputeCourt", "transfer_ownership", lambda s, m: (m,)),
        ("DataBounties", "open_bounty", lambda s, m: ("nc://spec", 1, 10**30, 2**40, [m], 1, 0)),
        ("DataBounties", "set_review_period", lambda s, m: (1,)),
        ("TrainingFund", "set_policy", lambda s, m: (tuple(s.TrainingFund.policy()),)),
        ("TrainingFund", "set_params", lambda s, m: (tuple(s.TrainingFund.params()),)),
        ("TrainingFund", "cancel", lambda s, m: (1,)),
        ("TrainingFund", "accept", lambda s, m: (1, 10**15)),
        ("TrainingFund", "reject", lambda s, m: (1,)),
    ]
    return (
        [(f"Governor.{name}", "Governor", name, args) for name, args in settings]
        + [(f"Timelock.{name}", "Timelock", name, args) for name, args in timelock]
        + [(f"{contract}.{name}", contract, name, args) for contract, name, args in others]
    )


CRITICAL_CALLS = _calls()


@pytest.mark.parametrize("label,contract,method,args", CRITICAL_CALLS, ids=[c[0] for c in CRITICAL_CALLS])
def test_classification__money_and_power_calls__critical_from_deployment(system, mallory, label, contract, method, args):
    target = getattr(system, contract)
    payload = encode(target, method, *args(system, mallory.address))
    assert system.Governor.is_critical_call(target, 0, payload), label


@pytest.mark.parametrize(
    "contract,method,args",
    [
        ("ModelRegistry", "approve_model", (1,)),
        ("ModelRegistry", "set_open_listing", (True,)),
        ("ModelRegistry", "suspend_model", (1, "broken")),
    ],
)
def test_classification__operational_calls__routine(system, contract, method, args):
    target = getattr(system, contract)
    payload = encode(target, method, *args)
    assert not system.Governor.is_critical_call(target, 0, payload)


def test_classification__asset_selector_on_any_target__critical(governor, token, mallory, carol):
    # e.g. a token the treasury received that governance never marked
    payload = bytes(token.transfer.encode_input(carol, 1))
    assert governor.is_critical_call(mallory, 0, payload)


def test_classification__plain_call_to_timelock_or_governor__critical(governor, timelock):
    assert governor.is_critical_call(timelock, 0, b"")
    assert governor.is_critical_call(governor, 0, b"")


def test_classification__treasury_eth__critical(governor, carol):
    assert governor.is_critical_call(carol, 1, b"")
    assert not governor.is_critical_call(carol, 0, b"")


# ---------------------------------------------------------------- the deploy table


def test_deploy_marks__every_table_entry_marked_at_deployment(system, governor):
    marks = critical_marks({name: getattr(system, name) for name in GOVERNED})
    for name, method, address, sel in marks:
        assert governor.is_critical_action(address, sel), f"{name}.{method}"
    marked = {(name, method) for name, method, _, _ in marks}
    for name, methods in CRITICAL_METHODS.items():
        for method in methods:
            assert (name, method) in marked
    # The names the issue lists, wherever they exist.
    for name in GOVERNED:
        abi_names = {abi.name for abi in getattr(system, name).contract_type.mutable_methods}
        for method in set(CRITICAL_EVERYWHERE) & abi_names:
            assert (name, method) in marked


def test_deploy_marks__table_names_missing_method__raises(system):
    with pytest.raises(ValueError, match="DataBounties has no method open_bounty"):
        critical_marks({"DataBounties": system.GovernanceToken})


def test_deploy_marks__constructor_logs_each_mark(system, governor):
    marks = critical_marks({name: getattr(system, name) for name in GOVERNED})
    logs = list(governor.CriticalActionSet.range(0, chain.blocks.head.number + 1))
    assert {(str(log.target), bytes(log.selector)) for log in logs if log.critical} >= {
        (address, sel) for _, _, address, sel in marks
    }


def test_deploy_marks__timelock_or_governor_target__reverts(project, deployer, token, timelock):
    with ape.reverts("Governor: governor and timelock calls are always critical"):
        deployer.deploy(
            project.Governor, "G", token, timelock, DAY, 5 * DAY, 0, 400, 10 * DAY, 2_000, 7 * DAY, 14 * DAY,
            [(timelock.address, selector("update_delay(uint256)"))],
        )


# ---------------------------------------------------------------- marks: only critical proposals move them


def test_unmark__needs_critical_bar__defeated_with_five_percent(governor, token, carol):
    sel = selector("set_revenue_excluded(address,bool)")
    unmark = Proposal("Unmark exclusions").call(governor, "set_critical_action", token.address, sel, False)
    proposal_id = vote_through(governor, unmark, carol, [carol])
    assert governor.is_critical_proposal(proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated
    assert governor.is_critical_action(token, sel)


def test_unmark__by_critical_proposal__marked_selector_becomes_routine_and_logs(governor, token, govern, carol):
    sel = selector("set_revenue_excluded(address,bool)")
    tx = govern((governor, "set_critical_action", token.address, sel, False))
    log = tx.decode_logs(governor.CriticalActionSet)[0]
    assert (log.target, bytes(log.selector), log.critical) == (token.address, sel, False)
    assert not governor.is_critical_action(token, sel)
    assert not governor.is_critical_call(token, 0, bytes(token.set_revenue_excluded.encode_input(carol, True)))


def test_unmark__built_in_asset_selector__stays_critical(governor, token, govern, carol):
    sel = selector("set_minter(address,bool)")
    govern((governor, "set_critical_action", token.address, sel, False))
    assert not governor.is_critical_action(token, sel)
    assert governor.is_critical_call(token, 0, bytes(token.set_minter.encode_input(carol, True)))


@pytest.mark.parametrize("target", ["Governor", "Timelock"])
def test_unmark__governor_or_timelock_target__reverts(system, governor, govern, target):
    with ape.reverts("Governor: governor and timelock calls are always critical"):
        govern((governor, "set_critical_action", getattr(system, target).address, selector("update_delay(uint256)"), False))
    assert governor.is_critical_call(system.Timelock, 0, bytes(system.Timelock.update_delay.encode_input(0)))


def test_mark__new_selector__makes_later_proposals_critical(system, governor, govern, alice):
    registry = system.ModelRegistry
    sel = selector("set_open_listing(bool)")
    assert not governor.is_critical_action(registry, sel)
    tx = govern((governor, "set_critical_action", registry.address, sel, True))
    assert tx.decode_logs(governor.CriticalActionSet)[0].critical
    assert governor.is_critical_action(registry, sel)
    proposal_id = propose(governor, Proposal("Open listing").call(registry, "set_open_listing", True), alice)
    assert governor.is_critical_proposal(proposal_id)


def test_mark__short_calldata__uses_zero_selector(governor, govern, carol):
    govern((governor, "set_critical_action", carol.address, b"\x00" * 4, True))
    assert governor.is_critical_call(carol, 0, b"\x01")


# ---------------------------------------------------------------- critical proposals that pass


def test_critical_proposal__passed__waits_critical_delay_then_executes(governor, token, alice, carol):
    mint_right = Proposal("Let carol mint").call(token, "set_minter", carol, True)
    proposal_id = pass_proposal(governor, mint_right, alice, [alice], execute=False)  # 30 % >= 20 %
    assert governor.proposalEta(proposal_id) == chain.blocks.head.timestamp + 7 * DAY
    advance(2 * DAY + 1)  # the routine delay is not enough
    with ape.reverts("Governor: timelock delay not passed"):
        governor.execute(*mint_right.args(), sender=alice)
    to_eta(governor, proposal_id)
    governor.execute(*mint_right.args(), sender=alice)
    assert token.is_minter(carol)


def test_critical_proposal__treasury_eth_with_critical_quorum__sent(governor, timelock, deployer, alice, carol):
    deployer.transfer(timelock, 5 * ETH)
    grant = Proposal("Grant carol 2 ETH").transfer_eth(carol, 2 * ETH)
    before = carol.balance
    tx = pass_proposal(governor, grant, alice, [alice])
    assert carol.balance == before + 2 * ETH
    assert timelock.balance == 3 * ETH
    proposal_id = grant.id(governor)
    assert governor.is_critical_proposal(proposal_id)
    assert tx.decode_logs(governor.ProposalExecuted)[0].proposalId == proposal_id


def test_critical_proposal__timelock_delay_change__needs_critical_bar(governor, timelock, govern, carol):
    shorten = Proposal("No timelock delay").call(timelock, "update_delay", 0)
    proposal_id = vote_through(governor, shorten, carol, [carol])
    assert state(governor, proposal_id) == ProposalState.Defeated
    assert timelock.get_minimum_delay() == 2 * DAY
    govern((timelock, "update_delay", DAY))  # alice and bob: 50 %
    assert timelock.get_minimum_delay() == DAY
