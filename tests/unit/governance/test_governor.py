"""Governor: proposals, votes, states, timelock integration, per-action policy."""

import ape
import pytest
from ape import chain
from eth_utils import keccak

from offchain.deploy import CANCELLER_ROLE, DEFAULT_ADMIN_ROLE, EXECUTOR_ROLE, PROPOSER_ROLE
from offchain.governance import Proposal, ProposalState, Support, describe_state, find_proposal
from tests.utils.governance import advance, pass_proposal, propose, to_active, to_deadline_passed, to_eta
from tests.utils.signing import ballot_signature, extended_ballot_signature
from tests.utils.constants import DAY, ETH


@pytest.fixture
def proposal(system):
    """A routine proposal: open listing is an operational switch, not money or rules."""
    return Proposal("Open model listing").call(system.ModelRegistry, "set_open_listing", True)


def state(governor, proposal_id):
    return ProposalState(governor.state(proposal_id))


# ---------------------------------------------------------------- wiring


def test_deployment__deployer_keeps_no_power(system, timelock, token, governor, deployer):
    for role in (DEFAULT_ADMIN_ROLE, PROPOSER_ROLE, EXECUTOR_ROLE, CANCELLER_ROLE):
        assert not timelock.hasRole(role, deployer)
    for role in (PROPOSER_ROLE, EXECUTOR_ROLE, CANCELLER_ROLE):
        assert timelock.hasRole(role, governor)
    assert timelock.hasRole(DEFAULT_ADMIN_ROLE, timelock)
    assert token.owner() == timelock.address
    assert system.ModelShares.owner() == timelock.address
    assert system.WorkerRegistry.owner() == timelock.address
    assert not token.is_minter(deployer) and not system.ModelShares.is_minter(deployer)
    # The system's own contracts hold exactly the roles the design gives them.
    assert token.is_minter(system.DataBounties) and system.ModelShares.is_minter(system.TrainingFund)
    for contract in ("InferenceMarket", "PaymentChannels", "TrainingFund"):
        assert system.WorkerRegistry.can_slash(getattr(system, contract))
    # Reputation is written only by the contracts that judge outcomes: the channels never record.
    assert system.WorkerRegistry.can_record(system.InferenceMarket) and system.WorkerRegistry.can_record(system.TrainingFund)
    assert not system.WorkerRegistry.can_record(system.PaymentChannels)
    assert token.is_revenue_excluded(system.WorkerRegistry)


def test_metadata__speaks_igovernor(governor, token, timelock):
    assert governor.name() == "Neural Commons Governor"
    assert governor.version() == "1"
    assert governor.COUNTING_MODE() == "support=bravo&quorum=for,abstain"
    assert governor.CLOCK_MODE() == "mode=timestamp"
    assert governor.token() == token.address
    assert governor.timelock() == timelock.address
    assert governor.proposalNeedsQueuing(0)


def test_treasury__receives_eth(timelock, deployer):
    deployer.transfer(timelock, 3 * ETH)
    assert timelock.balance == 3 * ETH


# ---------------------------------------------------------------- propose


def test_propose__creates_pending_proposal_and_logs(governor, proposal, alice):
    tx = governor.propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description, sender=alice)
    proposal_id = proposal.id(governor)
    log = tx.decode_logs(governor.ProposalCreated)[0]
    assert log.proposalId == proposal_id
    assert log.proposer == alice.address
    assert [bytes(c) for c in log.calldatas] == proposal.calldatas
    assert log.description == proposal.description
    now = chain.blocks.head.timestamp
    assert governor.proposalSnapshot(proposal_id) == log.voteStart == now + DAY
    assert governor.proposalDeadline(proposal_id) == log.voteEnd == now + 6 * DAY
    assert governor.proposalProposer(proposal_id) == alice.address
    assert state(governor, proposal_id) == ProposalState.Pending
    assert not governor.is_critical_proposal(proposal_id)


def test_propose__empty__reverts(governor, alice):
    with ape.reverts("Governor: empty proposal"):
        governor.propose([], [], [], "nothing", sender=alice)


