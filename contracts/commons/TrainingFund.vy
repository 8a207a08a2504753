# pragma version ~=0.4.3
"""
@title Neural Commons training fund: crowdfunded training with priority compute
@license MIT
@notice Anyone opens a campaign: a model spec, the datasets (data bounties)
        it trains on, a funding goal and deadline, and a delivery window.
        Backers fund it all or nothing: below the goal at the deadline every
        backer takes everything back. Funded campaigns enter a compute queue
        ordered by funds raised (more money, earlier compute); when the
        queue is full a richer campaign evicts the poorest, and whichever
        is left out becomes refundable. A staked trainer claims the head of
        the queue (or, when the head cannot be served, a campaign behind
        it), trains, and delivers an artifact hash and evaluation
        metrics; governance accepts (or rejects). A missed delivery returns
        the campaign to the queue and slashes the trainer, who may not claim
        it again; the third miss fails it, refundable. On acceptance
        the model is registered (and handed to governance) and all its
        shares are minted to this fund, which records each recipient's
        entitlement by a governed split: backers pro-rata to what they
        paid, data contributors by the weights their bounties recorded, the
        trainer the rest; the trainer is paid the escrow. Each recipient
        claims its shares (to an address of its choice) together with the
        inference revenue they earned while the fund held them.
@custom:security The escrow only leaves as backer refunds (failed, evicted,
        expired or cancelled campaigns) or the trainer's payment (accepted
        ones), both pulled. No call loops over recipients: one recipient
        that cannot take shares or ETH blocks only itself. Every state that
        holds the escrow has an exit that anyone can trigger after a
        bounded time (queue timeout, delivery deadline, review period).
        Share amounts are computed with floor division and the trainer
        takes the remainder, so every model has exactly TOTAL_SHARES shares.
        Revenue earned by unclaimed shares is forwarded with a per-model
        accumulator that rounds down: the fund never forwards more than it
        received.
"""

from ..interfaces import IDataBounties
from ..interfaces import IModelRegistry
from ..interfaces import IModelShares
from ..interfaces import IWorkerRegistry

from ..modules import pull_payments
initializes: pull_payments

# sweep_treasury is not exported: the fund never credits the treasury in ETH.
exports: (pull_payments.owed, pull_payments.withdraw, pull_payments.withdraw_to)


TOTAL_SHARES: constant(uint256) = 1_000_000  # shares minted per trained model
BPS: constant(uint256) = 10_000
MAX_DATASETS: constant(uint256) = 4
MAX_BACKERS: constant(uint256) = 64
MAX_QUEUE: constant(uint256) = 32
ERC1155_BATCH: constant(uint256) = 128  # ids per ERC-1155 batch hook (snekmate erc1155 _BATCH_SIZE)
MAX_CONTRIBUTORS: constant(uint256) = 64  # contributors of one dataset (DataBounties.MAX_CONTRIBUTORS)
MAX_URI: constant(uint256) = 256
# Bounds on a campaign's times: a window `claim_head` cannot add to the clock would block the whole queue,
# and a deadline years away would hold its backers' ETH where no vote can release it.
MAX_DELIVERY_WINDOW: constant(uint256) = 365 * 86_400
MAX_FUNDING_PERIOD: constant(uint256) = 365 * 86_400
# Trainers' misses (missed deliveries, rejections) a campaign takes before it
# fails, refundable: a trainer missing and claiming it again could otherwise
# hold the backers' escrow for good, one miss penalty at a time.
MAX_MISSES: constant(uint256) = 3
PRECISION: constant(uint256) = 10**36  # scale of held_revenue_per_share

# Campaign states
FUNDING: constant(uint8) = 1
FAILED: constant(uint8) = 2  # refundable: goal missed, left out of or evicted from the queue, expired, cancelled
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
    stake_locked: uint256  # token wei of the trainer's stake locked while a miss or rejection may slash it
    artifact_hash: bytes32
    manifest_hash: bytes32
    metadata_uri: String[MAX_URI]
    metrics_uri: String[MAX_URI]
    model_id: uint256
    state_since: uint256  # timestamp of the last state change


