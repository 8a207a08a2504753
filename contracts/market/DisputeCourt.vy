# pragma version ~=0.4.3
"""
@title Neural Commons dispute court
@license MIT
@notice Settles a disputed inference result (a market request or a channel
        receipt) by a small committee of staked workers serving the model,
        in hours, without a DAO vote.

        1. A registered client (InferenceMarket, PaymentChannels) opens a
           dispute and forwards the challenger's bond.
        2. Anyone `draw`s the committee once block `draw_block` (the opening
           block + `draw_delay`) is mined: `committee_size` members of the
           model's verifier pool, excluding the worker, the challenger, the
           beneficiary (the market's requester, refunded if the worker was
           wrong), workers that joined at or after the opening block and workers not
           active in WorkerRegistry since before the opening block, are chosen by the lowest
           keccak256(seed, member) where seed = keccak256(blockhash(draw_block),
           dispute id). Each member's stake is locked by `no_show_slash`.
           Too few eligible members: escalated at once.
        3. Members `commit` keccak256(abi_encode(dispute_id, member,
           worker_was_right, salt)) before the commit deadline, then
           `reveal` once every member committed or the deadline passed.
        4. Anyone `settle`s once every member revealed, every committer
           revealed after the commit deadline, or the reveal deadline
           passed. A side with a strict majority of the committee wins: its
           revealers get `member_fee` each from the bond, the winner (the
           worker if it was right, else the challenger) the rest, and the
           client's `on_verdict` applies the verdict (slash, refund).
           Members who did not reveal are slashed `no_show_slash` to the
           treasury; every member lock is released. No majority: escalated.
        5. Escalated: governance `rule`s within `escalation_period` (the
           winner takes the whole bond); after it anyone `expire`s: the
           result stands, the bond returns to the challenger, nobody is
           slashed.
        Every phase has a deadline or a permissionless exit, so every
        dispute ends and every lock it took is released.
@custom:security Randomness: the draw block is mined after the challenge,
        so neither the worker nor the challenger knows the seed when the
        dispute opens, and only members that joined before the opening
        block and active without a break since before it
        (WorkerRegistry.active_since) are eligible: a dormant pool member
        that registers again or tops up its stake once the seed is known
        is not drawn. After the seed is known an account can only remove
        itself (leave, unbond): the draw is a ranking by per-member score,
        independent of the pool's order, so removing one's own accounts
        never adds one. A block producer can withhold or reorder the
        draw block (one bit of bias per withheld block, at the cost of its
        block reward); if 256 blocks pass undrawn, `draw` re-anchors to a
        new future block rather than use a hash the caller can pick.
        A full pool admits a joiner whose stake exceeds its smallest
        member's, which leaves: 64 minimum stakes cannot hold a model's
        court against larger stakes (a majority of a full pool takes 33
        accounts each staking more than its smallest member). That
        displacement removes someone else, so it is refused while a dispute
        of the model awaits its draw (its seed may be known): a draw is
        then made first (anyone may). A client is trusted: a reverting `on_verdict`
        blocks its own disputes. Every function that moves value holds the
        contract's one reentrancy lock (shared with `withdraw`), and the
        client is called last.
"""

from snekmate.auth import ownable
initializes: ownable

from ..interfaces import ICourtClient
from ..interfaces import IModelRegistry
from ..interfaces import IWorkerRegistry

from ..modules import pull_payments
initializes: pull_payments

# renounce_ownership is deliberately not exported: without an owner nothing
# escalated could be ruled and no parameter could change again. The court
# never owes the treasury ETH (no-shows are slashed in tokens), so
# sweep_treasury is not exported either.
exports: (
    ownable.owner,
    ownable.transfer_ownership,
    pull_payments.owed,
    pull_payments.withdraw,
    pull_payments.withdraw_to,
)