def test_propose__length_mismatch__reverts(governor, alice):
    with ape.reverts("Governor: invalid proposal length"):
        governor.propose([governor], [0, 0], [b""], "bad", sender=alice)


def test_propose__below_threshold__reverts(governor, proposal, mallory):
    with ape.reverts("Governor: proposer votes below threshold"):
        governor.propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description, sender=mallory)


def test_propose__same_proposal_twice__reverts(governor, proposal, alice):
    propose(governor, proposal, alice)
    with ape.reverts("Governor: proposal already exists"):
        propose(governor, proposal, alice)


def test_state__unknown_proposal__reverts(governor):
    with ape.reverts("Governor: unknown proposal"):
        governor.state(12345)


# ---------------------------------------------------------------- votes


def test_cast_vote__counts_weight_at_snapshot_and_logs(governor, proposal, alice, bob, carol):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=alice)
    governor.castVote(proposal_id, Support.Against, sender=bob)
    tx = governor.castVoteWithReason(proposal_id, Support.Abstain, "need more data", sender=carol)
    assert governor.proposalVotes(proposal_id) == (20_000_000 * ETH, 30_000_000 * ETH, 5_000_000 * ETH)
    assert governor.hasVoted(proposal_id, carol)
    log = tx.decode_logs(governor.VoteCast)[0]
    assert (log.voter, log.support, log.weight, log.reason) == (carol.address, 2, 5_000_000 * ETH, "need more data")


def test_cast_vote__while_pending__reverts(governor, proposal, alice):
    proposal_id = propose(governor, proposal, alice)
    with ape.reverts("Governor: vote not currently active"):
        governor.castVote(proposal_id, Support.For, sender=alice)


def test_cast_vote__after_deadline__reverts(governor, proposal, alice):
    proposal_id = propose(governor, proposal, alice)
    to_deadline_passed(governor, proposal_id)
    with ape.reverts("Governor: vote not currently active"):
        governor.castVote(proposal_id, Support.For, sender=alice)


def test_cast_vote__invalid_type__reverts(governor, proposal, alice):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    with ape.reverts("Governor: invalid vote type"):
        governor.castVote(proposal_id, 3, sender=alice)


def test_cast_vote__twice__reverts(governor, proposal, alice):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=alice)
    with ape.reverts("Governor: vote already cast"):
        governor.castVote(proposal_id, Support.Against, sender=alice)


def test_cast_vote__tokens_bought_after_snapshot__carry_no_weight(governor, token, proposal, alice, deployer, mallory):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    # A flash purchase after the snapshot: mallory gets 40M and delegates to herself.
    token.transfer(mallory, 40_000_000 * ETH, sender=deployer)
    token.invoke_transaction("delegate", mallory, sender=mallory)
    tx = governor.castVote(proposal_id, Support.Against, sender=mallory)
    assert tx.decode_logs(governor.VoteCast)[0].weight == 0
    assert governor.proposalVotes(proposal_id)[0] == 0


def test_cast_vote__tokens_moved_after_snapshot__seller_keeps_snapshot_weight(governor, token, proposal, alice, bob):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    token.transfer(bob, 30_000_000 * ETH, sender=alice)  # the same tokens cannot vote twice
    governor.castVote(proposal_id, Support.For, sender=alice)
    governor.castVote(proposal_id, Support.Against, sender=bob)
    assert governor.proposalVotes(proposal_id) == (20_000_000 * ETH, 30_000_000 * ETH, 0)


def _ballot(governor, voter, proposal_id, support, *, nonce=None, chain_id=None, verifying_contract=None):
    return ballot_signature(
        voter,
        governor,
        proposal_id,
        support,
        governor.nonces(voter) if nonce is None else nonce,
        chain_id=chain.chain_id if chain_id is None else chain_id,
        verifying_contract=verifying_contract,
    )


def test_cast_vote_by_sig__relayed__counts_for_voter(governor, proposal, alice, mallory):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    signature = _ballot(governor, alice, proposal_id, Support.For)
    tx = governor.castVoteBySig(proposal_id, Support.For, alice, signature, sender=mallory)
    assert tx.decode_logs(governor.VoteCast)[0].voter == alice.address
    assert governor.proposalVotes(proposal_id)[1] == 30_000_000 * ETH
    assert governor.nonces(alice) == 1


