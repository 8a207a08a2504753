# pragma version ~=0.4.3
"""
@title Neural Commons data bounties
@license MIT
@notice Governance opens a bounty: a spec, a reward in governance tokens per
        accepted item, a budget, a deadline, validators and their quorum.
        Contributors submit content-hashed contributions; validators vote;
        once a quorum accepts, a challenge window opens in which anyone may
        dispute the contribution with a bond; an upheld challenge claws the
        reward back (it is never minted). After the window the contributor
        claims the reward, minted through the minter role governance grants
        this contract, and joins the bounty's dataset with a weight equal to
        its accepted items. Training campaigns read those weights to share
        model revenue with the people who made the data.
@custom:security The budget caps what one bounty can ever mint: rewards are
        reserved when a quorum accepts and released if the contribution is
        rejected by challenge.
"""

interface IMintable:
    def mint(owner: address, amount: uint256): nonpayable


MAX_VALIDATORS: constant(uint256) = 16
MAX_CONTRIBUTORS: constant(uint256) = 64  # distinct contributors in one dataset
MAX_URI: constant(uint256) = 256

# Contribution status
PENDING: constant(uint8) = 1  # waiting for votes
ACCEPTED: constant(uint8) = 2  # quorum accepted; challenge window running
REJECTED: constant(uint8) = 3
CHALLENGED: constant(uint8) = 4
REWARDED: constant(uint8) = 5  # reward minted; part of the dataset


struct Bounty:
    spec_uri: String[MAX_URI]
    reward_per_item: uint256  # token wei
    budget: uint256  # token wei this bounty may ever mint
    reserved: uint256  # token wei reserved by accepted contributions
    deadline: uint256  # last timestamp for submissions
    quorum: uint256  # votes needed to accept or reject
    challenge_window: uint256  # seconds after acceptance


struct Contribution:
    bounty_id: uint256
    contributor: address
    content_hash: bytes32
    uri: String[MAX_URI]
    item_count: uint256
    status: uint8
    accepts: uint256
    rejects: uint256
    accepted_at: uint256
    challenger: address
    bond: uint256


governance: public(immutable(address))
token: public(immutable(IMintable))

bounties: public(HashMap[uint256, Bounty])
bounty_count: public(uint256)
is_validator: public(HashMap[uint256, HashMap[address, bool]])
contributions: public(HashMap[uint256, Contribution])
contribution_count: public(uint256)
has_voted: public(HashMap[uint256, HashMap[address, bool]])
challenge_bond: public(uint256)  # wei
owed: public(HashMap[address, uint256])  # bonds returned or forfeited, in wei

# The dataset of each bounty: rewarded contributors and their weights (items).
dataset_weight: public(HashMap[uint256, HashMap[address, uint256]])
dataset_total_weight: public(HashMap[uint256, uint256])
_dataset_contributors: HashMap[uint256, DynArray[address, MAX_CONTRIBUTORS]]


event BountyOpened:
    bounty_id: indexed(uint256)
    spec_uri: String[MAX_URI]
    reward_per_item: uint256
    budget: uint256
    deadline: uint256
    quorum: uint256


event ContributionSubmitted:
    contribution_id: indexed(uint256)
    bounty_id: indexed(uint256)
    contributor: indexed(address)
    content_hash: bytes32
    uri: String[MAX_URI]
    items: uint256


event Voted:
    contribution_id: indexed(uint256)
    validator: indexed(address)
    accept: bool


event ContributionStatusChanged:
    contribution_id: indexed(uint256)
    old_status: uint8
    new_status: uint8


event ContributionChallenged:
    contribution_id: indexed(uint256)
    challenger: indexed(address)
    reason_uri: String[MAX_URI]


event RewardClaimed:
    contribution_id: indexed(uint256)
    contributor: indexed(address)
    amount: uint256


event ChallengeBondSet:
    old_bond: uint256
    new_bond: uint256


event Withdrawn:
    account: indexed(address)
    amount: uint256


@deploy
def __init__(governance_: address, token_: IMintable, challenge_bond_: uint256):
    """
    @param governance_ The timelock: opens bounties, resolves challenges.
    @param token_ The governance token; this contract must be one of its minters.
    @param challenge_bond_ Wei a challenger posts.
    """
    governance = governance_
    token = token_
    self.challenge_bond = challenge_bond_