MAX_POOL: constant(uint256) = 64  # verifiers per model
MAX_COMMITTEE: constant(uint256) = 9  # members per dispute
MAX_DRAW_DELAY: constant(uint256) = 64  # blocks
MAX_PERIOD: constant(uint256) = 7 * 86_400  # seconds, commit or reveal
MAX_ESCALATION: constant(uint256) = 90 * 86_400  # seconds
MAX_SLASH: constant(uint256) = 2**128  # token wei
BPS: constant(uint256) = 10_000
BLOCKHASH_WINDOW: constant(uint256) = 256  # blocks whose hash the EVM still returns
MAX_FEE: constant(uint256) = 2**96  # wei per member
ADDRESS_MASK: constant(uint256) = 2**160 - 1
JOINED_SHIFT: constant(uint256) = 160  # pool entry: member (160) | block it joined
# A dispute is stored in packed words (`disputes` unpacks them):
#   status:    client (160) | phase (8) | committee size (8) | commits (8) | reveals (8) | for worker (8) | escalated until (48)
#   blocks:    worker (160) | opened block (48) | draw block (48)
#   deadlines: challenger (160) | commit deadline (48) | reveal deadline (48)
#   fees:      member fee (96) | member lock (160)
#   model:     model id (96) | beneficiary (160)
BYTE_MASK: constant(uint256) = 2**8 - 1
WORD48_MASK: constant(uint256) = 2**48 - 1  # block numbers and timestamps
PHASE_SHIFT: constant(uint256) = 160
SIZE_SHIFT: constant(uint256) = 168
COMMITS_SHIFT: constant(uint256) = 176
REVEALS_SHIFT: constant(uint256) = 184
FOR_WORKER_SHIFT: constant(uint256) = 192
UNTIL_SHIFT: constant(uint256) = 200
LOW48_SHIFT: constant(uint256) = 160  # opened block, commit deadline
HIGH48_SHIFT: constant(uint256) = 208  # draw block, reveal deadline
FEE_MASK: constant(uint256) = 2**96 - 1
LOCK_SHIFT: constant(uint256) = 96
MODEL_ID_MASK: constant(uint256) = 2**96 - 1
BENEFICIARY_SHIFT: constant(uint256) = 96

# Phases of a dispute. COMMITTING turns into the reveal phase at the commit
# deadline without a write (`phase_of` reports it); REVEALING is stored when
# every member has committed early.
DRAWING: constant(uint256) = 1
COMMITTING: constant(uint256) = 2
REVEALING: constant(uint256) = 3
ESCALATED: constant(uint256) = 4
SETTLED: constant(uint256) = 5
RULED: constant(uint256) = 6
EXPIRED: constant(uint256) = 7

# A member's ballot.
DRAWN: constant(uint256) = 1
COMMITTED: constant(uint256) = 2
REVEALED_RIGHT: constant(uint256) = 3  # revealed: the worker was right
REVEALED_WRONG: constant(uint256) = 4  # revealed: the worker was wrong


struct CourtParams:
    committee_size: uint256  # members per dispute, odd
    draw_delay: uint256  # blocks between opening and the block whose hash seeds the draw
    commit_period: uint256  # seconds from the draw
    reveal_period: uint256  # seconds from the reveal phase's start
    member_fee: uint256  # wei from the bond to each majority revealer
    no_show_slash: uint256  # token wei locked per member at the draw, slashed if it does not reveal
    escalation_period: uint256  # seconds governance has to rule an escalated dispute
    sample_bps: uint256  # share of fulfilled requests each verifier re-executes (read by the verifier bot)


struct Record:
    status: uint256
    blocks: uint256
    deadlines: uint256
    fees: uint256
    bond: uint256
    subject_id: uint256
    model: uint256
    worker_hash: bytes32
    challenger_hash: bytes32


struct Dispute:
    client: address
    subject_id: uint256  # the client's id: request id or receipt challenge id
    model_id: uint256
    worker: address
    challenger: address
    worker_hash: bytes32  # the result the worker committed to
    challenger_hash: bytes32  # the result the challenger says is right
    bond: uint256  # wei
    phase: uint256
    opened_block: uint256
    draw_block: uint256  # its hash seeds the draw
    commit_deadline: uint256
    reveal_deadline: uint256
    escalated_until: uint256  # governance may rule until then; anyone expires after
    committee_size: uint256  # at opening
    member_fee: uint256  # at opening
    member_lock: uint256  # token wei locked per member at the draw
    commits: uint256
    reveals: uint256
    for_worker: uint256  # reveals that the worker was right


treasury: public(immutable(address))  # the timelock: receives no-show slashes
models: public(immutable(IModelRegistry))
workers: public(immutable(IWorkerRegistry))

params: public(CourtParams)
clients: public(HashMap[address, bool])
dispute_count: public(uint256)
_disputes: HashMap[uint256, Record]
ballots: public(HashMap[uint256, HashMap[address, uint256]])  # dispute -> member -> DRAWN .. REVEALED_WRONG
commitments: public(HashMap[uint256, HashMap[address, bytes32]])
_committee: HashMap[uint256, DynArray[address, MAX_COMMITTEE]]
_pool: HashMap[uint256, DynArray[uint256, MAX_POOL]]  # model -> member | joined block
_slot: HashMap[uint256, HashMap[address, uint256]]  # model -> member -> index + 1 (0: not in the pool)
# model -> disputes opened and not drawn yet, stored plus one once touched (so the slot never returns
# to zero and each dispute's count is a cheap write; read it with `awaiting_draw`)
_awaiting_draw: HashMap[uint256, uint256]