def test_cast_vote_by_sig__reused_nonce__reverts(governor, proposal, alice, bob, mallory):
    first = propose(governor, proposal, alice)
    second = propose(governor, Proposal("another").call(governor, "setVotingDelay", 3600), alice)
    to_active(governor, second)
    old = _ballot(governor, alice, second, Support.For, nonce=0)
    governor.castVoteBySig(first, Support.For, alice, _ballot(governor, alice, first, Support.For), sender=mallory)
    with ape.reverts("Governor: invalid signature"):
        governor.castVoteBySig(second, Support.For, alice, old, sender=mallory)


def test_cast_vote_by_sig__other_chain__reverts(governor, proposal, alice, mallory):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    signature = _ballot(governor, alice, proposal_id, Support.For, chain_id=chain.chain_id + 1)
    with ape.reverts("Governor: invalid signature"):
        governor.castVoteBySig(proposal_id, Support.For, alice, signature, sender=mallory)


def test_cast_vote_by_sig__other_governor__reverts(governor, token, proposal, alice, mallory):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    signature = _ballot(governor, alice, proposal_id, Support.For, verifying_contract=token.address)
    with ape.reverts("Governor: invalid signature"):
        governor.castVoteBySig(proposal_id, Support.For, alice, signature, sender=mallory)


def test_cast_vote_by_sig__other_support_than_signed__reverts(governor, proposal, alice, mallory):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    signature = _ballot(governor, alice, proposal_id, Support.For)
    with ape.reverts("Governor: invalid signature"):
        governor.castVoteBySig(proposal_id, Support.Against, alice, signature, sender=mallory)


# ---------------------------------------------------------------- outcomes


def test_lifecycle__succeeded_queued_executed__changes_setting(governor, timelock, system, proposal, alice):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    assert state(governor, proposal_id) == ProposalState.Active
    governor.castVote(proposal_id, Support.For, sender=alice)
    to_deadline_passed(governor, proposal_id)
    assert state(governor, proposal_id) == ProposalState.Succeeded
    tx = governor.queue(*proposal.args(), sender=alice)
    eta = chain.blocks.head.timestamp + timelock.get_minimum_delay()
    assert tx.decode_logs(governor.ProposalQueued)[0].etaSeconds == eta == governor.proposalEta(proposal_id)
    assert state(governor, proposal_id) == ProposalState.Queued
    to_eta(governor, proposal_id)
    tx = governor.execute(*proposal.args(), sender=alice)
    assert tx.decode_logs(governor.ProposalExecuted)[0].proposalId == proposal_id
    set_log = tx.decode_logs(system.ModelRegistry.OpenListingSet)[0]
    assert (set_log.old_open_listing, set_log.new_open_listing) == (False, True)
    assert system.ModelRegistry.open_listing()
    assert state(governor, proposal_id) == ProposalState.Executed


def test_outcome__no_quorum__defeated(governor, token, proposal, alice, deployer, mallory):
    token.transfer(mallory, 3_000_000 * ETH, sender=deployer)  # 3M < 4M quorum
    token.invoke_transaction("delegate", mallory, sender=mallory)
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=mallory)
    to_deadline_passed(governor, proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated
    with ape.reverts("Governor: proposal not successful"):
        governor.queue(*proposal.args(), sender=alice)


def test_outcome__more_against__defeated(governor, proposal, alice, bob, carol):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=bob)
    governor.castVote(proposal_id, Support.Against, sender=alice)
    to_deadline_passed(governor, proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated


def test_outcome__tie__defeated(governor, token, proposal, alice, bob, mallory):
    token.transfer(mallory, 10_000_000 * ETH, sender=alice)
    token.invoke_transaction("delegate", mallory, sender=mallory)
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=alice)  # 20M
    governor.castVote(proposal_id, Support.Against, sender=bob)  # 20M
    to_deadline_passed(governor, proposal_id)
    assert state(governor, proposal_id) == ProposalState.Defeated