struct SharePolicy:
    backers_bps: uint256
    data_bps: uint256  # the trainer gets the rest, which must not be zero
    miss_slash: uint256  # token wei taken from a trainer that misses or is rejected


struct CampaignParams:
    min_goal: uint256  # wei: the smallest goal a campaign may set
    queue_timeout: uint256  # seconds a campaign may wait in the queue before anyone can expire it (refunds)
    review_period: uint256  # seconds governance has to accept or reject a delivery before anyone can expire it


governance: public(immutable(address))
registry: public(immutable(IModelRegistry))
shares: public(immutable(IModelShares))
workers: public(immutable(IWorkerRegistry))
bounties: public(immutable(IDataBounties))

policy: public(SharePolicy)
params: public(CampaignParams)
campaigns: public(HashMap[uint256, Campaign])
campaign_count: public(uint256)
contributed: public(HashMap[uint256, HashMap[address, uint256]])  # campaign -> backer -> wei
shares_owed: public(HashMap[uint256, HashMap[address, uint256]])  # campaign -> recipient -> unclaimed shares
held_revenue_per_share: public(HashMap[uint256, uint256])  # model -> wei per unclaimed share, scaled by PRECISION
revenue_held: public(uint256)  # wei of share revenue received and not yet forwarded (rounding dust included)
_datasets: HashMap[uint256, DynArray[uint256, MAX_DATASETS]]
misses: public(HashMap[uint256, uint256])  # campaign -> trainers' misses so far (at MAX_MISSES it fails)
# campaign -> trainer -> it missed this campaign (missed, released, rejected): it may not claim it again, so
# failing a campaign by misses takes MAX_MISSES staked workers, not one claiming and releasing it in a block
missed_by: public(HashMap[uint256, HashMap[address, bool]])
_backers: HashMap[uint256, DynArray[address, MAX_BACKERS]]
_queue: DynArray[uint256, MAX_QUEUE]
_registering: bool  # True only while accept() registers a model: the registry's mint to this fund is expected


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


event CampaignEvicted:
    campaign_id: indexed(uint256)
    by_campaign_id: indexed(uint256)
    raised: uint256


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


event SharesClaimed:
    campaign_id: indexed(uint256)
    account: indexed(address)
    to: indexed(address)
    amount: uint256
    revenue: uint256


event Refunded:
    campaign_id: indexed(uint256)
    backer: indexed(address)
    amount: uint256


event PolicySet:
    old_policy: SharePolicy
    new_policy: SharePolicy


event ParamsSet:
    old_params: CampaignParams
    new_params: CampaignParams


