# pragma version ~=0.4.3
"""
@title Neural Commons governor
@license MIT
@notice Speaks the IGovernor ABI (OpenZeppelin 5 / Compound Bravo counting)
        so existing DAO front-ends can read and drive it. Votes are read
        from the token's checkpoints at the proposal snapshot; quorum is a
        fraction of the total supply at that snapshot, counting For and
        Abstain. Succeeded proposals are queued in and executed by the
        Timelock, which owns every governed setter.

        Per-action policy: an action is critical when it sends treasury
        ETH, targets the Governor or the Timelock (their settings, roles,
        delay and the critical policy and marks themselves), calls a
        selector that moves assets or hands over a contract on any target
        (`_ASSET_SELECTORS`), or matches a (target, selector) mark. The
        deploy script marks the other contracts' money and power setters in
        the constructor, so they are critical from deployment. A proposal
        with any critical action needs the critical quorum, votes for the
        critical voting period and waits the critical timelock delay; since
        every change of those bars (and every unmarking) is itself critical,
        no routine proposal can make a critical action cheaper.
        Each action is its own timelock operation, chained to the one before
        by `predecessor`: snekmate's batch entry points size memory for 255
        payloads of 1 KiB and cost about 1.65M gas per queue or execute,
        single operations cost a few tens of thousands. `execute` runs
        them all in one transaction, so a proposal still succeeds or
        reverts as a whole.
@custom:security A proposal's quorum and voting period are fixed when it is
        created, so a later policy change cannot move the goalposts of a
        vote in progress; `proposal_quorum(id)` is its bar. `quorum(t)` and
        `critical_quorum(t)` read a checkpoint history of the settings, so
        the bar shown for an old timepoint never changes. Queued proposals
        expire after the grace period. A mark added while a routine
        proposal is pending does not make that proposal critical.
"""

from ethereum.ercs import IERC165
implements: IERC165

from snekmate.utils import ecdsa

from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator

exports: eip712_domain_separator.eip712Domain


interface IVotes:
    def getPastVotes(account: address, timepoint: uint256) -> uint256: view
    def getPastTotalSupply(timepoint: uint256) -> uint256: view


interface ITimelock:
    def schedule(
        target: address, amount: uint256, payload: Bytes[MAX_CALLDATA], predecessor: bytes32, salt: bytes32, delay: uint256
    ): nonpayable
    def execute(target: address, amount: uint256, payload: Bytes[MAX_CALLDATA], predecessor: bytes32, salt: bytes32): payable
    def get_minimum_delay() -> uint256: view


MAX_ACTIONS: constant(uint256) = 16  # calls per proposal
MAX_CALLDATA: constant(uint256) = 1_024  # bytes per call (the timelock's bound)
MAX_DESCRIPTION: constant(uint256) = 32_768  # bytes: long markdown proposals fit
MAX_REASON: constant(uint256) = 1_024  # bytes
MAX_PARAMS: constant(uint256) = 1_024  # bytes of vote params (accepted, not interpreted)
MAX_INITIAL_MARKS: constant(uint256) = 64  # critical marks set at deployment
BPS: constant(uint256) = 10_000  # basis points in one
TIMEPOINT_SHIFT: constant(uint256) = 208  # bits below the timepoint in a quorum checkpoint
CRITICAL_SHIFT: constant(uint256) = 104  # bits below the critical quorum in a quorum checkpoint
BPS_MASK: constant(uint256) = 2**104 - 1  # one quorum field of a checkpoint
SEARCH_STEPS: constant(uint256) = 64  # binary-search bound: enough for 2**64 checkpoints

# Selectors that are critical on any target: they move assets the treasury
# holds (ERC-20, ERC-721, ERC-1155, votes) or hand over a contract.
_ASSET_SELECTORS: constant(bytes4[19]) = [
    0xa9059cbb,  # transfer(address,uint256)
    0x23b872dd,  # transferFrom(address,address,uint256)
    0x095ea7b3,  # approve(address,uint256)
    0x39509351,  # increaseAllowance(address,uint256)
    0x42842e0e,  # safeTransferFrom(address,address,uint256)
    0xb88d4fde,  # safeTransferFrom(address,address,uint256,bytes)
    0xf242432a,  # safeTransferFrom(address,address,uint256,uint256,bytes)
    0x2eb2c2d6,  # safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)
    0xa22cb465,  # setApprovalForAll(address,bool)
    0x5c19a95c,  # delegate(address): the treasury's votes
    0x42966c68,  # burn(uint256)
    0xf2fde38b,  # transferOwnership(address)
    0xf0350c04,  # transfer_ownership(address)
    0x715018a6,  # renounceOwnership()
    0xb15e13ee,  # renounce_ownership()
    0x2f2ff15d,  # grantRole(bytes32,address)
    0xd547741f,  # revokeRole(bytes32,address)
    0x36568abe,  # renounceRole(bytes32,address)
    0x7c3bec3c,  # set_minter(address,bool)
]

