# pragma version ~=0.4.3
"""
@title Neural Commons training fund: crowdfunded training with priority compute
@license MIT
@notice Anyone opens a campaign: a model spec, the datasets (data bounties)
        it trains on, a funding goal and deadline, and a delivery window.
        Backers fund it all or nothing: below the goal at the deadline every
        backer takes everything back. Funded campaigns enter a compute queue
        ordered by funds raised (more money, earlier compute). A staked
        trainer claims the head of the queue, trains, and delivers an
        artifact hash and evaluation metrics; governance accepts (or
        rejects). A missed delivery returns the campaign to the queue and
        slashes the trainer. On acceptance the model is registered (and
        handed to governance) and its shares are minted by a governed split:
        backers pro-rata to what they paid, data contributors by the weights
        their bounties recorded, the trainer the rest; the trainer is paid
        the escrow. The model's inference revenue then reaches all of them
        through ModelShares.
@custom:security The escrow only leaves as backer refunds (failed campaigns)
        or the trainer's payment (accepted ones), both pulled. Share amounts
        are computed with floor division and the trainer takes the
        remainder, so every model has exactly TOTAL_SHARES shares.
"""

interface IModelRegistry:
    def register_model(
        artifact_hash: bytes32,
        manifest_hash: bytes32,
        metadata_uri: String[256],
        price: uint256,
        shareholders: DynArray[address, 16],
        amounts: DynArray[uint256, 16],
    ) -> uint256: nonpayable
    def transfer_model(model_id: uint256, new_owner: address): nonpayable


interface IModelShares:
    def mint_batch(holders: DynArray[address, 16], id: uint256, amounts: DynArray[uint256, 16]): nonpayable


interface IWorkerRegistry:
    def active_signer(worker: address) -> address: view
    def slash(worker: address, amount: uint256, recipient: address) -> uint256: nonpayable
    def record_outcomes(worker: address, fulfilled: uint256, missed: uint256): nonpayable


interface IDataBounties:
    def dataset_contributors(bounty_id: uint256) -> DynArray[address, 64]: view
    def dataset_weight(bounty_id: uint256, contributor: address) -> uint256: view
    def dataset_total_weight(bounty_id: uint256) -> uint256: view


TOTAL_SHARES: constant(uint256) = 1_000_000  # shares minted per trained model
BPS: constant(uint256) = 10_000
MAX_DATASETS: constant(uint256) = 4
MAX_BACKERS: constant(uint256) = 64
MAX_QUEUE: constant(uint256) = 32
MAX_URI: constant(uint256) = 256
MINT_CHUNK: constant(uint256) = 16  # ModelShares.mint_batch bound

# Campaign states
FUNDING: constant(uint8) = 1
FAILED: constant(uint8) = 2
QUEUED: constant(uint8) = 3
TRAINING: constant(uint8) = 4
DELIVERED: constant(uint8) = 5
ACCEPTED: constant(uint8) = 6


struct Campaign:
    creator: address
    spec_uri: String[MAX_URI]
    goal: uint256  # wei
    raised: uint256  # wei
    funding_deadline: uint256
    delivery_window: uint256  # seconds a trainer has after claiming
    state: uint8
    trainer: address
    delivery_deadline: uint256
    artifact_hash: bytes32
    manifest_hash: bytes32
    metadata_uri: String[MAX_URI]
    metrics_uri: String[MAX_URI]
    model_id: uint256


struct SharePolicy:
    backers_bps: uint256
    data_bps: uint256  # the trainer gets the rest, which must not be zero
    miss_slash: uint256  # token wei taken from a trainer that misses or is rejected


governance: public(immutable(address))
registry: public(immutable(IModelRegistry))
shares: public(immutable(IModelShares))
workers: public(immutable(IWorkerRegistry))
bounties: public(immutable(IDataBounties))