@deploy
def __init__(
    governance_: address,
    registry_: IModelRegistry,
    shares_: IModelShares,
    workers_: IWorkerRegistry,
    bounties_: IDataBounties,
    policy_: SharePolicy,
    params_: CampaignParams,
):
    """
    @param governance_ The timelock: accepts, rejects and cancels, sets the policy and parameters.
    @param registry_ ModelRegistry.
    @param shares_ ModelShares; this contract must be one of its minters.
    @param workers_ WorkerRegistry (trainers are staked workers); this contract must be authorised to slash.
    @param bounties_ DataBounties (dataset weights).
    @param policy_ Initial share split and miss penalty.
    @param params_ Minimum goal, queue timeout and review period.
    """
    governance = governance_
    pull_payments.__init__(governance_)
    registry = registry_
    shares = shares_
    workers = workers_
    bounties = bounties_
    self._check_policy(policy_)
    self.policy = policy_
    self._check_params(params_)
    self.params = params_


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
    @param goal Wei to raise, at least `params.min_goal`.
    @return The campaign id.
    @param spec_uri What to train: the model spec.
    @param datasets Data bounties whose datasets it trains on.
    @param funding_deadline Last timestamp for backing (within a year).
    @param delivery_window Seconds a trainer has after claiming (at most a year).
    """
    assert goal > 0, "TrainingFund: goal is zero"
    assert goal >= self.params.min_goal, "TrainingFund: goal below minimum"
    assert funding_deadline > block.timestamp, "TrainingFund: deadline passed"
    assert funding_deadline <= block.timestamp + MAX_FUNDING_PERIOD, "TrainingFund: deadline over a year away"
    assert delivery_window > 0, "TrainingFund: delivery window is zero"
    assert delivery_window <= MAX_DELIVERY_WINDOW, "TrainingFund: delivery window over a year"
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
        stake_locked=0,
        artifact_hash=empty(bytes32),
        manifest_hash=empty(bytes32),
        metadata_uri="",
        metrics_uri="",
        model_id=0,
        state_since=block.timestamp,
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
    @notice Funds a campaign before its deadline. A new backer pays at least
            goal / 64 (rounded up), so the 64 backer places cannot be filled
            without meeting the goal.
    @param campaign_id The campaign.
    """
    assert self.campaigns[campaign_id].state == FUNDING, "TrainingFund: campaign not funding"
    assert block.timestamp <= self.campaigns[campaign_id].funding_deadline, "TrainingFund: funding closed"
    assert msg.value > 0, "TrainingFund: nothing sent"
    if self.contributed[campaign_id][msg.sender] == 0:
        assert len(self._backers[campaign_id]) < MAX_BACKERS, "TrainingFund: too many backers"
        goal: uint256 = self.campaigns[campaign_id].goal
        assert msg.value >= (goal + MAX_BACKERS - 1) // MAX_BACKERS, "TrainingFund: backing below minimum"
        self._backers[campaign_id].append(msg.sender)
    self.contributed[campaign_id][msg.sender] += msg.value
    raised: uint256 = self.campaigns[campaign_id].raised + msg.value
    self.campaigns[campaign_id].raised = raised
    log Backed(campaign_id=campaign_id, backer=msg.sender, amount=msg.value, raised=raised)


@external
def close_funding(campaign_id: uint256):
    """
    @notice After the funding deadline: a campaign that met its goal enters the
            compute queue (ordered by funds raised; when the queue is full it
            evicts the poorest campaign if it raised more, else it fails);
            one that did not fails. Backers of a failed campaign take their
            money back. Callable by anyone; never blocked by a full queue.
    @param campaign_id The campaign.
    """
    c: Campaign = self.campaigns[campaign_id]
    assert c.state == FUNDING, "TrainingFund: campaign not funding"
    assert block.timestamp > c.funding_deadline, "TrainingFund: funding still open"
    if c.raised >= c.goal and self._enqueue(campaign_id, c.raised):
        self._set_state(campaign_id, FUNDING, QUEUED)
    else:
        self._set_state(campaign_id, FUNDING, FAILED)


@external
def refund(campaign_id: uint256):
    """
    @notice A backer of a failed campaign takes back everything it paid (then `withdraw`).
    @param campaign_id The campaign.
    """
    assert self.campaigns[campaign_id].state == FAILED, "TrainingFund: campaign not failed"
    amount: uint256 = self.contributed[campaign_id][msg.sender]
    assert amount > 0, "TrainingFund: nothing to refund"
    self.contributed[campaign_id][msg.sender] = 0
    pull_payments._credit(msg.sender, amount)
    log Refunded(campaign_id=campaign_id, backer=msg.sender, amount=amount)


@external
def claim_head() -> uint256:
    """
    @notice A staked trainer takes the campaign at the head of the compute queue.
    @return The campaign id.
    """
    assert len(self._queue) > 0, "TrainingFund: queue empty"
    return self._claim(self._queue[0])


@external
def claim(campaign_id: uint256) -> uint256:
    """
    @notice A staked trainer takes a queued campaign out of queue order. The
            head goes first where it can be served (the reference trainer
            claims it when its data can be used), but a head no trainer can
            serve (no usable data) must not hold up every campaign behind it
            until the queue timeout: one campaign that raised the most would
            otherwise stop the compute queue for free (refunded in the end).
    @return The campaign id.
    @param campaign_id The queued campaign.
    """
    assert self.campaigns[campaign_id].state == QUEUED, "TrainingFund: campaign not queued"
    return self._claim(campaign_id)