# ERC-165 ids this contract answers for.
_ERC165_ID: constant(bytes4) = 0x01ffc9a7
# type(IGovernor).interfaceId of OpenZeppelin 5.0-5.2 (26 functions) and of
# 5.3+ (those plus getProposalId); tests recompute both from the signatures.
_IGOVERNOR_ID: constant(bytes4) = 0x65455a86
_IGOVERNOR_5_3_ID: constant(bytes4) = 0xcdbdfcee

# IGovernor.ProposalState
PENDING: constant(uint8) = 0
ACTIVE: constant(uint8) = 1
CANCELED: constant(uint8) = 2
DEFEATED: constant(uint8) = 3
SUCCEEDED: constant(uint8) = 4
QUEUED: constant(uint8) = 5
EXPIRED: constant(uint8) = 6
EXECUTED: constant(uint8) = 7

# Vote types (GovernorCountingSimple)
VOTE_AGAINST: constant(uint8) = 0
VOTE_FOR: constant(uint8) = 1
VOTE_ABSTAIN: constant(uint8) = 2

_BALLOT_TYPE_HASH: constant(bytes32) = keccak256("Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)")
_EXTENDED_BALLOT_TYPE_HASH: constant(bytes32) = keccak256(
    "ExtendedBallot(uint256 proposalId,uint8 support,address voter,uint256 nonce,string reason,bytes params)"
)


token: public(immutable(IVotes))
timelock: public(immutable(ITimelock))


struct CriticalAction:
    target: address
    selector: bytes4


struct Proposal:
    proposer: address
    vote_start: uint256  # the snapshot timepoint
    vote_end: uint256
    quorum_bps: uint256
    critical: bool
    eta: uint256  # zero until queued
    executed: bool
    canceled: bool
    against_votes: uint256
    for_votes: uint256
    abstain_votes: uint256


_name: String[50]
votingDelay: public(uint256)  # seconds between proposal and snapshot
votingPeriod: public(uint256)  # seconds a routine proposal is open
proposalThreshold: public(uint256)  # votes needed to propose
quorum_bps: public(uint256)  # routine quorum, basis points of past supply
critical_voting_period: public(uint256)  # seconds a critical proposal is open
critical_quorum_bps: public(uint256)
critical_delay: public(uint256)  # timelock delay of a critical proposal, seconds
grace_period: public(uint256)  # seconds a queued proposal stays executable after its eta
# Marks only; `is_critical_call` also applies the built-in rules.
is_critical_action: public(HashMap[address, HashMap[bytes4, bool]])
# History of (routine, critical) quorum: timepoint << 208 | critical << 104 | routine.
num_quorum_checkpoints: public(uint256)
_quorum_checkpoints: HashMap[uint256, uint256]
nonces: public(HashMap[address, uint256])
hasVoted: public(HashMap[uint256, HashMap[address, bool]])
_proposals: HashMap[uint256, Proposal]


event ProposalCreated:
    proposalId: uint256
    proposer: address
    targets: DynArray[address, MAX_ACTIONS]
    values: DynArray[uint256, MAX_ACTIONS]
    signatures: DynArray[String[1], MAX_ACTIONS]
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS]
    voteStart: uint256
    voteEnd: uint256
    description: String[MAX_DESCRIPTION]


event ProposalQueued:
    proposalId: uint256
    etaSeconds: uint256


event ProposalExecuted:
    proposalId: uint256


event ProposalCanceled:
    proposalId: uint256


event VoteCast:
    voter: indexed(address)
    proposalId: uint256
    support: uint8
    weight: uint256
    reason: String[MAX_REASON]


event VoteCastWithParams:
    voter: indexed(address)
    proposalId: uint256
    support: uint8
    weight: uint256
    reason: String[MAX_REASON]
    params: Bytes[MAX_PARAMS]


event VotingDelaySet:
    oldVotingDelay: uint256
    newVotingDelay: uint256


event VotingPeriodSet:
    oldVotingPeriod: uint256
    newVotingPeriod: uint256


event ProposalThresholdSet:
    oldProposalThreshold: uint256
    newProposalThreshold: uint256


event QuorumNumeratorUpdated:
    oldQuorumNumerator: uint256
    newQuorumNumerator: uint256


event CriticalPolicySet:
    old_quorum_bps: uint256
    new_quorum_bps: uint256
    old_voting_period: uint256
    new_voting_period: uint256
    old_delay: uint256
    new_delay: uint256


event GracePeriodSet:
    old_grace_period: uint256
    new_grace_period: uint256


event CriticalActionSet:
    target: indexed(address)
    selector: bytes4
    critical: bool