policy: public(SharePolicy)
campaigns: public(HashMap[uint256, Campaign])
campaign_count: public(uint256)
contributed: public(HashMap[uint256, HashMap[address, uint256]])  # campaign -> backer -> wei
owed: public(HashMap[address, uint256])
_datasets: HashMap[uint256, DynArray[uint256, MAX_DATASETS]]
_backers: HashMap[uint256, DynArray[address, MAX_BACKERS]]
_queue: DynArray[uint256, MAX_QUEUE]


event CampaignOpened:
    campaign_id: indexed(uint256)
    creator: indexed(address)
    spec_uri: String[MAX_URI]
    goal: uint256
    funding_deadline: uint256


event Backed:
    campaign_id: indexed(uint256)
    backer: indexed(address)
    amount: uint256
    raised: uint256


event CampaignStateChanged:
    campaign_id: indexed(uint256)
    old_state: uint8
    new_state: uint8


event TrainingClaimed:
    campaign_id: indexed(uint256)
    trainer: indexed(address)
    delivery_deadline: uint256


event Delivered:
    campaign_id: indexed(uint256)
    trainer: indexed(address)
    artifact_hash: bytes32
    manifest_hash: bytes32
    metrics_uri: String[MAX_URI]


event TrainerPenalised:
    campaign_id: indexed(uint256)
    trainer: indexed(address)
    slashed: uint256


event ModelTrained:
    campaign_id: indexed(uint256)
    model_id: indexed(uint256)
    trainer: indexed(address)
    backers_shares: uint256
    data_shares: uint256
    trainer_shares: uint256


event Withdrawn:
    account: indexed(address)
    amount: uint256


event PolicySet:
    old_policy: SharePolicy
    new_policy: SharePolicy


@deploy
def __init__(
    governance_: address,
    registry_: IModelRegistry,
    shares_: IModelShares,
    workers_: IWorkerRegistry,
    bounties_: IDataBounties,
    policy_: SharePolicy,
):
    """
    @param governance_ The timelock: accepts and rejects deliveries, sets the share policy.
    @param registry_ ModelRegistry.
    @param shares_ ModelShares; this contract must be one of its minters.
    @param workers_ WorkerRegistry (trainers are staked workers); this contract must be authorised to slash.
    @param bounties_ DataBounties (dataset weights).
    @param policy_ Initial share split and miss penalty.
    """
    governance = governance_
    registry = registry_
    shares = shares_
    workers = workers_
    bounties = bounties_
    self._check_policy(policy_)
    self.policy = policy_


@external
def open_campaign(
    spec_uri: String[MAX_URI],
    datasets: DynArray[uint256, MAX_DATASETS],
    goal: uint256,
    funding_deadline: uint256,
    delivery_window: uint256,
) -> uint256:
    """
    @notice Opens a campaign to train a model on the datasets of the given bounties.
    @return The campaign id.
    """
    assert goal > 0, "TrainingFund: goal is zero"
    assert funding_deadline > block.timestamp, "TrainingFund: deadline passed"
    assert delivery_window > 0, "TrainingFund: delivery window is zero"
    campaign_id: uint256 = self.campaign_count + 1
    self.campaign_count = campaign_id
    self.campaigns[campaign_id] = Campaign(
        creator=msg.sender,
        spec_uri=spec_uri,
        goal=goal,
        raised=0,
        funding_deadline=funding_deadline,
        delivery_window=delivery_window,
        state=FUNDING,
        trainer=empty(address),
        delivery_deadline=0,
        artifact_hash=empty(bytes32),
        manifest_hash=empty(bytes32),
        metadata_uri="",
        metrics_uri="",
        model_id=0,
    )
    self._datasets[campaign_id] = datasets
    log CampaignOpened(
        campaign_id=campaign_id, creator=msg.sender, spec_uri=spec_uri, goal=goal, funding_deadline=funding_deadline
    )
    return campaign_id


