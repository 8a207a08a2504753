"""Governor: proposals, votes, states, timelock integration, per-action policy."""

import ape
import pytest
from ape import chain
from eth_utils import keccak

from offchain.deploy import CANCELLER_ROLE, DEFAULT_ADMIN_ROLE, EXECUTOR_ROLE, PROPOSER_ROLE
from offchain.governance import Proposal, ProposalState, Support
from tests.utils.governance import advance, pass_proposal, propose, to_active, to_deadline_passed, to_eta
from tests.utils.signing import ballot_signature

ETH = 10**18
DAY = 86_400


@pytest.fixture
def proposal(governor):
    return Proposal("Set the voting period to 3 days").call(governor, "setVotingPeriod", 3 * DAY)


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
    assert system.WorkerRegistry.governance() == timelock.address
    assert not token.is_minter(deployer) and not system.ModelShares.is_minter(deployer)
    # The system's own contracts hold exactly the roles the design gives them.
    assert token.is_minter(system.DataBounties) and system.ModelShares.is_minter(system.TrainingFund)
    for contract in ("InferenceMarket", "PaymentChannels", "TrainingFund"):
        assert system.WorkerRegistry.is_authorised(getattr(system, contract))
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


def test_lifecycle__succeeded_queued_executed__changes_setting(governor, timelock, proposal, alice):
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
    set_log = tx.decode_logs(governor.VotingPeriodSet)[0]
    assert (set_log.oldVotingPeriod, set_log.newVotingPeriod) == (5 * DAY, 3 * DAY)
    assert governor.votingPeriod() == 3 * DAY
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


# ---------------------------------------------------------------- per-action policy


def test_critical_action__marked_selector__needs_critical_quorum_and_period(governor, token, govern, alice, carol):
    selector = keccak(text="set_minter(address,bool)")[:4]
    tx = govern((governor, "set_critical_action", token.address, selector, True))
    assert tx.decode_logs(governor.CriticalActionSet)[0].critical
    assert governor.is_critical_action(token, selector)

    mint_right = Proposal("Let carol mint").call(token, "set_minter", carol, True)
    proposal_id = propose(governor, mint_right, alice)
    assert governor.is_critical_proposal(proposal_id)
    snapshot = governor.proposalSnapshot(proposal_id)
    assert governor.proposalDeadline(proposal_id) == snapshot + 10 * DAY
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=carol)  # 5M: routine quorum yes, critical no
    to_deadline_passed(governor, proposal_id)
    assert governor.proposal_quorum(proposal_id) == 20_000_000 * ETH
    assert governor.quorum(snapshot) == 4_000_000 * ETH
    assert state(governor, proposal_id) == ProposalState.Defeated


def test_critical_action__passed__waits_critical_delay(governor, token, govern, alice, carol):
    selector = keccak(text="set_minter(address,bool)")[:4]
    govern((governor, "set_critical_action", token.address, selector, True))
    mint_right = Proposal("Let carol mint, again").call(token, "set_minter", carol, True)
    proposal_id = pass_proposal(governor, mint_right, alice, [alice], execute=False)
    assert governor.proposalEta(proposal_id) == chain.blocks.head.timestamp + 7 * DAY
    advance(2 * DAY + 1)  # the routine delay is not enough
    with ape.reverts("Governor: timelock delay not passed"):
        governor.execute(*mint_right.args(), sender=alice)
    to_eta(governor, proposal_id)
    governor.execute(*mint_right.args(), sender=alice)
    assert token.is_minter(carol)


def test_critical_action__unmarked_selector__routine(governor, token, carol):
    assert not governor.is_critical_call(token, 0, token.set_minter.encode_input(carol, True))


def test_critical_action__treasury_eth__always_critical(governor, timelock, deployer, alice, carol):
    deployer.transfer(timelock, 5 * ETH)
    grant = Proposal("Grant carol 2 ETH").transfer_eth(carol, 2 * ETH)
    assert governor.is_critical_call(carol, 2 * ETH, b"")
    before = carol.balance
    tx = pass_proposal(governor, grant, alice, [alice])
    assert carol.balance == before + 2 * ETH
    assert timelock.balance == 3 * ETH
    proposal_id = grant.id(governor)
    assert governor.is_critical_proposal(proposal_id)
    assert tx.decode_logs(governor.ProposalExecuted)[0].proposalId == proposal_id


def test_critical_action__short_calldata__uses_zero_selector(governor, govern, carol):
    govern((governor, "set_critical_action", carol.address, b"\x00" * 4, True))
    assert governor.is_critical_call(carol, 0, b"\x01")