@deploy
def __init__(
    name_: String[50],
    token_: IVotes,
    timelock_: ITimelock,
    voting_delay: uint256,
    voting_period: uint256,
    proposal_threshold: uint256,
    quorum_bps_: uint256,
    critical_voting_period_: uint256,
    critical_quorum_bps_: uint256,
    critical_delay_: uint256,
    grace_period_: uint256,
    critical_actions: DynArray[CriticalAction, MAX_INITIAL_MARKS],
):
    """
    @param name_ Governor name, also its EIP-712 domain name.
    @param token_ The ERC-5805 votes token.
    @param timelock_ The timelock that executes proposals and owns the settings.
    @param voting_delay Seconds from proposal to snapshot.
    @param voting_period Seconds a routine proposal is open for votes.
    @param proposal_threshold Votes needed to propose.
    @param quorum_bps_ Routine quorum in basis points of past supply.
    @param critical_voting_period_ Seconds a critical proposal is open.
    @param critical_quorum_bps_ Critical quorum in basis points.
    @param critical_delay_ Timelock delay of critical proposals (at least the timelock minimum applies).
    @param grace_period_ Seconds a queued proposal stays executable.
    @param critical_actions (target, selector) pairs critical from deployment:
           the other contracts' money and power setters (see offchain/deploy.py).
    """
    eip712_domain_separator.__init__(name_, "1")
    token = token_
    timelock = timelock_
    self._name = name_
    self.votingDelay = voting_delay
    self.votingPeriod = voting_period
    self.proposalThreshold = proposal_threshold
    self.quorum_bps = quorum_bps_
    self.critical_voting_period = critical_voting_period_
    self.critical_quorum_bps = critical_quorum_bps_
    self.critical_delay = critical_delay_
    self.grace_period = grace_period_
    self._check_policy()
    self._push_quorum_checkpoint()
    for action: CriticalAction in critical_actions:
        self._set_critical_action(action.target, action.selector, True)


# ---------------------------------------------------------------- IGovernor: metadata


@external
@view
def name() -> String[50]:
    """
    @notice The governor's name.
    @return The Governor's name.
    """
    return self._name


@external
@pure
def version() -> String[1]:
    """
    @notice The governor's version (its EIP-712 domain version).
    @return The EIP-712 version.
    """
    return "1"


@external
@pure
def COUNTING_MODE() -> String[64]:
    """
    @notice Bravo counting: For, Against, Abstain; For and Abstain count to quorum.
    @return The IGovernor counting description.
    """
    return "support=bravo&quorum=for,abstain"


@external
@view
def clock() -> uint48:
    """
    @notice The ERC-6372 clock (timestamps, like the token).
    @return The current timepoint (a timestamp).
    """
    return convert(block.timestamp, uint48)


@external
@pure
def CLOCK_MODE() -> String[32]:
    """
    @notice The ERC-6372 clock mode.
    @return The ERC-6372 clock description.
    """
    return "mode=timestamp"


# ---------------------------------------------------------------- IGovernor: views