@internal
def _claim(campaign_id: uint256) -> uint256:
    assert staticcall workers.active_signer(msg.sender) != empty(address), "TrainingFund: caller is not an active worker"
    assert not self.missed_by[campaign_id][msg.sender], "TrainingFund: trainer missed this campaign before"
    self._dequeue(campaign_id)
    deadline: uint256 = block.timestamp + self.campaigns[campaign_id].delivery_window
    # The penalty a miss or a rejection may take stays locked until the
    # campaign leaves the trainer's hands, so unbonding cannot escape it; and
    # it must be covered by stake nothing else has locked, so one minimum
    # stake cannot hold the whole queue against penalties it could not pay.
    penalty: uint256 = self.policy.miss_slash
    assert staticcall workers.free_stake(msg.sender) >= penalty, "TrainingFund: free stake below the penalty"
    if penalty > 0:
        extcall workers.lock(msg.sender, penalty)
    self.campaigns[campaign_id].trainer = msg.sender
    self.campaigns[campaign_id].delivery_deadline = deadline
    self.campaigns[campaign_id].stake_locked = penalty
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
            Governance then has `params.review_period` to accept or reject it.
    @param campaign_id The campaign.
    @param artifact_hash keccak256 of the trained artifact.
    @param manifest_hash keccak256 of its manifest.
    @param metadata_uri Where the model is described.
    @param metrics_uri Where its evaluation metrics are.
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
            (or fails, refundable, if the queue is full of richer campaigns
            or this was its `MAX_MISSES`th miss) and the trainer is slashed.
            Callable by anyone.
    @param campaign_id The campaign.
    """
    c: Campaign = self.campaigns[campaign_id]
    assert c.state == TRAINING, "TrainingFund: campaign not training"
    assert block.timestamp > c.delivery_deadline, "TrainingFund: delivery deadline not passed"
    self._requeue(campaign_id, c, TRAINING)


@external
def release(campaign_id: uint256):
    """
    @notice The trainer gives a claimed campaign up before its deadline (it
            cannot train or deliver it). Same outcome as a missed delivery,
            at once: back to the queue, the trainer slashed and recorded as
            a miss. Releasing never avoids the penalty; it spares everyone
            the wait.
    @param campaign_id The campaign.
    """
    c: Campaign = self.campaigns[campaign_id]
    assert c.state == TRAINING, "TrainingFund: campaign not training"
    assert msg.sender == c.trainer, "TrainingFund: caller is not the trainer"
    self._requeue(campaign_id, c, TRAINING)


@external
def reject(campaign_id: uint256):
    """
    @notice Governance turns a delivery down: back to the queue, trainer slashed.
    @param campaign_id The campaign.
    """
    self._check_governance()
    c: Campaign = self.campaigns[campaign_id]
    assert c.state == DELIVERED, "TrainingFund: campaign not delivered"
    self._requeue(campaign_id, c, DELIVERED)


@external
def cancel(campaign_id: uint256):
    """
    @notice Governance ends a queued, training or delivered campaign (for
            example one whose data cannot be trained on): it fails and its
            backers take their money back. The trainer, if any, is not
            penalised.
    @param campaign_id The campaign.
    """
    self._check_governance()
    state: uint8 = self.campaigns[campaign_id].state
    assert state == QUEUED or state == TRAINING or state == DELIVERED, "TrainingFund: campaign not in progress"
    if state == QUEUED:
        self._dequeue(campaign_id)
    else:
        self._release_trainer(campaign_id)
    self._set_state(campaign_id, state, FAILED)


@external
def expire(campaign_id: uint256):
    """
    @notice Ends a campaign nobody moved in time; its backers take their money
            back. A queued campaign no trainer took within
            `params.queue_timeout`, or a delivery governance neither accepted
            nor rejected within `params.review_period`, fails (the trainer of
            an unreviewed delivery is not penalised). Callable by anyone.
    @param campaign_id The campaign.
    """
    c: Campaign = self.campaigns[campaign_id]
    timeout: uint256 = 0
    if c.state == QUEUED:
        timeout = self.params.queue_timeout
    elif c.state == DELIVERED:
        timeout = self.params.review_period
    else:
        raise "TrainingFund: campaign not queued or delivered"
    assert block.timestamp > c.state_since + timeout, "TrainingFund: not expired yet"
    if c.state == QUEUED:
        self._dequeue(campaign_id)
    else:
        self._release_trainer(campaign_id)
    self._set_state(campaign_id, c.state, FAILED)


@external
def accept(campaign_id: uint256, price: uint256) -> uint256:
    """
    @notice Governance accepts a delivery: registers the model (owned by
            governance, listed like any model), mints all its shares to this
            fund and records each recipient's entitlement (backers, data
            contributors, the trainer), and pays the trainer the escrow.
            Recipients take their shares with `claim_shares`: no recipient
            can block the acceptance.
    @return The model id.
    @param campaign_id The campaign.
    @param price Wei per inference of the registered model.
    """
    self._check_governance()
    c: Campaign = self.campaigns[campaign_id]
    assert c.state == DELIVERED, "TrainingFund: campaign not delivered"
    backers_pool: uint256 = TOTAL_SHARES * self.policy.backers_bps // BPS
    data_pool: uint256 = TOTAL_SHARES * self.policy.data_bps // BPS

    backers_minted: uint256 = 0
    for backer: address in self._backers[campaign_id]:
        amount: uint256 = backers_pool * self.contributed[campaign_id][backer] // c.raised
        self.shares_owed[campaign_id][backer] += amount
        backers_minted += amount

    total_weight: uint256 = 0
    for bounty_id: uint256 in self._datasets[campaign_id]:
        total_weight += staticcall bounties.dataset_total_weight(bounty_id)
    data_minted: uint256 = 0
    if total_weight == 0:
        data_pool = 0  # no accepted data: the trainer keeps that part
    else:
        for bounty_id: uint256 in self._datasets[campaign_id]:
            contributors: DynArray[address, MAX_CONTRIBUTORS] = staticcall bounties.dataset_contributors(bounty_id)
            for contributor: address in contributors:
                amount: uint256 = data_pool * staticcall bounties.dataset_weight(bounty_id, contributor) // total_weight
                self.shares_owed[campaign_id][contributor] += amount
                data_minted += amount
    # Floor-division remainders go to the trainer: the shares add up exactly.
    trainer_amount: uint256 = TOTAL_SHARES - backers_minted - data_minted
    self.shares_owed[campaign_id][c.trainer] += trainer_amount
    self._release_trainer(campaign_id)
    self._set_state(campaign_id, DELIVERED, ACCEPTED)

    # All shares go to this fund (one at registration, the rest here); no recipient's hook runs.
    self._registering = True
    model_id: uint256 = extcall registry.register_model(
        c.artifact_hash, c.manifest_hash, c.metadata_uri, price, [self], [1]
    )
    self._registering = False
    self.campaigns[campaign_id].model_id = model_id
    extcall registry.transfer_model(model_id, governance)
    extcall shares.mint_batch([self], model_id, [TOTAL_SHARES - 1])
    pull_payments._credit(c.trainer, c.raised)
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
def claim_shares(campaign_id: uint256, to: address) -> uint256:
    """
    @notice Sends the caller's shares of an accepted campaign's model to `to`
            (the caller itself, or another address it controls, e.g. when the
            caller is a contract without the ERC-1155 receiver hook), and
            credits `to` with the inference revenue those shares earned while
            the fund held them (then `withdraw`).
    @return The number of shares sent.
    @param campaign_id The campaign.
    @param to Who receives the shares and their revenue.
    """
    amount: uint256 = self.shares_owed[campaign_id][msg.sender]
    assert amount > 0, "TrainingFund: no shares to claim"
    assert to != empty(address) and to != self, "TrainingFund: invalid receiver"
    model_id: uint256 = self.campaigns[campaign_id].model_id
    per_share: uint256 = self._collect_revenue(model_id)
    # Every entitlement of this model was recorded at acceptance, when its revenue was zero.
    revenue: uint256 = amount * per_share // PRECISION
    self.shares_owed[campaign_id][msg.sender] = 0
    if revenue > 0:
        self.revenue_held -= revenue
        pull_payments._credit(to, revenue)
    log SharesClaimed(campaign_id=campaign_id, account=msg.sender, to=to, amount=amount, revenue=revenue)
    extcall shares.safeTransferFrom(self, to, model_id, amount, b"")
    return amount


@external
def set_policy(new_policy: SharePolicy):
    """
    @notice Governance sets the share split of trained models and the miss penalty.
    @param new_policy Share split and trainer miss penalty.
    """
    self._check_governance()
    self._check_policy(new_policy)
    log PolicySet(old_policy=self.policy, new_policy=new_policy)
    self.policy = new_policy


@external
def set_params(new_params: CampaignParams):
    """
    @notice Governance sets the minimum goal, the queue timeout and the review period.
    @param new_params Minimum goal, queue timeout and review period.
    """
    self._check_governance()
    self._check_params(new_params)
    log ParamsSet(old_params=self.params, new_params=new_params)
    self.params = new_params


@external
def onERC1155Received(operator: address, owner: address, id: uint256, amount: uint256, data: Bytes[1_024]) -> bytes4:
    """
    @notice Takes only the shares this fund mints itself at acceptance (or
            the registry mints to it): a share sent by anyone else would
            earn revenue nobody is entitled to.
    @param operator Who sent.
    @param owner Previous owner.
    @param id Token id.
    @param amount Shares received.
    @param data Unused.
    @return The acceptance selector.
    """
    self._check_own_mint(operator, owner)
    return method_id("onERC1155Received(address,address,uint256,uint256,bytes)", output_type=bytes4)


@external
def onERC1155BatchReceived(
    operator: address,
    owner: address,
    ids: DynArray[uint256, ERC1155_BATCH],
    amounts: DynArray[uint256, ERC1155_BATCH],
    data: Bytes[1_024],
) -> bytes4:
    """
    @notice As `onERC1155Received`.
    @param operator Who sent.
    @param owner Previous owner.
    @param ids Token ids.
    @param amounts Shares received.
    @param data Unused.
    @return The acceptance selector (only for its own mints).
    """
    self._check_own_mint(operator, owner)
    return method_id("onERC1155BatchReceived(address,address,uint256[],uint256[],bytes)", output_type=bytes4)


@external
@payable
def __default__():
    """
    @notice Receives the revenue ModelShares pays for unclaimed shares; nothing else.
    """
    assert msg.sender == shares.address, "TrainingFund: unexpected ether"


@external
@view
def queue() -> DynArray[uint256, MAX_QUEUE]:
    """
    @notice Funded campaigns waiting for compute, head first.
    @return Campaign ids in compute order.
    """
    return self._queue


@external
@view
def backers(campaign_id: uint256) -> DynArray[address, MAX_BACKERS]:
    """
    @notice Everyone who funded the campaign.
    @param campaign_id The campaign.
    @return Its backers.
    """
    return self._backers[campaign_id]


@external
@view
def datasets(campaign_id: uint256) -> DynArray[uint256, MAX_DATASETS]:
    """
    @notice The bounties whose datasets the campaign trains on.
    @param campaign_id The campaign.
    @return Its bounty ids.
    """
    return self._datasets[campaign_id]


@external
@view
def claimable_revenue(campaign_id: uint256, account: address) -> uint256:
    """
    @notice Wei `claim_shares` would credit with `account`'s shares now.
    @param campaign_id The campaign.
    @param account A recipient of its shares.
    @return Wei its unclaimed shares earned so far.
    """
    model_id: uint256 = self.campaigns[campaign_id].model_id
    per_share: uint256 = self.held_revenue_per_share[model_id]
    held: uint256 = staticcall shares.balanceOf(self, model_id)
    if held > 0:
        per_share += staticcall shares.withdrawable_revenue(self, [model_id]) * PRECISION // held
    return self.shares_owed[campaign_id][account] * per_share // PRECISION


@internal
def _collect_revenue(model_id: uint256) -> uint256:
    """
    @dev Withdraws the revenue the fund's unclaimed shares of `model_id` earned
         and spreads it over them. The fund refuses every share it did not
         mint, and withdraws before each of its transfers, so its revenue in
         ModelShares always comes from this model's unclaimed shares.
         Returns the model's wei per unclaimed share, scaled by PRECISION.
    """
    per_share: uint256 = self.held_revenue_per_share[model_id]
    if staticcall shares.withdrawable_revenue(self, [model_id]) == 0:
        return per_share
    held: uint256 = staticcall shares.balanceOf(self, model_id)
    received: uint256 = extcall shares.withdraw_revenue([model_id])
    # held > 0: revenue accrued, so the fund holds shares of this model.
    per_share += received * PRECISION // held
    self.held_revenue_per_share[model_id] = per_share
    self.revenue_held += received
    return per_share


@internal
def _enqueue(campaign_id: uint256, raised: uint256) -> bool:
    """
    @dev Inserts by funds raised, most first; equal funds keep arrival order.
         A full queue drops its last campaign (which fails, refundable) if
         this one raised more; otherwise this one stays out (returns False).
    """
    queue: DynArray[uint256, MAX_QUEUE] = self._queue
    if len(queue) == MAX_QUEUE:
        last: uint256 = queue[MAX_QUEUE - 1]
        if raised <= self.campaigns[last].raised:
            return False
        queue.pop()
        self._set_state(last, QUEUED, FAILED)
        log CampaignEvicted(campaign_id=last, by_campaign_id=campaign_id, raised=self.campaigns[last].raised)
    ordered: DynArray[uint256, MAX_QUEUE] = []
    placed: bool = False
    for queued: uint256 in queue:
        if not placed and raised > self.campaigns[queued].raised:
            ordered.append(campaign_id)
            placed = True
        ordered.append(queued)
    if not placed:
        ordered.append(campaign_id)
    self._queue = ordered
    return True


@internal
def _dequeue(campaign_id: uint256):
    remaining: DynArray[uint256, MAX_QUEUE] = []
    for queued: uint256 in self._queue:
        if queued != campaign_id:
            remaining.append(queued)
    self._queue = remaining


@internal
def _requeue(campaign_id: uint256, c: Campaign, old: uint8):
    # The penalty is the one locked at claim: a later policy change neither
    # raises it past what the trainer agreed to nor lets it escape.
    slashed: uint256 = 0
    if c.stake_locked > 0:
        slashed = extcall workers.slash(c.trainer, c.stake_locked, governance)
    self._release_trainer(campaign_id)
    extcall workers.record_outcomes(c.trainer, 0, 1)
    log TrainerPenalised(campaign_id=campaign_id, trainer=c.trainer, slashed=slashed)
    self.campaigns[campaign_id].trainer = empty(address)
    self.campaigns[campaign_id].delivery_deadline = 0
    misses: uint256 = self.misses[campaign_id] + 1
    self.misses[campaign_id] = misses
    self.missed_by[campaign_id][c.trainer] = True
    if misses < MAX_MISSES and self._enqueue(campaign_id, c.raised):
        self._set_state(campaign_id, old, QUEUED)
    else:
        self._set_state(campaign_id, old, FAILED)


@internal
def _release_trainer(campaign_id: uint256):
    locked: uint256 = self.campaigns[campaign_id].stake_locked
    if locked > 0:
        self.campaigns[campaign_id].stake_locked = 0
        extcall workers.unlock(self.campaigns[campaign_id].trainer, locked)


@internal
def _set_state(campaign_id: uint256, old: uint8, new: uint8):
    self.campaigns[campaign_id].state = new
    self.campaigns[campaign_id].state_since = block.timestamp
    log CampaignStateChanged(campaign_id=campaign_id, old_state=old, new_state=new)


@internal
@view
def _check_own_mint(operator: address, owner: address):
    assert msg.sender == shares.address, "TrainingFund: not a model share"
    assert owner == empty(address), "TrainingFund: shares not accepted"
    assert operator == self or (operator == registry.address and self._registering), "TrainingFund: shares not accepted"


@internal
@view
def _check_policy(p: SharePolicy):
    assert p.backers_bps + p.data_bps < BPS, "TrainingFund: trainer share is zero"


@internal
@pure
def _check_params(p: CampaignParams):
    assert p.queue_timeout > 0 and p.review_period > 0, "TrainingFund: period is zero"


@internal
@view
def _check_governance():
    assert msg.sender == governance, "TrainingFund: caller is not governance"