@external
def open_bounty(
    spec_uri: String[MAX_URI],
    reward_per_item: uint256,
    budget: uint256,
    deadline: uint256,
    validators: DynArray[address, MAX_VALIDATORS],
    quorum: uint256,
    challenge_window: uint256,
) -> uint256:
    """
    @notice Governance posts a bounty.
    @return The bounty id.
    """
    self._check_governance()
    assert deadline > block.timestamp, "DataBounties: deadline passed"
    assert quorum > 0 and quorum <= len(validators), "DataBounties: quorum out of range"
    assert reward_per_item > 0 and budget >= reward_per_item, "DataBounties: budget below one reward"
    bounty_id: uint256 = self.bounty_count + 1
    self.bounty_count = bounty_id
    self.bounties[bounty_id] = Bounty(
        spec_uri=spec_uri,
        reward_per_item=reward_per_item,
        budget=budget,
        reserved=0,
        deadline=deadline,
        quorum=quorum,
        challenge_window=challenge_window,
    )
    for validator: address in validators:
        assert not self.is_validator[bounty_id][validator], "DataBounties: duplicate validator"
        self.is_validator[bounty_id][validator] = True
    log BountyOpened(
        bounty_id=bounty_id,
        spec_uri=spec_uri,
        reward_per_item=reward_per_item,
        budget=budget,
        deadline=deadline,
        quorum=quorum,
    )
    return bounty_id


@external
def submit(bounty_id: uint256, content_hash: bytes32, uri: String[MAX_URI], items: uint256) -> uint256:
    """
    @notice Submits `items` data items whose bytes hash to `content_hash`.
    @return The contribution id.
    """
    deadline: uint256 = self.bounties[bounty_id].deadline
    assert deadline != 0, "DataBounties: unknown bounty"
    assert block.timestamp <= deadline, "DataBounties: bounty closed"
    assert content_hash != empty(bytes32), "DataBounties: empty content hash"
    assert items > 0, "DataBounties: no items"
    contribution_id: uint256 = self.contribution_count + 1
    self.contribution_count = contribution_id
    self.contributions[contribution_id] = Contribution(
        bounty_id=bounty_id,
        contributor=msg.sender,
        content_hash=content_hash,
        uri=uri,
        item_count=items,
        status=PENDING,
        accepts=0,
        rejects=0,
        accepted_at=0,
        challenger=empty(address),
        bond=0,
    )
    log ContributionSubmitted(
        contribution_id=contribution_id,
        bounty_id=bounty_id,
        contributor=msg.sender,
        content_hash=content_hash,
        uri=uri,
        items=items,
    )
    return contribution_id


@external
def vote(contribution_id: uint256, accept: bool):
    """
    @notice A validator of the bounty accepts or rejects a pending contribution.
            The first side to reach the quorum decides.
    """
    c: Contribution = self.contributions[contribution_id]
    assert c.status == PENDING, "DataBounties: contribution not pending"
    assert self.is_validator[c.bounty_id][msg.sender], "DataBounties: caller is not a validator"
    assert not self.has_voted[contribution_id][msg.sender], "DataBounties: already voted"
    self.has_voted[contribution_id][msg.sender] = True
    log Voted(contribution_id=contribution_id, validator=msg.sender, accept=accept)
    quorum: uint256 = self.bounties[c.bounty_id].quorum
    if accept:
        self.contributions[contribution_id].accepts = c.accepts + 1
        if c.accepts + 1 >= quorum:
            reward: uint256 = c.item_count * self.bounties[c.bounty_id].reward_per_item
            reserved: uint256 = self.bounties[c.bounty_id].reserved + reward
            assert reserved <= self.bounties[c.bounty_id].budget, "DataBounties: bounty budget exhausted"
            self.bounties[c.bounty_id].reserved = reserved
            self.contributions[contribution_id].accepted_at = block.timestamp
            self._set_status(contribution_id, PENDING, ACCEPTED)
    else:
        self.contributions[contribution_id].rejects = c.rejects + 1
        if c.rejects + 1 >= quorum:
            self._set_status(contribution_id, PENDING, REJECTED)