def test_outcome__abstain_counts_to_quorum_only(governor, proposal, alice, carol, token, deployer, mallory):
    token.transfer(mallory, 1 * ETH, sender=deployer)
    token.invoke_transaction("delegate", mallory, sender=mallory)
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=mallory)  # 1 token For
    governor.castVote(proposal_id, Support.Abstain, sender=carol)  # 5M reach quorum
    to_deadline_passed(governor, proposal_id)
    assert state(governor, proposal_id) == ProposalState.Succeeded


def test_execute__before_queue__reverts(governor, proposal, alice):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=alice)
    to_deadline_passed(governor, proposal_id)
    with ape.reverts("Governor: proposal not queued"):
        governor.execute(*proposal.args(), sender=alice)


def test_execute__before_eta__reverts(governor, proposal, alice):
    pass_proposal(governor, proposal, alice, [alice], execute=False)
    with ape.reverts("Governor: timelock delay not passed"):
        governor.execute(*proposal.args(), sender=alice)


def test_execute__after_grace_period__expired(governor, proposal, alice):
    proposal_id = pass_proposal(governor, proposal, alice, [alice], execute=False)
    to_eta(governor, proposal_id)
    advance(governor.grace_period() + 1)
    assert state(governor, proposal_id) == ProposalState.Expired
    with ape.reverts("Governor: proposal expired"):
        governor.execute(*proposal.args(), sender=alice)


def test_execute__twice__reverts(governor, proposal, alice):
    pass_proposal(governor, proposal, alice, [alice])
    with ape.reverts("Governor: proposal not queued"):
        governor.execute(*proposal.args(), sender=alice)


def test_queue__twice__reverts(governor, proposal, alice):
    pass_proposal(governor, proposal, alice, [alice], execute=False)
    with ape.reverts("Governor: proposal not successful"):
        governor.queue(*proposal.args(), sender=alice)


def test_execute__failing_action__reverts_whole_proposal(governor, proposal, alice):
    bad = Proposal("Set a zero voting period").call(governor, "setVotingDelay", 7).call(governor, "setVotingPeriod", 0)
    with ape.reverts("Governor: voting period is zero"):
        pass_proposal(governor, bad, alice, [alice])
    assert governor.votingDelay() == DAY


def test_timelock__direct_schedule_by_outsider__reverts(timelock, mallory):
    with ape.reverts("access_control: account is missing role"):
        timelock.schedule(mallory, 0, b"", b"\x00" * 32, b"\x00" * 32, 2 * DAY, sender=mallory)


# ---------------------------------------------------------------- cancel


def test_cancel__by_proposer_while_pending__canceled(governor, proposal, alice):
    proposal_id = propose(governor, proposal, alice)
    tx = governor.cancel(*proposal.args(), sender=alice)
    assert tx.decode_logs(governor.ProposalCanceled)[0].proposalId == proposal_id
    assert state(governor, proposal_id) == ProposalState.Canceled
    to_active(governor, proposal_id)
    with ape.reverts("Governor: vote not currently active"):
        governor.castVote(proposal_id, Support.For, sender=alice)


def test_cancel__by_other__reverts(governor, proposal, alice, bob):
    propose(governor, proposal, alice)
    with ape.reverts("Governor: caller is not the proposer"):
        governor.cancel(*proposal.args(), sender=bob)


def test_cancel__once_active__reverts(governor, proposal, alice):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    with ape.reverts("Governor: proposal not pending"):
        governor.cancel(*proposal.args(), sender=alice)


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "method,args",
    [
        ("setVotingDelay", (1,)),
        ("setVotingPeriod", (1,)),
        ("setProposalThreshold", (1,)),
        ("updateQuorumNumerator", (1,)),
        ("set_critical_policy", (5000, 10 * DAY, 7 * DAY)),
        ("set_grace_period", (1,)),
        ("set_critical_action", ("0x0000000000000000000000000000000000000001", b"\x12\x34\x56\x78", True)),
    ],
)
def test_settings__called_directly__reverts(governor, deployer, method, args):
    with ape.reverts("Governor: caller is not the timelock"):
        getattr(governor, method)(*args, sender=deployer)