event DisputeOpened:
    dispute_id: indexed(uint256)
    client: indexed(address)
    subject_id: uint256
    model_id: indexed(uint256)
    worker: address
    challenger: address
    worker_hash: bytes32
    challenger_hash: bytes32
    bond: uint256
    beneficiary: address  # who else gains if the worker loses (the requester); zero: nobody


event CommitteeDrawn:
    dispute_id: indexed(uint256)
    members: DynArray[address, MAX_COMMITTEE]
    commit_deadline: uint256


event DrawReanchored:
    dispute_id: indexed(uint256)
    draw_block: uint256  # the new block whose hash will seed the draw


event VerdictCommitted:
    dispute_id: indexed(uint256)
    member: indexed(address)


event RevealStarted:
    dispute_id: indexed(uint256)
    reveal_deadline: uint256


event VerdictRevealed:
    dispute_id: indexed(uint256)
    member: indexed(address)
    worker_was_right: bool


event DisputeSettled:
    dispute_id: indexed(uint256)
    worker_was_right: bool
    for_worker: uint256  # revealed votes
    for_challenger: uint256
    no_shows: uint256  # members slashed for not revealing


event DisputeEscalated:
    dispute_id: indexed(uint256)
    reason: String[32]
    until: uint256


event DisputeRuled:
    dispute_id: indexed(uint256)
    worker_was_right: bool


event DisputeExpired:
    dispute_id: indexed(uint256)


event PoolJoined:
    model_id: indexed(uint256)
    worker: indexed(address)


event PoolLeft:
    model_id: indexed(uint256)
    worker: indexed(address)
    by: indexed(address)  # the worker, whoever evicted it once inactive, or the larger stake that took its place


event ClientSet:
    client: indexed(address)
    allowed: bool


event ParamsChanged:
    old_params: CourtParams
    new_params: CourtParams


@deploy
def __init__(models_: IModelRegistry, workers_: IWorkerRegistry, treasury_: address, params_: CourtParams):
    """
    @notice The deployer owns the court until it registers the clients and
            calls `transfer_ownership(timelock)`, as the deploy script does.
    @param models_ ModelRegistry (which models are active).
    @param workers_ WorkerRegistry; the court must be allowed to lock and slash there.
    @param treasury_ The timelock: receives no-show slashes.
    @param params_ Initial parameters.
    """
    ownable.__init__()
    pull_payments.__init__(treasury_)
    treasury = treasury_
    models = models_
    workers = workers_
    self._check_params(params_)
    self.params = params_


# ---------------------------------------------------------------- verifier pools


@external
def join(model_id: uint256):
    """
    @notice The calling active worker enters the verifier pool of `model_id`;
            it is eligible for disputes opened after this block. A full pool
            admits it in place of its smallest stake if the caller's is larger
            (none while a dispute of the model awaits its draw).
    @param model_id The model it serves and will re-execute.
    """
    assert staticcall workers.active_signer(msg.sender) != empty(address), "DisputeCourt: caller is not an active worker"
    active: bool = False
    price: uint256 = 0
    active, price = staticcall models.model_terms(model_id)
    assert active, "DisputeCourt: model not active"
    assert self._slot[model_id][msg.sender] == 0, "DisputeCourt: already in the pool"
    if len(self._pool[model_id]) == MAX_POOL:
        # Removing another member once a draw's seed may be known would bias that draw.
        assert self._awaiting_draw[model_id] <= 1, "DisputeCourt: pool full and a dispute awaits its draw"
        smallest: address = empty(address)
        smallest_stake: uint256 = max_value(uint256)
        for entry: uint256 in self._pool[model_id]:
            member: address = self._address(entry)
            stake: uint256 = staticcall workers.stake_of(member)
            if stake < smallest_stake:
                smallest = member
                smallest_stake = stake
        assert staticcall workers.stake_of(msg.sender) > smallest_stake, "DisputeCourt: pool full of larger stakes"
        self._remove(model_id, smallest)
    self._pool[model_id].append(convert(msg.sender, uint256) | (block.number << JOINED_SHIFT))
    self._slot[model_id][msg.sender] = len(self._pool[model_id])
    log PoolJoined(model_id=model_id, worker=msg.sender)


@external
def leave(model_id: uint256):
    """
    @notice The caller leaves the verifier pool of `model_id`. Committees it
            was already drawn into still count on it (and slash a no-show).
    @param model_id The model.
    """
    self._remove(model_id, msg.sender)


@external
def evict(model_id: uint256, member: address):
    """
    @notice Anyone removes a member that is no longer an active worker, so
            departed workers do not fill the pool.
    @param model_id The model.
    @param member The inactive member.
    """
    assert staticcall workers.active_signer(member) == empty(address), "DisputeCourt: member is active"
    self._remove(model_id, member)