@external
@payable
def back(campaign_id: uint256):
    """
    @notice Funds a campaign before its deadline.
    """
    assert self.campaigns[campaign_id].state == FUNDING, "TrainingFund: campaign not funding"
    assert block.timestamp <= self.campaigns[campaign_id].funding_deadline, "TrainingFund: funding closed"
    assert msg.value > 0, "TrainingFund: nothing sent"
    if self.contributed[campaign_id][msg.sender] == 0:
        assert len(self._backers[campaign_id]) < MAX_BACKERS, "TrainingFund: too many backers"
        self._backers[campaign_id].append(msg.sender)
    self.contributed[campaign_id][msg.sender] += msg.value
    raised: uint256 = self.campaigns[campaign_id].raised + msg.value
    self.campaigns[campaign_id].raised = raised
    log Backed(campaign_id=campaign_id, backer=msg.sender, amount=msg.value, raised=raised)


@external
def close_funding(campaign_id: uint256):
    """
    @notice After the funding deadline: a campaign that met its goal enters the
            compute queue (ordered by funds raised); one that did not fails,
            and its backers take their money back. Callable by anyone.
    """
    c: Campaign = self.campaigns[campaign_id]
    assert c.state == FUNDING, "TrainingFund: campaign not funding"
    assert block.timestamp > c.funding_deadline, "TrainingFund: funding still open"
    if c.raised >= c.goal:
        self._enqueue(campaign_id, c.raised)
        self._set_state(campaign_id, FUNDING, QUEUED)
    else:
        self._set_state(campaign_id, FUNDING, FAILED)


@external
def refund(campaign_id: uint256):
    """
    @notice A backer of a failed campaign takes back everything it paid.
    """
    assert self.campaigns[campaign_id].state == FAILED, "TrainingFund: campaign not failed"
    amount: uint256 = self.contributed[campaign_id][msg.sender]
    assert amount > 0, "TrainingFund: nothing to refund"
    self.contributed[campaign_id][msg.sender] = 0
    self.owed[msg.sender] += amount


@external
def claim_head() -> uint256:
    """
    @notice A staked trainer takes the campaign at the head of the compute queue.
    @return The campaign id.
    """
    assert staticcall workers.active_signer(msg.sender) != empty(address), "TrainingFund: caller is not an active worker"
    assert len(self._queue) > 0, "TrainingFund: queue empty"
    campaign_id: uint256 = self._queue[0]
    remaining: DynArray[uint256, MAX_QUEUE] = []
    for i: uint256 in range(1, MAX_QUEUE):
        if i >= len(self._queue):
            break
        remaining.append(self._queue[i])
    self._queue = remaining
    deadline: uint256 = block.timestamp + self.campaigns[campaign_id].delivery_window
    self.campaigns[campaign_id].trainer = msg.sender
    self.campaigns[campaign_id].delivery_deadline = deadline
    self._set_state(campaign_id, QUEUED, TRAINING)
    log TrainingClaimed(campaign_id=campaign_id, trainer=msg.sender, delivery_deadline=deadline)
    return campaign_id


@external
def deliver(
    campaign_id: uint256,
    artifact_hash: bytes32,
    manifest_hash: bytes32,
    metadata_uri: String[MAX_URI],
    metrics_uri: String[MAX_URI],
):
    """
    @notice The trainer delivers the trained artifact's hash and its evaluation.
    """
    c: Campaign = self.campaigns[campaign_id]
    assert c.state == TRAINING, "TrainingFund: campaign not training"
    assert msg.sender == c.trainer, "TrainingFund: caller is not the trainer"
    assert block.timestamp <= c.delivery_deadline, "TrainingFund: delivery deadline passed"
    assert artifact_hash != empty(bytes32) and manifest_hash != empty(bytes32), "TrainingFund: empty hash"
    self.campaigns[campaign_id].artifact_hash = artifact_hash
    self.campaigns[campaign_id].manifest_hash = manifest_hash
    self.campaigns[campaign_id].metadata_uri = metadata_uri
    self.campaigns[campaign_id].metrics_uri = metrics_uri
    self._set_state(campaign_id, TRAINING, DELIVERED)
    log Delivered(
        campaign_id=campaign_id,
        trainer=msg.sender,
        artifact_hash=artifact_hash,
        manifest_hash=manifest_hash,
        metrics_uri=metrics_uri,
    )