@external
@pure
def hashProposal(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @notice The proposal id: keccak256(abi.encode(targets, values, calldatas, descriptionHash)).
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Each call's data.
    @param descriptionHash keccak256 of the description.
    @return The proposal id.
    """
    return self._hash_proposal(targets, values, calldatas, descriptionHash)


@external
@view
def state(proposalId: uint256) -> uint8:
    """
    @notice The proposal's IGovernor state (Pending ... Executed).
    @param proposalId The proposal.
    @return Its ProposalState.
    """
    return self._state(proposalId)


@external
@view
def proposalSnapshot(proposalId: uint256) -> uint256:
    """
    @notice The timepoint at which votes and quorum are read.
    @param proposalId The proposal.
    @return The timepoint votes are counted at.
    """
    return self._proposals[proposalId].vote_start


@external
@view
def proposalDeadline(proposalId: uint256) -> uint256:
    """
    @notice The last timepoint at which votes are accepted.
    @param proposalId The proposal.
    @return The end of its voting period.
    """
    return self._proposals[proposalId].vote_end


@external
@view
def proposalProposer(proposalId: uint256) -> address:
    """
    @notice Who made the proposal.
    @param proposalId The proposal.
    @return Who proposed it.
    """
    return self._proposals[proposalId].proposer


@external
@view
def proposalEta(proposalId: uint256) -> uint256:
    """
    @notice When a queued proposal becomes executable (zero before queueing).
    @param proposalId The proposal.
    @return When it may execute (zero if not queued).
    """
    return self._proposals[proposalId].eta


@external
@pure
def proposalNeedsQueuing(proposalId: uint256) -> bool:
    """
    @notice Every proposal goes through the timelock.
    @param proposalId The proposal.
    @return True: every proposal goes through the timelock.
    """
    return True


@external
@view
def proposalVotes(proposalId: uint256) -> (uint256, uint256, uint256):
    """
    @notice (against, for, abstain) votes of the proposal.
    @param proposalId The proposal.
    @return (against, for, abstain) votes.
    """
    return (
        self._proposals[proposalId].against_votes,
        self._proposals[proposalId].for_votes,
        self._proposals[proposalId].abstain_votes,
    )


@external
@view
def is_critical_proposal(proposalId: uint256) -> bool:
    """
    @notice Whether the proposal falls under the critical policy.
    @param proposalId The proposal.
    @return Whether it carries a critical action.
    """
    return self._proposals[proposalId].critical


@external
@view
def proposal_quorum(proposalId: uint256) -> uint256:
    """
    @notice Votes (For + Abstain) the proposal needs, read at its snapshot.
    @param proposalId The proposal.
    @return Votes it needs.
    """
    return self._quorum_at(self._proposals[proposalId].vote_start, self._proposals[proposalId].quorum_bps)


@external
@view
def proposal_quorum_bps(proposalId: uint256) -> uint256:
    """
    @notice The proposal's own quorum in basis points, fixed when it was created.
    @param proposalId The proposal.
    @return Its quorum in basis points of the supply.
    """
    return self._proposals[proposalId].quorum_bps


@external
@view
def quorum(timepoint: uint256) -> uint256:
    """
    @notice Routine quorum (votes) that applied at a past `timepoint`, from the
            setting's history. A critical proposal's bar is `proposal_quorum`.
    @param timepoint A past timestamp.
    @return Routine quorum then, in votes.
    """
    return self._quorum_at(timepoint, self._routine_bps_at(timepoint))


@external
@view
def critical_quorum(timepoint: uint256) -> uint256:
    """
    @notice Critical quorum (votes) that applied at a past `timepoint`.
    @param timepoint A past timestamp.
    @return Critical quorum then, in votes.
    """
    return self._quorum_at(timepoint, self._critical_bps_at(timepoint))


@external
@view
def quorumNumerator(timepoint: uint256 = max_value(uint256)) -> uint256:
    """
    @notice Routine quorum in basis points at `timepoint` (now when omitted),
            as OpenZeppelin's GovernorVotesQuorumFraction reports it.
    @param timepoint A past timestamp.
    @return Routine quorum numerator then.
    """
    return self._routine_bps_at(timepoint)


@external
@pure
def quorumDenominator() -> uint256:
    """
    @notice Quorum numerators are basis points.
    @return The quorum denominator.
    """
    return BPS


@external
@view
def critical_quorum_numerator(timepoint: uint256 = max_value(uint256)) -> uint256:
    """
    @notice Critical quorum in basis points at `timepoint` (now when omitted).
    @param timepoint A past timestamp.
    @return Critical quorum numerator then.
    """
    return self._critical_bps_at(timepoint)


@external
@view
def quorum_checkpoint(index: uint256) -> (uint48, uint256, uint256):
    """
    @notice The `index`-th quorum checkpoint: (timepoint, routine bps, critical bps).
    @param index Which checkpoint.
    @return The checkpoint.
    """
    assert index < self.num_quorum_checkpoints, "Governor: checkpoint out of range"
    packed: uint256 = self._quorum_checkpoints[index]
    return convert(packed >> TIMEPOINT_SHIFT, uint48), packed & BPS_MASK, (packed >> CRITICAL_SHIFT) & BPS_MASK


@external
@view
def getVotes(account: address, timepoint: uint256) -> uint256:
    """
    @notice Votes of `account` at a past `timepoint`.
    @param account The voter.
    @param timepoint A past timestamp.
    @return Its votes then.
    """
    return staticcall token.getPastVotes(account, timepoint)


@external
@view
def getVotesWithParams(account: address, timepoint: uint256, params: Bytes[MAX_PARAMS]) -> uint256:
    """
    @notice Like `getVotes`; params are not interpreted.
    @param account The voter.
    @param timepoint A past timestamp.
    @param params Unused.
    @return Its votes then.
    """
    return staticcall token.getPastVotes(account, timepoint)


@external
@pure
def getProposalId(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @notice The id of the proposal with these details (OpenZeppelin 5.3); the same as `hashProposal`.
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Each call's data.
    @param descriptionHash keccak256 of the description.
    @return The proposal id.
    """
    return self._hash_proposal(targets, values, calldatas, descriptionHash)


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @notice ERC-165: true for ERC-165 itself and OpenZeppelin's IGovernor
            interface ids (5.0-5.2 and 5.3+).
    @param interface_id An ERC-165 interface id.
    @return Whether the Governor implements it.
    """
    return interface_id in [_ERC165_ID, _IGOVERNOR_ID, _IGOVERNOR_5_3_ID]


@external
@view
def is_critical_call(target: address, amount: uint256, payload: Bytes[MAX_CALLDATA]) -> bool:
    """
    @notice Whether one action would make a proposal critical.
    @param target Called contract.
    @param amount Wei sent.
    @param payload Call data.
    @return Whether the call is critical.
    """
    return self._is_critical_call(target, amount, payload)


# ---------------------------------------------------------------- IGovernor: actions


@external
def propose(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    description: String[MAX_DESCRIPTION],
) -> uint256:
    """
    @notice Proposes calls for the timelock to make.
    @return The proposal id.
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Each call's data.
    @param description The proposal text.
    """
    assert len(targets) > 0, "Governor: empty proposal"
    assert len(targets) == len(values) and len(targets) == len(calldatas), "Governor: invalid proposal length"
    threshold: uint256 = self.proposalThreshold
    if threshold > 0:
        votes: uint256 = staticcall token.getPastVotes(msg.sender, block.timestamp - 1)
        assert votes >= threshold, "Governor: proposer votes below threshold"

    proposal_id: uint256 = self._hash_proposal(targets, values, calldatas, keccak256(description))
    assert self._proposals[proposal_id].vote_start == 0, "Governor: proposal already exists"

    critical: bool = False
    for i: uint256 in range(len(targets), bound=MAX_ACTIONS):
        if self._is_critical_call(targets[i], values[i], calldatas[i]):
            critical = True
            break

    vote_start: uint256 = block.timestamp + self.votingDelay
    vote_end: uint256 = vote_start + self.votingPeriod
    quorum_bps_: uint256 = self.quorum_bps
    if critical:
        vote_end = vote_start + self.critical_voting_period
        quorum_bps_ = self.critical_quorum_bps
    self._proposals[proposal_id] = Proposal(
        proposer=msg.sender,
        vote_start=vote_start,
        vote_end=vote_end,
        quorum_bps=quorum_bps_,
        critical=critical,
        eta=0,
        executed=False,
        canceled=False,
        against_votes=0,
        for_votes=0,
        abstain_votes=0,
    )

    signatures: DynArray[String[1], MAX_ACTIONS] = []
    for _: address in targets:
        signatures.append("")
    log ProposalCreated(
        proposalId=proposal_id,
        proposer=msg.sender,
        targets=targets,
        values=values,
        signatures=signatures,
        calldatas=calldatas,
        voteStart=vote_start,
        voteEnd=vote_end,
        description=description,
    )
    return proposal_id


@external
def castVote(proposalId: uint256, support: uint8) -> uint256:
    """
    @notice Votes Against (0), For (1) or Abstain (2) with the caller's votes at the snapshot.
    @return The vote weight.
    @param proposalId The proposal.
    @param support 0 against, 1 for, 2 abstain.
    """
    return self._cast_vote(proposalId, msg.sender, support, "")


@external
def castVoteWithReason(proposalId: uint256, support: uint8, reason: String[MAX_REASON]) -> uint256:
    """
    @notice Like `castVote`, with a reason recorded in the event.
    @param proposalId The proposal.
    @param support 0 against, 1 for, 2 abstain.
    @param reason Why (emitted).
    @return The votes cast.
    """
    return self._cast_vote(proposalId, msg.sender, support, reason)


@external
def castVoteWithReasonAndParams(
    proposalId: uint256, support: uint8, reason: String[MAX_REASON], params: Bytes[MAX_PARAMS]
) -> uint256:
    """
    @notice Like `castVoteWithReason`; params are recorded in the event, not interpreted.
    @param proposalId The proposal.
    @param support 0 against, 1 for, 2 abstain.
    @param reason Why (emitted).
    @param params Unused (emitted).
    @return The votes cast.
    """
    return self._cast_vote_with_params(proposalId, msg.sender, support, reason, params)


@external
def castVoteBySig(proposalId: uint256, support: uint8, voter: address, signature: Bytes[65]) -> uint256:
    """
    @notice Casts `voter`'s vote from an EIP-712
            `Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)`
            signature; anyone may relay it.
    @param proposalId The proposal.
    @param support 0 against, 1 for, 2 abstain.
    @param voter The signer.
    @param signature Its EIP-712 Ballot signature.
    @return The votes cast.
    """
    nonce: uint256 = self.nonces[voter]
    struct_hash: bytes32 = keccak256(abi_encode(_BALLOT_TYPE_HASH, proposalId, support, voter, nonce))
    signer: address = ecdsa._recover_sig(eip712_domain_separator._hash_typed_data_v4(struct_hash), signature)
    assert signer == voter, "Governor: invalid signature"
    self.nonces[voter] = nonce + 1
    return self._cast_vote(proposalId, voter, support, "")


@external
def castVoteWithReasonAndParamsBySig(
    proposalId: uint256,
    support: uint8,
    voter: address,
    reason: String[MAX_REASON],
    params: Bytes[MAX_PARAMS],
    signature: Bytes[65],
) -> uint256:
    """
    @notice Casts `voter`'s vote from an EIP-712 `ExtendedBallot(uint256 proposalId,
            uint8 support,address voter,uint256 nonce,string reason,bytes params)`
            signature; anyone may relay it.
    @param proposalId The proposal.
    @param support 0 against, 1 for, 2 abstain.
    @param voter The signer.
    @param reason Why (emitted).
    @param params Unused (emitted).
    @param signature Its EIP-712 ExtendedBallot signature.
    @return The votes cast.
    """
    nonce: uint256 = self.nonces[voter]
    struct_hash: bytes32 = keccak256(
        abi_encode(
            _EXTENDED_BALLOT_TYPE_HASH, proposalId, support, voter, nonce, keccak256(reason), keccak256(params)
        )
    )
    signer: address = ecdsa._recover_sig(eip712_domain_separator._hash_typed_data_v4(struct_hash), signature)
    assert signer == voter, "Governor: invalid signature"
    self.nonces[voter] = nonce + 1
    return self._cast_vote_with_params(proposalId, voter, support, reason, params)


@external
def queue(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @notice Schedules a succeeded proposal in the timelock.
    @return The proposal id.
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Each call's data.
    @param descriptionHash keccak256 of the description.
    """
    proposal_id: uint256 = self._hash_proposal(targets, values, calldatas, descriptionHash)
    assert self._state(proposal_id) == SUCCEEDED, "Governor: proposal not successful"
    delay: uint256 = staticcall timelock.get_minimum_delay()
    if self._proposals[proposal_id].critical:
        delay = max(delay, self.critical_delay)
    eta: uint256 = block.timestamp + delay
    self._proposals[proposal_id].eta = eta
    predecessor: bytes32 = empty(bytes32)
    for i: uint256 in range(len(targets), bound=MAX_ACTIONS):
        salt: bytes32 = self._salt(descriptionHash, i)
        extcall timelock.schedule(targets[i], values[i], calldatas[i], predecessor, salt, delay)
        predecessor = self._operation_id(targets[i], values[i], calldatas[i], predecessor, salt)
    log ProposalQueued(proposalId=proposal_id, etaSeconds=eta)
    return proposal_id


@external
@payable
def execute(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @notice Has the timelock execute a queued proposal whose delay has passed.
    @return The proposal id.
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Each call's data.
    @param descriptionHash keccak256 of the description.
    """
    proposal_id: uint256 = self._hash_proposal(targets, values, calldatas, descriptionHash)
    current: uint8 = self._state(proposal_id)
    assert current != EXPIRED, "Governor: proposal expired"
    assert current == QUEUED, "Governor: proposal not queued"
    assert block.timestamp >= self._proposals[proposal_id].eta, "Governor: timelock delay not passed"
    # Marked before the external call: a reentrant execute finds it Executed.
    self._proposals[proposal_id].executed = True
    predecessor: bytes32 = empty(bytes32)
    for i: uint256 in range(len(targets), bound=MAX_ACTIONS):
        salt: bytes32 = self._salt(descriptionHash, i)
        # The treasury (timelock) pays each action's value; ETH sent with
        # this call is forwarded with the first action.
        forwarded: uint256 = 0
        if i == 0:
            forwarded = msg.value
        extcall timelock.execute(targets[i], values[i], calldatas[i], predecessor, salt, value=forwarded)
        predecessor = self._operation_id(targets[i], values[i], calldatas[i], predecessor, salt)
    log ProposalExecuted(proposalId=proposal_id)
    return proposal_id


@external
def cancel(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @notice The proposer withdraws a proposal before voting starts.
    @return The proposal id.
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Each call's data.
    @param descriptionHash keccak256 of the description.
    """
    proposal_id: uint256 = self._hash_proposal(targets, values, calldatas, descriptionHash)
    assert self._state(proposal_id) == PENDING, "Governor: proposal not pending"
    assert msg.sender == self._proposals[proposal_id].proposer, "Governor: caller is not the proposer"
    self._proposals[proposal_id].canceled = True
    log ProposalCanceled(proposalId=proposal_id)
    return proposal_id


# ---------------------------------------------------------------- settings (timelock only)


@external
def setVotingDelay(new_voting_delay: uint256):
    """
    @notice Sets the seconds between proposal and snapshot.
    @param new_voting_delay Seconds.
    """
    self._check_governance()
    log VotingDelaySet(oldVotingDelay=self.votingDelay, newVotingDelay=new_voting_delay)
    self.votingDelay = new_voting_delay


@external
def setVotingPeriod(new_voting_period: uint256):
    """
    @notice Sets the routine voting period in seconds.
    @param new_voting_period Seconds.
    """
    self._check_governance()
    log VotingPeriodSet(oldVotingPeriod=self.votingPeriod, newVotingPeriod=new_voting_period)
    self.votingPeriod = new_voting_period
    self._check_policy()


@external
def setProposalThreshold(new_proposal_threshold: uint256):
    """
    @notice Sets the votes needed to propose.
    @param new_proposal_threshold Votes.
    """
    self._check_governance()
    log ProposalThresholdSet(oldProposalThreshold=self.proposalThreshold, newProposalThreshold=new_proposal_threshold)
    self.proposalThreshold = new_proposal_threshold


@external
def updateQuorumNumerator(new_quorum_bps: uint256):
    """
    @notice Sets the routine quorum in basis points of past supply.
    @param new_quorum_bps Basis points of the supply.
    """
    self._check_governance()
    log QuorumNumeratorUpdated(oldQuorumNumerator=self.quorum_bps, newQuorumNumerator=new_quorum_bps)
    self.quorum_bps = new_quorum_bps
    self._check_policy()
    self._push_quorum_checkpoint()


@external
def set_critical_policy(new_quorum_bps: uint256, new_voting_period: uint256, new_delay: uint256):
    """
    @notice Sets the quorum, voting period and timelock delay of critical proposals.
    @param new_quorum_bps Critical quorum, basis points of the supply.
    @param new_voting_period Critical voting period, seconds.
    @param new_delay Critical timelock delay, seconds.
    """
    self._check_governance()
    log CriticalPolicySet(
        old_quorum_bps=self.critical_quorum_bps,
        new_quorum_bps=new_quorum_bps,
        old_voting_period=self.critical_voting_period,
        new_voting_period=new_voting_period,
        old_delay=self.critical_delay,
        new_delay=new_delay,
    )
    self.critical_quorum_bps = new_quorum_bps
    self.critical_voting_period = new_voting_period
    self.critical_delay = new_delay
    self._check_policy()
    self._push_quorum_checkpoint()


@external
def set_grace_period(new_grace_period: uint256):
    """
    @notice Sets how long a queued proposal stays executable after its eta.
    @param new_grace_period Seconds.
    """
    self._check_governance()
    log GracePeriodSet(old_grace_period=self.grace_period, new_grace_period=new_grace_period)
    self.grace_period = new_grace_period
    self._check_policy()


@external
def set_critical_action(target: address, selector: bytes4, critical: bool):
    """
    @notice Marks calls of `selector` on `target` as critical (or routine again).
            Selector 0x00000000 stands for calls with less than four bytes of data.
            Being a call to the Governor, the proposal that makes it is critical.
    @param target The contract.
    @param selector The function selector.
    @param critical Whether calls to it are critical.
    """
    self._check_governance()
    self._set_critical_action(target, selector, critical)


# ---------------------------------------------------------------- internal


@internal
@view
def _check_governance():
    assert msg.sender == timelock.address, "Governor: caller is not the timelock"


@internal
@view
def _check_policy():
    """
    @dev The one place that says which settings are coherent.
    """
    assert self.votingPeriod > 0, "Governor: voting period is zero"
    assert self.quorum_bps > 0 and self.quorum_bps <= BPS, "Governor: quorum out of range"
    assert self.critical_quorum_bps >= self.quorum_bps, "Governor: critical quorum below routine quorum"
    assert self.critical_quorum_bps <= BPS, "Governor: critical quorum above 100%"
    assert self.critical_voting_period >= self.votingPeriod, "Governor: critical period below routine period"
    assert self.grace_period > 0, "Governor: grace period is zero"


@internal
def _set_critical_action(target: address, selector: bytes4, critical: bool):
    assert target != self and target != timelock.address, "Governor: governor and timelock calls are always critical"
    self.is_critical_action[target][selector] = critical
    log CriticalActionSet(target=target, selector=selector, critical=critical)


@internal
def _push_quorum_checkpoint():
    """
    @dev One checkpoint per timestamp: a later change in the same block
         overwrites it. Both quorums are at most BPS (`_check_policy`).
    """
    now: uint256 = block.timestamp
    packed: uint256 = (now << TIMEPOINT_SHIFT) | (self.critical_quorum_bps << CRITICAL_SHIFT) | self.quorum_bps
    count: uint256 = self.num_quorum_checkpoints
    if count > 0 and (self._quorum_checkpoints[count - 1] >> TIMEPOINT_SHIFT) == now:
        self._quorum_checkpoints[count - 1] = packed
    else:
        self._quorum_checkpoints[count] = packed
        self.num_quorum_checkpoints = count + 1


@internal
@view
def _quorum_checkpoint_at(timepoint: uint256) -> uint256:
    """
    @dev The last checkpoint at or before `timepoint`; the first one for
         earlier timepoints (the deployment settings). Checks the latest
         first, then binary-searches.
    """
    count: uint256 = self.num_quorum_checkpoints
    latest: uint256 = self._quorum_checkpoints[count - 1]
    if (latest >> TIMEPOINT_SHIFT) <= timepoint:
        return latest
    low: uint256 = 0
    high: uint256 = count - 1  # the answer lies below index `high`
    for _: uint256 in range(SEARCH_STEPS):
        if low >= high:
            break
        mid: uint256 = (low + high) // 2
        if (self._quorum_checkpoints[mid] >> TIMEPOINT_SHIFT) > timepoint:
            high = mid
        else:
            low = mid + 1
    if low == 0:
        return self._quorum_checkpoints[0]
    return self._quorum_checkpoints[low - 1]


@internal
@view
def _routine_bps_at(timepoint: uint256) -> uint256:
    return self._quorum_checkpoint_at(timepoint) & BPS_MASK


@internal
@view
def _critical_bps_at(timepoint: uint256) -> uint256:
    return (self._quorum_checkpoint_at(timepoint) >> CRITICAL_SHIFT) & BPS_MASK


@internal
@pure
def _hash_proposal(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    description_hash: bytes32,
) -> uint256:
    return convert(keccak256(abi_encode(targets, values, calldatas, description_hash)), uint256)


@internal
@view
def _salt(description_hash: bytes32, index: uint256) -> bytes32:
    # OpenZeppelin's GovernorTimelockControl salt, bytes20(governor) ^ descriptionHash,
    # plus the action index so each action is a distinct operation.
    base: uint256 = (convert(self, uint256) << 96) ^ convert(description_hash, uint256)
    return keccak256(abi_encode(base, index))


@internal
@pure
def _operation_id(
    target: address, amount: uint256, payload: Bytes[MAX_CALLDATA], predecessor: bytes32, salt: bytes32
) -> bytes32:
    # snekmate timelock_controller._hash_operation
    return keccak256(abi_encode(target, amount, payload, predecessor, salt))


@internal
@view
def _is_critical_call(target: address, amount: uint256, payload: Bytes[MAX_CALLDATA]) -> bool:
    if amount > 0:
        return True  # spends treasury ETH
    if target == self or target == timelock.address:
        # The rules themselves, timelock roles and delay, and any call the
        # timelock would make on itself (schedule/execute with nested calldata).
        return True
    selector: bytes4 = empty(bytes4)
    if len(payload) >= 4:
        selector = convert(slice(payload, 0, 4), bytes4)
    for asset_selector: bytes4 in _ASSET_SELECTORS:
        if selector == asset_selector:
            return True
    return self.is_critical_action[target][selector]


@internal
@view
def _quorum_at(timepoint: uint256, bps: uint256) -> uint256:
    return staticcall token.getPastTotalSupply(timepoint) * bps // BPS


@internal
@view
def _state(proposal_id: uint256) -> uint8:
    vote_start: uint256 = self._proposals[proposal_id].vote_start
    assert vote_start != 0, "Governor: unknown proposal"
    if self._proposals[proposal_id].executed:
        return EXECUTED
    if self._proposals[proposal_id].canceled:
        return CANCELED
    if block.timestamp <= vote_start:
        return PENDING
    if block.timestamp <= self._proposals[proposal_id].vote_end:
        return ACTIVE
    for_votes: uint256 = self._proposals[proposal_id].for_votes
    quorum_votes: uint256 = self._quorum_at(vote_start, self._proposals[proposal_id].quorum_bps)
    if for_votes + self._proposals[proposal_id].abstain_votes < quorum_votes:
        return DEFEATED
    if for_votes <= self._proposals[proposal_id].against_votes:
        return DEFEATED
    eta: uint256 = self._proposals[proposal_id].eta
    if eta == 0:
        return SUCCEEDED
    if block.timestamp > eta + self.grace_period:
        return EXPIRED
    return QUEUED


@internal
def _cast_vote(proposal_id: uint256, voter: address, support: uint8, reason: String[MAX_REASON]) -> uint256:
    weight: uint256 = self._count_vote(proposal_id, voter, support)
    log VoteCast(voter=voter, proposalId=proposal_id, support=support, weight=weight, reason=reason)
    return weight


@internal
def _count_vote(proposal_id: uint256, voter: address, support: uint8) -> uint256:
    assert self._state(proposal_id) == ACTIVE, "Governor: vote not currently active"
    assert support <= VOTE_ABSTAIN, "Governor: invalid vote type"
    assert not self.hasVoted[proposal_id][voter], "Governor: vote already cast"
    self.hasVoted[proposal_id][voter] = True
    weight: uint256 = staticcall token.getPastVotes(voter, self._proposals[proposal_id].vote_start)
    if support == VOTE_AGAINST:
        self._proposals[proposal_id].against_votes += weight
    elif support == VOTE_FOR:
        self._proposals[proposal_id].for_votes += weight
    else:
        self._proposals[proposal_id].abstain_votes += weight
    return weight


@internal
def _cast_vote_with_params(
    proposal_id: uint256, voter: address, support: uint8, reason: String[MAX_REASON], params: Bytes[MAX_PARAMS]
) -> uint256:
    """
    @dev As OpenZeppelin: VoteCast without params, VoteCastWithParams with them.
    """
    if len(params) == 0:
        return self._cast_vote(proposal_id, voter, support, reason)
    weight: uint256 = self._count_vote(proposal_id, voter, support)
    log VoteCastWithParams(
        voter=voter, proposalId=proposal_id, support=support, weight=weight, reason=reason, params=params
    )
    return weight