# ---------------------------------------------------------------- disputes


@external
@payable
@nonreentrant
def open_dispute(
    model_id: uint256,
    worker: address,
    challenger: address,
    subject_id: uint256,
    worker_hash: bytes32,
    challenger_hash: bytes32,
    beneficiary: address,
) -> uint256:
    """
    @notice A registered client opens a dispute over `subject_id` and
            forwards the challenger's bond (`msg.value`).
    @param model_id The model whose verifier pool judges.
    @param worker The worker whose result is disputed.
    @param challenger Who disputes it (gets the bond back if it wins).
    @param subject_id The client's id for the disputed result.
    @param worker_hash The result hash the worker committed to.
    @param challenger_hash The result hash the challenger says is right.
    @param beneficiary Who else gains if the worker is found wrong (the
           market's requester, refunded); like the worker and the
           challenger, never drawn. Zero: nobody.
    @return The dispute id.
    """
    assert self.clients[msg.sender], "DisputeCourt: caller is not a client"
    size: uint256 = self.params.committee_size
    fee: uint256 = self.params.member_fee
    assert msg.value >= size * fee, "DisputeCourt: bond below committee fees"
    assert model_id <= MODEL_ID_MASK, "DisputeCourt: model id above bound"
    dispute_id: uint256 = self.dispute_count + 1
    self.dispute_count = dispute_id
    self._awaiting_draw[model_id] = max(self._awaiting_draw[model_id], 1) + 1
    # fee < MAX_FEE (checked in the parameters); blocks fit 48 bits for millions of years.
    self._disputes[dispute_id] = Record(
        status=convert(msg.sender, uint256) | (DRAWING << PHASE_SHIFT) | (size << SIZE_SHIFT),
        blocks=convert(worker, uint256)
        | (block.number << LOW48_SHIFT)
        | ((block.number + self.params.draw_delay) << HIGH48_SHIFT),
        deadlines=convert(challenger, uint256),
        fees=fee,
        bond=msg.value,
        subject_id=subject_id,
        model=model_id | (convert(beneficiary, uint256) << BENEFICIARY_SHIFT),
        worker_hash=worker_hash,
        challenger_hash=challenger_hash,
    )
    log DisputeOpened(
        dispute_id=dispute_id,
        client=msg.sender,
        subject_id=subject_id,
        model_id=model_id,
        worker=worker,
        challenger=challenger,
        worker_hash=worker_hash,
        challenger_hash=challenger_hash,
        bond=msg.value,
        beneficiary=beneficiary,
    )
    return dispute_id


@external
@nonreentrant
def draw(dispute_id: uint256):
    """
    @notice Anyone draws the committee once the draw block is mined; locks
            `no_show_slash` of each member's stake. With too few eligible
            members the dispute is escalated. If the draw block is older than
            256 blocks its hash is gone: the draw moves to a new future block.
    @param dispute_id The dispute.
    """
    status: uint256 = self._disputes[dispute_id].status
    assert (status >> PHASE_SHIFT) & BYTE_MASK == DRAWING, "DisputeCourt: dispute not drawing"
    blocks: uint256 = self._disputes[dispute_id].blocks
    draw_block: uint256 = blocks >> HIGH48_SHIFT
    assert block.number > draw_block, "DisputeCourt: draw block not mined"
    p: CourtParams = self.params
    if block.number - draw_block > BLOCKHASH_WINDOW:
        draw_block = block.number + p.draw_delay
        self._disputes[dispute_id].blocks = (blocks & ~(WORD48_MASK << HIGH48_SHIFT)) | (draw_block << HIGH48_SHIFT)
        log DrawReanchored(dispute_id=dispute_id, draw_block=draw_block)
        return
    seed: bytes32 = keccak256(abi_encode(blockhash(draw_block), dispute_id))
    size: uint256 = (status >> SIZE_SHIFT) & BYTE_MASK
    deadlines: uint256 = self._disputes[dispute_id].deadlines
    model: uint256 = self._disputes[dispute_id].model
    self._awaiting_draw[model & MODEL_ID_MASK] -= 1  # drawn or escalated: either way no longer drawing
    members: DynArray[address, MAX_COMMITTEE] = self._draw(
        model & MODEL_ID_MASK,
        self._address(blocks),
        self._address(deadlines),
        convert(convert(model >> BENEFICIARY_SHIFT, uint160), address),
        (blocks >> LOW48_SHIFT) & WORD48_MASK,
        size,
        seed,
    )
    if len(members) < size:
        self._escalate(dispute_id, "too few verifiers")
        return
    lock: uint256 = p.no_show_slash
    commit_deadline: uint256 = block.timestamp + p.commit_period
    self._committee[dispute_id] = members
    self._disputes[dispute_id].status = self._with_phase(status, COMMITTING)
    self._disputes[dispute_id].deadlines = (
        (deadlines & ADDRESS_MASK)
        | (commit_deadline << LOW48_SHIFT)
        | ((commit_deadline + p.reveal_period) << HIGH48_SHIFT)
    )
    self._disputes[dispute_id].fees = (self._disputes[dispute_id].fees & FEE_MASK) | (lock << LOCK_SHIFT)
    log CommitteeDrawn(dispute_id=dispute_id, members=members, commit_deadline=commit_deadline)
    for member: address in members:
        self.ballots[dispute_id][member] = DRAWN
        if lock > 0:
            extcall workers.lock(member, lock)