@external
def report_missed(campaign_id: uint256):
    """
    @notice After a missed delivery deadline: the campaign returns to the queue
            and the trainer is slashed. Callable by anyone.
    """
    c: Campaign = self.campaigns[campaign_id]
    assert c.state == TRAINING, "TrainingFund: campaign not training"
    assert block.timestamp > c.delivery_deadline, "TrainingFund: delivery deadline not passed"
    self._requeue(campaign_id, c, TRAINING)


@external
def reject(campaign_id: uint256):
    """
    @notice Governance turns a delivery down: back to the queue, trainer slashed.
    """
    self._check_governance()
    c: Campaign = self.campaigns[campaign_id]
    assert c.state == DELIVERED, "TrainingFund: campaign not delivered"
    self._requeue(campaign_id, c, DELIVERED)


@external
def accept(campaign_id: uint256, price: uint256) -> uint256:
    """
    @notice Governance accepts a delivery: registers the model (owned by
            governance, listed like any model), mints its shares to backers,
            data contributors and the trainer, and pays the trainer the escrow.
    @return The model id.
    """
    self._check_governance()
    c: Campaign = self.campaigns[campaign_id]
    assert c.state == DELIVERED, "TrainingFund: campaign not delivered"
    backers_pool: uint256 = TOTAL_SHARES * self.policy.backers_bps // BPS
    data_pool: uint256 = TOTAL_SHARES * self.policy.data_bps // BPS

    holders: DynArray[address, MAX_BACKERS] = self._backers[campaign_id]
    backer_amounts: DynArray[uint256, MAX_BACKERS] = []
    backers_minted: uint256 = 0
    for backer: address in holders:
        amount: uint256 = backers_pool * self.contributed[campaign_id][backer] // c.raised
        backer_amounts.append(amount)
        backers_minted += amount

    total_weight: uint256 = 0
    for bounty_id: uint256 in self._datasets[campaign_id]:
        total_weight += staticcall bounties.dataset_total_weight(bounty_id)

    trainer_amount: uint256 = TOTAL_SHARES - backers_minted
    if total_weight == 0:
        data_pool = 0  # no accepted data: the trainer keeps that part
    trainer_amount -= data_pool
    self._set_state(campaign_id, DELIVERED, ACCEPTED)
    model_id: uint256 = extcall registry.register_model(
        c.artifact_hash, c.manifest_hash, c.metadata_uri, price, [c.trainer], [1]
    )
    self.campaigns[campaign_id].model_id = model_id
    extcall registry.transfer_model(model_id, governance)

    self._mint(model_id, holders, backer_amounts)
    data_minted: uint256 = 0
    if data_pool > 0:
        for bounty_id: uint256 in self._datasets[campaign_id]:
            contributors: DynArray[address, 64] = staticcall bounties.dataset_contributors(bounty_id)
            amounts: DynArray[uint256, 64] = []
            for contributor: address in contributors:
                amount: uint256 = data_pool * staticcall bounties.dataset_weight(bounty_id, contributor) // total_weight
                amounts.append(amount)
                data_minted += amount
            self._mint(model_id, contributors, amounts)
    # Floor-division remainders go to the trainer: the shares add up exactly.
    trainer_amount += data_pool - data_minted
    # One share was minted to the trainer at registration.
    self._mint(model_id, [c.trainer], [trainer_amount - 1])
    self.owed[c.trainer] += c.raised
    log ModelTrained(
        campaign_id=campaign_id,
        model_id=model_id,
        trainer=c.trainer,
        backers_shares=backers_minted,
        data_shares=data_minted,
        trainer_shares=trainer_amount,
    )
    return model_id