def test_settings__by_proposal__change_and_log(governor, govern):
    tx = govern(
        (governor, "setVotingDelay", 3600),
        (governor, "setProposalThreshold", 5 * ETH),
        (governor, "updateQuorumNumerator", 1_000),
        (governor, "set_critical_policy", 3_000, 12 * DAY, 9 * DAY),
        (governor, "set_grace_period", 20 * DAY),
    )
    assert governor.votingDelay() == 3600
    assert governor.proposalThreshold() == 5 * ETH
    assert governor.quorum_bps() == 1_000
    assert (governor.critical_quorum_bps(), governor.critical_voting_period(), governor.critical_delay()) == (
        3_000,
        12 * DAY,
        9 * DAY,
    )
    assert governor.grace_period() == 20 * DAY
    assert tx.decode_logs(governor.QuorumNumeratorUpdated)[0].newQuorumNumerator == 1_000
    log = tx.decode_logs(governor.CriticalPolicySet)[0]
    assert (log.old_quorum_bps, log.new_quorum_bps) == (2_000, 3_000)


@pytest.mark.parametrize(
    "call,reason",
    [
        (("setVotingPeriod", 0), "Governor: voting period is zero"),
        (("updateQuorumNumerator", 0), "Governor: quorum out of range"),
        (("updateQuorumNumerator", 10_001), "Governor: quorum out of range"),
        (("updateQuorumNumerator", 2_001), "Governor: critical quorum below routine quorum"),
        (("set_critical_policy", 10_001, 10 * DAY, 0), "Governor: critical quorum above 100%"),
        (("set_critical_policy", 2_000, 4 * DAY, 0), "Governor: critical period below routine period"),
        (("setVotingPeriod", 11 * DAY), "Governor: critical period below routine period"),
        (("set_grace_period", 0), "Governor: grace period is zero"),
    ],
)
def test_settings__incoherent_policy__reverts(governor, govern, call, reason):
    with ape.reverts(reason):
        govern((governor, *call))


# ---------------------------------------------------------------- quorum history


def test_quorum_history__deployment__one_checkpoint(governor):
    assert governor.num_quorum_checkpoints() == 1
    assert governor.quorumNumerator() == 400
    assert governor.critical_quorum_numerator() == 2_000
    assert governor.quorumDenominator() == 10_000


def test_quorum_history__settings_change__old_timepoints_keep_their_bar(governor, token, govern, alice):
    before = chain.blocks.head.timestamp
    old = propose(governor, Proposal("Send alice nothing").call(token, "transfer", alice, 0), alice)
    govern((governor, "updateQuorumNumerator", 500), (governor, "set_critical_policy", 2_500, 10 * DAY, 7 * DAY))
    first = chain.blocks.head.timestamp
    tx = govern((governor, "updateQuorumNumerator", 800))
    second = chain.blocks.head.timestamp
    assert tx.decode_logs(governor.QuorumNumeratorUpdated)[0].oldQuorumNumerator == 500
    advance(1)
    # Two setters in one transaction make one checkpoint.
    assert governor.num_quorum_checkpoints() == 3
    assert governor.quorum_checkpoint(1) == (first, 500, 2_500)
    assert governor.quorum_checkpoint(2) == (second, 800, 2_500)
    for timepoint, routine, critical in (
        (0, 400, 2_000),  # before deployment: the deployment settings
        (before, 400, 2_000),
        (first - 1, 400, 2_000),
        (first, 500, 2_500),
        (second - 1, 500, 2_500),
        (second, 800, 2_500),
    ):
        assert governor.quorumNumerator(timepoint) == routine
        assert governor.critical_quorum_numerator(timepoint) == critical
    assert governor.quorum(before) == 4_000_000 * ETH
    assert governor.critical_quorum(before) == 20_000_000 * ETH
    assert governor.quorum(first) == 5_000_000 * ETH
    assert governor.critical_quorum(first) == 25_000_000 * ETH
    assert governor.quorum(second) == 8_000_000 * ETH
    # A proposal keeps the bar it was created with.
    assert governor.proposal_quorum_bps(old) == 2_000  # a token transfer is critical
    assert governor.proposal_quorum(old) == 20_000_000 * ETH