@external
def commit(dispute_id: uint256, commitment: bytes32):
    """
    @notice A member commits to its verdict before the commit deadline:
            keccak256(abi_encode(dispute_id, member, worker_was_right, salt)).
            The reveal phase starts early once every member has committed.
    @param dispute_id The dispute.
    @param commitment The hash of the member's verdict and secret salt.
    """
    status: uint256 = self._disputes[dispute_id].status
    assert (status >> PHASE_SHIFT) & BYTE_MASK == COMMITTING, "DisputeCourt: dispute not committing"
    deadlines: uint256 = self._disputes[dispute_id].deadlines
    assert block.timestamp <= (deadlines >> LOW48_SHIFT) & WORD48_MASK, "DisputeCourt: commit deadline passed"
    ballot: uint256 = self.ballots[dispute_id][msg.sender]
    assert ballot != 0, "DisputeCourt: caller is not a member"
    assert ballot == DRAWN, "DisputeCourt: already committed"
    assert commitment != empty(bytes32), "DisputeCourt: empty commitment"
    self.commitments[dispute_id][msg.sender] = commitment
    self.ballots[dispute_id][msg.sender] = COMMITTED
    status += 1 << COMMITS_SHIFT  # at most the committee size, below 256
    log VerdictCommitted(dispute_id=dispute_id, member=msg.sender)
    if (status >> COMMITS_SHIFT) & BYTE_MASK == (status >> SIZE_SHIFT) & BYTE_MASK:
        reveal_deadline: uint256 = block.timestamp + self.params.reveal_period
        status = self._with_phase(status, REVEALING)
        self._disputes[dispute_id].deadlines = (deadlines & ~(WORD48_MASK << HIGH48_SHIFT)) | (
            reveal_deadline << HIGH48_SHIFT
        )
        log RevealStarted(dispute_id=dispute_id, reveal_deadline=reveal_deadline)
    self._disputes[dispute_id].status = status


@external
def reveal(dispute_id: uint256, worker_was_right: bool, salt: bytes32):
    """
    @notice A member that committed reveals its verdict and salt in the
            reveal phase, before the reveal deadline.
    @param dispute_id The dispute.
    @param worker_was_right The verdict committed to.
    @param salt The secret salt committed to.
    """
    assert self._phase(dispute_id) == REVEALING, "DisputeCourt: dispute not revealing"
    assert block.timestamp <= self._disputes[dispute_id].deadlines >> HIGH48_SHIFT, "DisputeCourt: reveal deadline passed"
    ballot: uint256 = self.ballots[dispute_id][msg.sender]
    assert ballot != 0, "DisputeCourt: caller is not a member"
    assert ballot != DRAWN, "DisputeCourt: not committed"
    assert ballot == COMMITTED, "DisputeCourt: already revealed"
    assert keccak256(abi_encode(dispute_id, msg.sender, worker_was_right, salt)) == self.commitments[dispute_id][
        msg.sender
    ], "DisputeCourt: reveal does not match commitment"
    status: uint256 = self._disputes[dispute_id].status + (1 << REVEALS_SHIFT)  # at most the committee size
    if worker_was_right:
        status += 1 << FOR_WORKER_SHIFT
    self._disputes[dispute_id].status = status
    if worker_was_right:
        self.ballots[dispute_id][msg.sender] = REVEALED_RIGHT
    else:
        self.ballots[dispute_id][msg.sender] = REVEALED_WRONG
    log VerdictRevealed(dispute_id=dispute_id, member=msg.sender, worker_was_right=worker_was_right)