@external
@payable
def challenge(contribution_id: uint256, reason_uri: String[MAX_URI]):
    """
    @notice Disputes an accepted contribution inside its window, with the bond.
    """
    c: Contribution = self.contributions[contribution_id]
    assert c.status == ACCEPTED, "DataBounties: contribution not accepted"
    assert block.timestamp <= c.accepted_at + self.bounties[c.bounty_id].challenge_window, "DataBounties: challenge window closed"
    assert msg.value == self.challenge_bond, "DataBounties: wrong challenge bond"
    self.contributions[contribution_id].challenger = msg.sender
    self.contributions[contribution_id].bond = msg.value
    self._set_status(contribution_id, ACCEPTED, CHALLENGED)
    log ContributionChallenged(contribution_id=contribution_id, challenger=msg.sender, reason_uri=reason_uri)


@external
def resolve_challenge(contribution_id: uint256, upheld: bool):
    """
    @notice Governance settles a dispute. Upheld: the contribution is rejected,
            its reserved reward returns to the budget and the challenger gets
            its bond back. Dismissed: the bond goes to the contributor and the
            reward can be claimed.
    """
    self._check_governance()
    c: Contribution = self.contributions[contribution_id]
    assert c.status == CHALLENGED, "DataBounties: contribution not challenged"
    if upheld:
        self.bounties[c.bounty_id].reserved -= c.item_count * self.bounties[c.bounty_id].reward_per_item
        self.owed[c.challenger] += c.bond
        self._set_status(contribution_id, CHALLENGED, REJECTED)
    else:
        self.owed[c.contributor] += c.bond
        # The window is over: a dismissed challenge cannot be repeated.
        self.contributions[contribution_id].accepted_at = 0
        self._set_status(contribution_id, CHALLENGED, ACCEPTED)


@external
def claim_reward(contribution_id: uint256) -> uint256:
    """
    @notice After the challenge window, mints the contributor's reward and adds
            it to the bounty's dataset. Callable by anyone.
    @return The reward in token wei.
    """
    c: Contribution = self.contributions[contribution_id]
    assert c.status == ACCEPTED, "DataBounties: contribution not accepted"
    assert block.timestamp > c.accepted_at + self.bounties[c.bounty_id].challenge_window, "DataBounties: challenge window open"
    reward: uint256 = c.item_count * self.bounties[c.bounty_id].reward_per_item
    if self.dataset_weight[c.bounty_id][c.contributor] == 0:
        assert len(self._dataset_contributors[c.bounty_id]) < MAX_CONTRIBUTORS, "DataBounties: dataset full"
        self._dataset_contributors[c.bounty_id].append(c.contributor)
    self.dataset_weight[c.bounty_id][c.contributor] += c.item_count
    self.dataset_total_weight[c.bounty_id] += c.item_count
    self._set_status(contribution_id, ACCEPTED, REWARDED)
    log RewardClaimed(contribution_id=contribution_id, contributor=c.contributor, amount=reward)
    extcall token.mint(c.contributor, reward)
    return reward


@external
@nonreentrant
def withdraw() -> uint256:
    """
    @notice Sends the caller the bonds owed to it.
    """
    amount: uint256 = self.owed[msg.sender]
    assert amount > 0, "DataBounties: nothing to withdraw"
    self.owed[msg.sender] = 0
    log Withdrawn(account=msg.sender, amount=amount)
    raw_call(msg.sender, b"", value=amount)
    return amount


@external
def set_challenge_bond(bond: uint256):
    """
    @notice Governance sets the bond a challenger posts.
    """
    self._check_governance()
    log ChallengeBondSet(old_bond=self.challenge_bond, new_bond=bond)
    self.challenge_bond = bond


@external
@view
def dataset_contributors(bounty_id: uint256) -> DynArray[address, MAX_CONTRIBUTORS]:
    """
    @notice The rewarded contributors of a bounty's dataset (weights in dataset_weight).
    """
    return self._dataset_contributors[bounty_id]


@internal
def _set_status(contribution_id: uint256, old: uint8, new: uint8):
    self.contributions[contribution_id].status = new
    log ContributionStatusChanged(contribution_id=contribution_id, old_status=old, new_status=new)


@internal
@view
def _check_governance():
    assert msg.sender == governance, "DataBounties: caller is not governance"