def test_quorum_history__checkpoint_out_of_range__reverts(governor):
    with ape.reverts("Governor: checkpoint out of range"):
        governor.quorum_checkpoint(1)


def test_quorum__future_timepoint__reverts(governor):
    with ape.reverts("GovernanceToken: future lookup"):
        governor.quorum(chain.pending_timestamp + 100)


# ---------------------------------------------------------------- long descriptions


def _markdown(size: int) -> str:
    head = "# Fund the digits dataset\n\n## Motivation\n\n"
    body = "".join(f"- item {i}: label the next batch of handwritten digits and publish them\n" for i in range(400))
    text = (head + body) * (size // len(head + body) + 1)
    return text[:size]


def test_propose__20000_byte_markdown__accepted_and_logged(governor, system, alice):
    description = _markdown(20_000)
    assert len(description.encode()) == 20_000
    proposal = Proposal(description).call(system.ModelRegistry, "set_open_listing", True)
    tx = governor.propose(proposal.targets, proposal.values, proposal.calldatas, description, sender=alice)
    log = tx.decode_logs(governor.ProposalCreated)[0]
    assert log.description == description
    assert log.proposalId == proposal.id(governor)
    assert governor.proposalProposer(proposal.id(governor)) == alice.address


def test_propose__description_at_bound__accepted(governor, system, alice):
    proposal = Proposal(_markdown(32_768)).call(system.ModelRegistry, "set_open_listing", True)
    propose(governor, proposal, alice)
    assert state(governor, proposal.id(governor)) == ProposalState.Pending


def test_propose__description_over_bound__reverts(governor, system, alice):
    proposal = Proposal(_markdown(32_769)).call(system.ModelRegistry, "set_open_listing", True)
    with ape.reverts():
        propose(governor, proposal, alice)


# ---------------------------------------------------------------- ERC-165 and the rest of IGovernor

# OpenZeppelin 5.0's IGovernor functions (test/utils/introspection/SupportsInterface.behavior.js);
# 5.3 adds getProposalId. type(IGovernor).interfaceId is the XOR of their selectors.
IGOVERNOR = [
    "name()",
    "version()",
    "COUNTING_MODE()",
    "hashProposal(address[],uint256[],bytes[],bytes32)",
    "state(uint256)",
    "proposalThreshold()",
    "proposalSnapshot(uint256)",
    "proposalDeadline(uint256)",
    "proposalProposer(uint256)",
    "proposalEta(uint256)",
    "proposalNeedsQueuing(uint256)",
    "votingDelay()",
    "votingPeriod()",
    "quorum(uint256)",
    "getVotes(address,uint256)",
    "getVotesWithParams(address,uint256,bytes)",
    "hasVoted(uint256,address)",
    "propose(address[],uint256[],bytes[],string)",
    "queue(address[],uint256[],bytes[],bytes32)",
    "execute(address[],uint256[],bytes[],bytes32)",
    "cancel(address[],uint256[],bytes[],bytes32)",
    "castVote(uint256,uint8)",
    "castVoteWithReason(uint256,uint8,string)",
    "castVoteWithReasonAndParams(uint256,uint8,string,bytes)",
    "castVoteBySig(uint256,uint8,address,bytes)",
    "castVoteWithReasonAndParamsBySig(uint256,uint8,address,string,bytes,bytes)",
]
IGOVERNOR_5_3 = [*IGOVERNOR, "getProposalId(address[],uint256[],bytes[],bytes32)"]


def _interface_id(signatures) -> bytes:
    value = 0
    for signature in signatures:
        value ^= int.from_bytes(keccak(text=signature)[:4], "big")
    return value.to_bytes(4, "big")


def test_supports_interface__erc165_and_igovernor__true(governor):
    assert _interface_id(IGOVERNOR).hex() == "65455a86"
    assert governor.supportsInterface(_interface_id(["supportsInterface(bytes4)"]))
    assert governor.supportsInterface(_interface_id(IGOVERNOR))
    assert governor.supportsInterface(_interface_id(IGOVERNOR_5_3))


def test_supports_interface__other_ids__false(governor):
    assert not governor.supportsInterface(b"\xff\xff\xff\xff")
    assert not governor.supportsInterface(_interface_id(IGOVERNOR[:-1]))
    assert not governor.supportsInterface(_interface_id(["balanceOf(address)", "ownerOf(uint256)"]))


def test_supports_interface__every_igovernor_function__implemented(governor):
    abi = {method.selector for method in governor.contract_type.methods}
    assert set(IGOVERNOR_5_3) <= abi


def test_get_proposal_id__equals_hash_proposal(governor, proposal):
    assert governor.getProposalId(*proposal.args()) == proposal.id(governor)


def test_get_votes_with_params__equals_get_votes(governor, alice):
    timepoint = chain.blocks.head.timestamp - 1
    assert governor.getVotesWithParams(alice, timepoint, b"\x01") == governor.getVotes(alice, timepoint)
    assert governor.getVotes(alice, timepoint) == 30_000_000 * ETH


def test_cast_vote_with_params__params__logs_vote_cast_with_params(governor, proposal, alice):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    tx = governor.castVoteWithReasonAndParams(proposal_id, Support.For, "yes", b"\x01\x02", sender=alice)
    log = tx.decode_logs(governor.VoteCastWithParams)[0]
    assert (log.voter, log.support, log.weight, log.reason, bytes(log.params)) == (
        alice.address,
        1,
        30_000_000 * ETH,
        "yes",
        b"\x01\x02",
    )
    assert not tx.decode_logs(governor.VoteCast)
    assert governor.proposalVotes(proposal_id) == (0, 30_000_000 * ETH, 0)


def test_cast_vote_with_params__empty_params__logs_vote_cast(governor, proposal, bob):
    proposal_id = propose(governor, proposal, bob)
    to_active(governor, proposal_id)
    tx = governor.castVoteWithReasonAndParams(proposal_id, Support.Against, "no", b"", sender=bob)
    assert tx.decode_logs(governor.VoteCast)[0].reason == "no"
    assert not tx.decode_logs(governor.VoteCastWithParams)
    assert governor.proposalVotes(proposal_id) == (20_000_000 * ETH, 0, 0)


def test_cast_vote_with_params_by_sig__relayed__counts_for_voter(governor, proposal, alice, mallory):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    signature = extended_ballot_signature(alice, governor, proposal_id, Support.For, "long reason", b"\x05", 0,
                                          chain_id=chain.chain_id)
    tx = governor.castVoteWithReasonAndParamsBySig(
        proposal_id, Support.For, alice, "long reason", b"\x05", signature, sender=mallory
    )
    log = tx.decode_logs(governor.VoteCastWithParams)[0]
    assert (log.voter, log.reason, bytes(log.params)) == (alice.address, "long reason", b"\x05")
    assert governor.proposalVotes(proposal_id)[1] == 30_000_000 * ETH
    assert governor.nonces(alice) == 1


def test_cast_vote_with_params_by_sig__other_params_than_signed__reverts(governor, proposal, alice, mallory):
    proposal_id = propose(governor, proposal, alice)
    to_active(governor, proposal_id)
    signature = extended_ballot_signature(alice, governor, proposal_id, Support.For, "r", b"\x05", 0,
                                          chain_id=chain.chain_id)
    with ape.reverts("Governor: invalid signature"):
        governor.castVoteWithReasonAndParamsBySig(proposal_id, Support.For, alice, "r", b"\x06", signature, sender=mallory)
    assert governor.nonces(alice) == 0


def test_describe_state__critical_proposal__reports_its_own_bar(governor, alice):
    proposal = Proposal("Raise the threshold").call(governor, "setProposalThreshold", 1)
    proposal_id = propose(governor, proposal, alice)
    info = describe_state(governor, proposal_id)
    assert (info["critical"], info["quorum_bps"], info["state"]) == (True, 2_000, "Pending")
    assert info["deadline"] - info["snapshot"] == 10 * DAY


def test_find_proposal__long_description__rebuilt_from_event(governor, system, alice):
    proposal = Proposal(_markdown(20_000)).call(system.ModelRegistry, "set_open_listing", True)
    proposal_id = propose(governor, proposal, alice)
    found = find_proposal(governor, proposal_id)
    assert found.description == proposal.description
    assert found.id(governor) == proposal_id