@external
@nonreentrant
def settle(dispute_id: uint256):
    """
    @notice Anyone counts the votes once every member revealed, every
            committer revealed after the commit deadline, or the reveal
            deadline passed. A strict majority of the committee decides:
            majority revealers get `member_fee` each from the bond, the
            winner the rest, and the client applies the verdict. Members who
            did not reveal are slashed; every member lock is released. No
            majority: escalated to governance.
    @param dispute_id The dispute.
    """
    d: Dispute = self._unpack(dispute_id)
    assert d.phase == COMMITTING or d.phase == REVEALING, "DisputeCourt: dispute not voting"
    now: uint256 = block.timestamp
    assert (
        d.reveals == d.committee_size
        or now > d.reveal_deadline
        or (now > d.commit_deadline and d.reveals == d.commits)
    ), "DisputeCourt: votes still open"
    majority: uint256 = d.committee_size // 2 + 1
    for_challenger: uint256 = d.reveals - d.for_worker
    decided: bool = d.for_worker >= majority or for_challenger >= majority
    worker_was_right: bool = d.for_worker >= majority
    winning: uint256 = REVEALED_WRONG
    if worker_was_right:
        winning = REVEALED_RIGHT
    paid: uint256 = 0
    no_shows: DynArray[address, MAX_COMMITTEE] = []
    members: DynArray[address, MAX_COMMITTEE] = self._committee[dispute_id]
    for member: address in members:
        ballot: uint256 = self.ballots[dispute_id][member]
        if ballot < REVEALED_RIGHT:
            no_shows.append(member)
        elif decided and ballot == winning:
            pull_payments._credit(member, d.member_fee)
            paid += d.member_fee

    if decided:
        self._disputes[dispute_id].status = self._with_phase(self._disputes[dispute_id].status, SETTLED)
        winner: address = d.challenger
        if worker_was_right:
            winner = d.worker
        # bond >= committee_size * member_fee (checked at opening) >= paid
        pull_payments._credit(winner, d.bond - paid)
        log DisputeSettled(
            dispute_id=dispute_id,
            worker_was_right=worker_was_right,
            for_worker=d.for_worker,
            for_challenger=for_challenger,
            no_shows=len(no_shows),
        )
    else:
        self._escalate(dispute_id, "no majority")

    lock: uint256 = d.member_lock
    if lock > 0:
        for member: address in no_shows:
            extcall workers.slash(member, lock, treasury)
        for member: address in members:
            extcall workers.unlock(member, lock)  # after the slash: the locked stake is taken first
    if decided:
        extcall ICourtClient(d.client).on_verdict(d.subject_id, worker_was_right)


@external
@nonreentrant
def rule(dispute_id: uint256, worker_was_right: bool):
    """
    @notice Governance decides an escalated dispute within the escalation
            period; the winner takes the whole bond and the client applies
            the verdict.
    @param dispute_id The escalated dispute.
    @param worker_was_right Governance's verdict after re-execution.
    """
    ownable._check_owner()
    status: uint256 = self._disputes[dispute_id].status
    assert (status >> PHASE_SHIFT) & BYTE_MASK == ESCALATED, "DisputeCourt: dispute not escalated"
    assert block.timestamp <= status >> UNTIL_SHIFT, "DisputeCourt: escalation expired"
    self._disputes[dispute_id].status = self._with_phase(status, RULED)
    winner: address = self._address(self._disputes[dispute_id].deadlines)  # the challenger
    if worker_was_right:
        winner = self._address(self._disputes[dispute_id].blocks)  # the worker
    pull_payments._credit(winner, self._disputes[dispute_id].bond)
    log DisputeRuled(dispute_id=dispute_id, worker_was_right=worker_was_right)
    extcall ICourtClient(self._address(status)).on_verdict(self._disputes[dispute_id].subject_id, worker_was_right)


@external
@nonreentrant
def expire(dispute_id: uint256):
    """
    @notice Anyone ends an escalated dispute governance did not rule in time:
            unproven either way, the result stands, the bond returns to the
            challenger and nobody is slashed.
    @param dispute_id The escalated dispute.
    """
    status: uint256 = self._disputes[dispute_id].status
    assert (status >> PHASE_SHIFT) & BYTE_MASK == ESCALATED, "DisputeCourt: dispute not escalated"
    assert block.timestamp > status >> UNTIL_SHIFT, "DisputeCourt: escalation not expired"
    self._disputes[dispute_id].status = self._with_phase(status, EXPIRED)
    pull_payments._credit(self._address(self._disputes[dispute_id].deadlines), self._disputes[dispute_id].bond)
    log DisputeExpired(dispute_id=dispute_id)
    extcall ICourtClient(self._address(status)).on_verdict(self._disputes[dispute_id].subject_id, True)


# ---------------------------------------------------------------- views


@external
@view
def phase_of(dispute_id: uint256) -> uint256:
    """
    @notice The dispute's phase now (the stored phase, except that a
            committee past its commit deadline is revealing): 0 unknown,
            1 drawing, 2 committing, 3 revealing, 4 escalated, 5 settled,
            6 ruled, 7 expired.
    @param dispute_id The dispute.
    @return The phase.
    """
    return self._phase(dispute_id)