@external
@nonreentrant
def withdraw() -> uint256:
    """
    @notice Sends the caller its refunds or its training payment.
    """
    amount: uint256 = self.owed[msg.sender]
    assert amount > 0, "TrainingFund: nothing to withdraw"
    self.owed[msg.sender] = 0
    log Withdrawn(account=msg.sender, amount=amount)
    raw_call(msg.sender, b"", value=amount)
    return amount


@external
def set_policy(new_policy: SharePolicy):
    """
    @notice Governance sets the share split of trained models and the miss penalty.
    """
    self._check_governance()
    self._check_policy(new_policy)
    log PolicySet(old_policy=self.policy, new_policy=new_policy)
    self.policy = new_policy


@external
@view
def queue() -> DynArray[uint256, MAX_QUEUE]:
    """
    @notice Funded campaigns waiting for compute, head first.
    """
    return self._queue


@external
@view
def backers(campaign_id: uint256) -> DynArray[address, MAX_BACKERS]:
    """
    @notice Everyone who funded the campaign.
    """
    return self._backers[campaign_id]


@external
@view
def datasets(campaign_id: uint256) -> DynArray[uint256, MAX_DATASETS]:
    """
    @notice The bounties whose datasets the campaign trains on.
    """
    return self._datasets[campaign_id]


@internal
def _enqueue(campaign_id: uint256, raised: uint256):
    """
    @dev Inserts by funds raised, most first; equal funds keep arrival order.
    """
    assert len(self._queue) < MAX_QUEUE, "TrainingFund: queue full"
    ordered: DynArray[uint256, MAX_QUEUE] = []
    placed: bool = False
    for queued: uint256 in self._queue:
        if not placed and raised > self.campaigns[queued].raised:
            ordered.append(campaign_id)
            placed = True
        ordered.append(queued)
    if not placed:
        ordered.append(campaign_id)
    self._queue = ordered


@internal
def _requeue(campaign_id: uint256, c: Campaign, old: uint8):
    slashed: uint256 = 0
    if self.policy.miss_slash > 0:
        slashed = extcall workers.slash(c.trainer, self.policy.miss_slash, governance)
    extcall workers.record_outcomes(c.trainer, 0, 1)
    log TrainerPenalised(campaign_id=campaign_id, trainer=c.trainer, slashed=slashed)
    self.campaigns[campaign_id].trainer = empty(address)
    self.campaigns[campaign_id].delivery_deadline = 0
    self._enqueue(campaign_id, c.raised)
    self._set_state(campaign_id, old, QUEUED)


@internal
def _mint(model_id: uint256, holders: DynArray[address, MAX_BACKERS], amounts: DynArray[uint256, MAX_BACKERS]):
    """
    @dev Mints in chunks of MINT_CHUNK, skipping zero amounts.
    """
    chunk_holders: DynArray[address, MINT_CHUNK] = []
    chunk_amounts: DynArray[uint256, MINT_CHUNK] = []
    for i: uint256 in range(len(holders), bound=MAX_BACKERS):
        if amounts[i] == 0:
            continue
        chunk_holders.append(holders[i])
        chunk_amounts.append(amounts[i])
        if len(chunk_holders) == MINT_CHUNK:
            extcall shares.mint_batch(chunk_holders, model_id, chunk_amounts)
            chunk_holders = []
            chunk_amounts = []
    if len(chunk_holders) > 0:
        extcall shares.mint_batch(chunk_holders, model_id, chunk_amounts)


@internal
def _set_state(campaign_id: uint256, old: uint8, new: uint8):
    self.campaigns[campaign_id].state = new
    log CampaignStateChanged(campaign_id=campaign_id, old_state=old, new_state=new)


@internal
@view
def _check_policy(p: SharePolicy):
    assert p.backers_bps + p.data_bps < BPS, "TrainingFund: trainer share is zero"


@internal
@view
def _check_governance():
    assert msg.sender == governance, "TrainingFund: caller is not governance"