@external
@view
def disputes(dispute_id: uint256) -> Dispute:
    """
    @notice A dispute, unpacked (every field zero: no such dispute).
    @param dispute_id The dispute.
    @return Its fields.
    """
    return self._unpack(dispute_id)


@external
@view
def beneficiary(dispute_id: uint256) -> address:
    """
    @notice Who else gains if the worker loses (the market's requester), never
            drawn into the committee; zero: nobody (or no such dispute).
    @param dispute_id The dispute.
    @return The beneficiary.
    """
    return convert(convert(self._disputes[dispute_id].model >> BENEFICIARY_SHIFT, uint160), address)


@external
@view
def committee(dispute_id: uint256) -> DynArray[address, MAX_COMMITTEE]:
    """
    @notice The members drawn for a dispute (empty before the draw).
    @param dispute_id The dispute.
    @return The members.
    """
    return self._committee[dispute_id]


@external
@view
def pool(model_id: uint256) -> DynArray[address, MAX_POOL]:
    """
    @notice The verifier pool of a model (active or not; the draw skips inactive members).
    @param model_id The model.
    @return Its members.
    """
    members: DynArray[address, MAX_POOL] = []
    for entry: uint256 in self._pool[model_id]:
        members.append(self._address(entry))
    return members


@external
@view
def awaiting_draw(model_id: uint256) -> uint256:
    """
    @notice How many disputes of `model_id` are opened and not drawn yet (while any is, a full pool
            admits nobody in another member's place).
    @param model_id The model.
    @return The count.
    """
    stored: uint256 = self._awaiting_draw[model_id]
    return stored - min(stored, 1)


@external
@view
def is_member(model_id: uint256, worker: address) -> bool:
    """
    @notice Whether `worker` is in the verifier pool of `model_id`.
    @param model_id The model.
    @param worker The worker.
    @return True if in the pool.
    """
    return self._slot[model_id][worker] != 0


@external
@pure
def commitment_of(dispute_id: uint256, member: address, worker_was_right: bool, salt: bytes32) -> bytes32:
    """
    @notice The commitment `commit` expects (for clients checking their own encoding).
    @param dispute_id The dispute.
    @param member The committing member.
    @param worker_was_right The verdict.
    @param salt The secret salt.
    @return keccak256(abi_encode(dispute_id, member, worker_was_right, salt)).
    """
    return keccak256(abi_encode(dispute_id, member, worker_was_right, salt))


# ---------------------------------------------------------------- governance


@external
def set_params(new_params: CourtParams):
    """
    @notice Governance sets every court parameter; a dispute keeps the
            committee size and member fee of its opening and the lock of its draw.
    @param new_params Every court parameter.
    """
    ownable._check_owner()
    self._check_params(new_params)
    log ParamsChanged(old_params=self.params, new_params=new_params)
    self.params = new_params


@external
def set_client(client: address, allowed: bool):
    """
    @notice Governance (the deployer while wiring) lets a contract open
            disputes, or stops it; disputes it already opened still end.
    @param client The contract (InferenceMarket, PaymentChannels).
    @param allowed Whether it may open disputes.
    """
    ownable._check_owner()
    assert client != empty(address), "DisputeCourt: client is the zero address"
    self.clients[client] = allowed
    log ClientSet(client=client, allowed=allowed)


# ---------------------------------------------------------------- internal


@internal
@view
def _check_params(p: CourtParams):
    assert p.committee_size % 2 == 1, "DisputeCourt: committee size not odd"
    assert p.committee_size <= MAX_COMMITTEE, "DisputeCourt: committee size above bound"
    assert p.draw_delay > 0, "DisputeCourt: draw delay is zero"
    assert p.draw_delay <= MAX_DRAW_DELAY, "DisputeCourt: draw delay above bound"
    assert p.commit_period > 0, "DisputeCourt: commit period is zero"
    assert p.commit_period <= MAX_PERIOD, "DisputeCourt: commit period above bound"
    assert p.reveal_period > 0, "DisputeCourt: reveal period is zero"
    assert p.reveal_period <= MAX_PERIOD, "DisputeCourt: reveal period above bound"
    assert p.escalation_period > 0, "DisputeCourt: escalation period is zero"
    assert p.escalation_period <= MAX_ESCALATION, "DisputeCourt: escalation period above bound"
    assert p.no_show_slash <= MAX_SLASH, "DisputeCourt: no-show slash above bound"
    assert p.member_fee < MAX_FEE, "DisputeCourt: member fee above bound"
    assert p.sample_bps <= BPS, "DisputeCourt: sample rate above 100%"


@internal
@view
def _phase(dispute_id: uint256) -> uint256:
    phase: uint256 = (self._disputes[dispute_id].status >> PHASE_SHIFT) & BYTE_MASK
    if phase == COMMITTING and block.timestamp > (self._disputes[dispute_id].deadlines >> LOW48_SHIFT) & WORD48_MASK:
        return REVEALING
    return phase


@internal
@view
def _draw(
    model_id: uint256,
    worker: address,
    challenger: address,
    beneficiary: address,
    opened_block: uint256,
    size: uint256,
    seed: bytes32,
) -> DynArray[address, MAX_COMMITTEE]:
    """
    @dev The `committee_size` eligible members with the lowest
         keccak256(seed, member): a uniform sample that does not depend on
         the pool's order. Only members that might enter the sample are
         checked for activity (one registry call each).
    """
    chosen: DynArray[address, MAX_COMMITTEE] = []
    scores: DynArray[uint256, MAX_COMMITTEE] = []
    worst: uint256 = 0  # index of the highest score chosen, once full
    entries: DynArray[uint256, MAX_POOL] = self._pool[model_id]
    for entry: uint256 in entries:
        member: address = self._address(entry)
        if member == worker or member == challenger or member == beneficiary:
            continue
        if entry >> JOINED_SHIFT >= opened_block:
            continue
        score: uint256 = convert(keccak256(abi_encode(seed, member)), uint256)
        full: bool = len(chosen) == size
        if full and score >= scores[worst]:
            continue
        # Active since before the opening: an account (re)activated once the
        # seed could be known is not eligible.
        since: uint256 = staticcall workers.active_since(member)
        if since == 0 or since >= opened_block:
            continue
        if full:
            chosen[worst] = member
            scores[worst] = score
        else:
            chosen.append(member)
            scores.append(score)
        if len(chosen) == size:
            worst = 0
            for i: uint256 in range(1, MAX_COMMITTEE):
                if i >= size:
                    break
                if scores[i] > scores[worst]:
                    worst = i
    return chosen


@internal
def _escalate(dispute_id: uint256, reason: String[32]):
    until: uint256 = block.timestamp + self.params.escalation_period
    status: uint256 = self._with_phase(self._disputes[dispute_id].status, ESCALATED)
    self._disputes[dispute_id].status = (status & ~(WORD48_MASK << UNTIL_SHIFT)) | (until << UNTIL_SHIFT)
    log DisputeEscalated(dispute_id=dispute_id, reason=reason, until=until)


@internal
def _remove(model_id: uint256, member: address):
    slot: uint256 = self._slot[model_id][member]
    assert slot != 0, "DisputeCourt: not in the pool"
    last: uint256 = len(self._pool[model_id])
    if slot != last:
        moved: uint256 = self._pool[model_id][last - 1]
        self._pool[model_id][slot - 1] = moved
        self._slot[model_id][self._address(moved)] = slot
    self._pool[model_id].pop()
    self._slot[model_id][member] = 0
    log PoolLeft(model_id=model_id, worker=member, by=msg.sender)


@internal
@view
def _unpack(dispute_id: uint256) -> Dispute:
    r: Record = self._disputes[dispute_id]
    return Dispute(
        client=self._address(r.status),
        subject_id=r.subject_id,
        model_id=r.model & MODEL_ID_MASK,
        worker=self._address(r.blocks),
        challenger=self._address(r.deadlines),
        worker_hash=r.worker_hash,
        challenger_hash=r.challenger_hash,
        bond=r.bond,
        phase=(r.status >> PHASE_SHIFT) & BYTE_MASK,
        opened_block=(r.blocks >> LOW48_SHIFT) & WORD48_MASK,
        draw_block=r.blocks >> HIGH48_SHIFT,
        commit_deadline=(r.deadlines >> LOW48_SHIFT) & WORD48_MASK,
        reveal_deadline=r.deadlines >> HIGH48_SHIFT,
        escalated_until=r.status >> UNTIL_SHIFT,
        committee_size=(r.status >> SIZE_SHIFT) & BYTE_MASK,
        member_fee=r.fees & FEE_MASK,
        member_lock=r.fees >> LOCK_SHIFT,
        commits=(r.status >> COMMITS_SHIFT) & BYTE_MASK,
        reveals=(r.status >> REVEALS_SHIFT) & BYTE_MASK,
        for_worker=(r.status >> FOR_WORKER_SHIFT) & BYTE_MASK,
    )


@internal
@pure
def _with_phase(status: uint256, phase: uint256) -> uint256:
    return (status & ~(BYTE_MASK << PHASE_SHIFT)) | (phase << PHASE_SHIFT)


@internal
@pure
def _address(word: uint256) -> address:
    return convert(convert(word & ADDRESS_MASK, uint160), address)
