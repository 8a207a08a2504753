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
        A content hash is held by at most one live contribution across all
        bounties: the same bytes are never rewarded or weighted twice.
@custom:security The budget caps what one bounty can ever mint: rewards are
        reserved when a quorum accepts and released if the contribution is
        rejected by challenge. Every contribution ends: a deciding accept
        vote the budget cannot cover declines it, a vote after which
        neither side can reach the quorum declines it, and one that
        validators (or, for a challenge, governance) leave undecided for
        `review_period` can be ended by anyone. A rejected or declined
        contribution frees its content hash for a later submission.
        A submission takes two steps: `commit` a hash of the content hash
        and the contributor, then, in a later block, `submit`. The first
        submitter of a hash holds it, and a copier who reads the hash from a
        pending `submit` can only commit to it in that block or later, so
        its own `submit` comes after the honest one: front-running the
        mempool takes no one's place (a block builder who withholds the
        honest `submit` for a block still could; publish the data after the
        submission, or send it privately).
"""

from ..interfaces import IMintable

from ..modules import pull_payments
initializes: pull_payments

# sweep_treasury is not exported: bounties never credit the treasury.
exports: (pull_payments.owed, pull_payments.withdraw, pull_payments.withdraw_to)


MAX_VALIDATORS: constant(uint256) = 16
MAX_CONTRIBUTORS: constant(uint256) = 64  # distinct contributors in one dataset
MAX_URI: constant(uint256) = 256

# Contribution status
PENDING: constant(uint8) = 1  # waiting for votes
ACCEPTED: constant(uint8) = 2  # quorum accepted; challenge window running
REJECTED: constant(uint8) = 3
CHALLENGED: constant(uint8) = 4
REWARDED: constant(uint8) = 5  # reward minted; part of the dataset
# A declined contribution ends as REJECTED, with a ContributionDeclined reason.


struct Bounty:
    spec_uri: String[MAX_URI]
    reward_per_item: uint256  # token wei
    budget: uint256  # token wei this bounty may ever mint
    reserved: uint256  # token wei reserved by accepted contributions
    deadline: uint256  # last timestamp for submissions
    quorum: uint256  # votes needed to accept or reject
    challenge_window: uint256  # seconds after acceptance
    validator_count: uint256


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
    submitted_at: uint256
    challenged_at: uint256


governance: public(immutable(address))
token: public(immutable(IMintable))

bounties: public(HashMap[uint256, Bounty])
bounty_count: public(uint256)
is_validator: public(HashMap[uint256, HashMap[address, bool]])
contributions: public(HashMap[uint256, Contribution])
contribution_count: public(uint256)
has_voted: public(HashMap[uint256, HashMap[address, bool]])
challenge_bond: public(uint256)  # wei
review_period: public(uint256)  # seconds a vote (from submission) or a challenge resolution may take
# content hash -> the contribution holding it (0: never submitted). A rejected holder keeps the hash for its
# contributor: only they may submit it again (a copier who committed to the public hash could otherwise take
# it the moment a decline frees it: an expiry, a full dataset, an upheld challenge).
content_holder: public(HashMap[bytes32, uint256])
# keccak256(abi_encode(content_hash, contributor)) -> the block it was committed in (0: never)
commitments: public(HashMap[bytes32, uint256])

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


event ContributionCommitted:
    contributor: indexed(address)
    commitment: bytes32


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


event ContributionDeclined:
    contribution_id: indexed(uint256)
    reason: String[32]


event ChallengeLapsed:
    contribution_id: indexed(uint256)
    challenger: indexed(address)
    bond: uint256


event RewardClaimed:
    contribution_id: indexed(uint256)
    contributor: indexed(address)
    amount: uint256


event ChallengeBondSet:
    old_bond: uint256
    new_bond: uint256


event ReviewPeriodSet:
    old_period: uint256
    new_period: uint256


@deploy
def __init__(governance_: address, token_: IMintable, challenge_bond_: uint256, review_period_: uint256):
    """
    @param governance_ The timelock: opens bounties, resolves challenges.
    @param token_ The governance token; this contract must be one of its minters.
    @param challenge_bond_ Wei a challenger posts.
    @param review_period_ Seconds validators have to decide a submission, and governance a challenge.
    """
    assert review_period_ > 0, "DataBounties: review period is zero"
    governance = governance_
    token = token_
    pull_payments.__init__(governance_)
    self.challenge_bond = challenge_bond_
    self.review_period = review_period_


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
    @param spec_uri What data is wanted.
    @param reward_per_item Token wei per accepted item.
    @param budget Token wei the bounty may ever mint.
    @param deadline Last timestamp for submissions.
    @param validators Who votes on submissions.
    @param quorum Votes needed to accept or reject.
    @param challenge_window Seconds after acceptance when anyone may challenge.
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
        validator_count=len(validators),
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
def commit(commitment: bytes32):
    """
    @notice The first step of a submission: binds a content hash to its
            contributor before the hash is public. `submit` accepts the
            hash from this caller in any later block. A commitment is kept
            (a resubmission after a rejection needs none); committing the
            same value again is refused, so its block never moves.
    @param commitment keccak256(abi_encode(content_hash, contributor)),
           `commitment_of` computes it.
    """
    assert commitment != empty(bytes32), "DataBounties: empty commitment"
    assert self.commitments[commitment] == 0, "DataBounties: already committed"
    self.commitments[commitment] = block.number
    log ContributionCommitted(contributor=msg.sender, commitment=commitment)


@external
@pure
def commitment_of(content_hash: bytes32, contributor: address) -> bytes32:
    """
    @notice The value `contributor` commits to before submitting `content_hash`.
    @param content_hash keccak256 of the contributed data.
    @param contributor The account that will submit it.
    @return keccak256(abi_encode(content_hash, contributor)).
    """
    return self._commitment(content_hash, contributor)


@external
def submit(bounty_id: uint256, content_hash: bytes32, uri: String[MAX_URI], items: uint256) -> uint256:
    """
    @notice Submits `items` data items whose bytes hash to `content_hash`.
            The caller must have committed to the hash in an earlier block
            (`commit`). A hash already held by a live or rewarded
            contribution (in any bounty) is refused; a rejected one may be
            submitted again by its contributor only.
    @return The contribution id.
    @param bounty_id The bounty.
    @param content_hash keccak256 of the contributed data.
    @param uri Where the data is.
    @param items How many items it holds.
    """
    deadline: uint256 = self.bounties[bounty_id].deadline
    assert deadline != 0, "DataBounties: unknown bounty"
    assert block.timestamp <= deadline, "DataBounties: bounty closed"
    assert content_hash != empty(bytes32), "DataBounties: empty content hash"
    assert items > 0, "DataBounties: no items"
    holder: uint256 = self.content_holder[content_hash]
    if holder != 0:
        assert self.contributions[holder].status == REJECTED, "DataBounties: content already submitted"
        assert self.contributions[holder].contributor == msg.sender, "DataBounties: content held by its contributor"
    committed: uint256 = self.commitments[self._commitment(content_hash, msg.sender)]
    assert committed != 0, "DataBounties: content not committed"
    assert committed < block.number, "DataBounties: committed in this block"
    contribution_id: uint256 = self.contribution_count + 1
    self.contribution_count = contribution_id
    self.content_holder[content_hash] = contribution_id
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
        submitted_at=block.timestamp,
        challenged_at=0,
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
            The first side to reach the quorum decides. A deciding accept vote
            the bounty's budget cannot cover declines the contribution, and
            so does a vote after which neither side can reach the quorum.
    @param contribution_id The contribution.
    @param accept The validator's verdict.
    """
    c: Contribution = self.contributions[contribution_id]
    assert c.status == PENDING, "DataBounties: contribution not pending"
    assert self.is_validator[c.bounty_id][msg.sender], "DataBounties: caller is not a validator"
    assert not self.has_voted[contribution_id][msg.sender], "DataBounties: already voted"
    self.has_voted[contribution_id][msg.sender] = True
    log Voted(contribution_id=contribution_id, validator=msg.sender, accept=accept)
    b: Bounty = self.bounties[c.bounty_id]
    accepts: uint256 = c.accepts
    rejects: uint256 = c.rejects
    if accept:
        accepts += 1
        self.contributions[contribution_id].accepts = accepts
        if accepts >= b.quorum:
            reserved: uint256 = b.reserved + c.item_count * b.reward_per_item
            if reserved > b.budget:
                self._decline(contribution_id, PENDING, "over budget")
                return
            self.bounties[c.bounty_id].reserved = reserved
            self.contributions[contribution_id].accepted_at = block.timestamp
            self._set_status(contribution_id, PENDING, ACCEPTED)
            return
    else:
        rejects += 1
        self.contributions[contribution_id].rejects = rejects
        if rejects >= b.quorum:
            self._reject(contribution_id, PENDING)
            return
    # Each validator votes once: accepts + rejects <= validator_count.
    remaining: uint256 = unsafe_sub(b.validator_count, accepts + rejects)
    if accepts + remaining < b.quorum and rejects + remaining < b.quorum:
        self._decline(contribution_id, PENDING, "no quorum possible")


@external
@payable
def challenge(contribution_id: uint256, reason_uri: String[MAX_URI]):
    """
    @notice Disputes an accepted contribution inside its window, with the bond.
    @param contribution_id The contribution.
    @param reason_uri Where the challenger explains why.
    """
    c: Contribution = self.contributions[contribution_id]
    assert c.status == ACCEPTED, "DataBounties: contribution not accepted"
    assert block.timestamp <= c.accepted_at + self.bounties[c.bounty_id].challenge_window, "DataBounties: challenge window closed"
    assert msg.value == self.challenge_bond, "DataBounties: wrong challenge bond"
    self.contributions[contribution_id].challenger = msg.sender
    self.contributions[contribution_id].bond = msg.value
    self.contributions[contribution_id].challenged_at = block.timestamp
    self._set_status(contribution_id, ACCEPTED, CHALLENGED)
    log ContributionChallenged(contribution_id=contribution_id, challenger=msg.sender, reason_uri=reason_uri)


@external
def resolve_challenge(contribution_id: uint256, upheld: bool):
    """
    @notice Governance settles a dispute. Upheld: the contribution is rejected,
            its reserved reward returns to the budget and the challenger gets
            its bond back. Dismissed: the bond goes to the contributor and the
            reward can be claimed.
    @param contribution_id The contribution.
    @param upheld True if the challenger was right.
    """
    self._check_governance()
    c: Contribution = self.contributions[contribution_id]
    assert c.status == CHALLENGED, "DataBounties: contribution not challenged"
    if upheld:
        self.bounties[c.bounty_id].reserved -= c.item_count * self.bounties[c.bounty_id].reward_per_item
        pull_payments._credit(c.challenger, c.bond)
        self._reject(contribution_id, CHALLENGED)
    else:
        pull_payments._credit(c.contributor, c.bond)
        # The window is over: a dismissed challenge cannot be repeated.
        self.contributions[contribution_id].accepted_at = 0
        self._set_status(contribution_id, CHALLENGED, ACCEPTED)


@external
def claim_reward(contribution_id: uint256) -> uint256:
    """
    @notice After the challenge window, mints the contributor's reward and adds
            it to the bounty's dataset. Callable by anyone. If the dataset
            already holds MAX_CONTRIBUTORS other contributors, the
            contribution is declined instead ("dataset full"): its
            reservation returns to the budget and nothing is minted.
    @return The reward in token wei (0 when declined).
    @param contribution_id The contribution.
    """
    c: Contribution = self.contributions[contribution_id]
    assert c.status == ACCEPTED, "DataBounties: contribution not accepted"
    assert block.timestamp > c.accepted_at + self.bounties[c.bounty_id].challenge_window, "DataBounties: challenge window open"
    reward: uint256 = c.item_count * self.bounties[c.bounty_id].reward_per_item
    if self.dataset_weight[c.bounty_id][c.contributor] == 0:
        if len(self._dataset_contributors[c.bounty_id]) == MAX_CONTRIBUTORS:
            self.bounties[c.bounty_id].reserved -= reward
            self._decline(contribution_id, ACCEPTED, "dataset full")
            return 0
        self._dataset_contributors[c.bounty_id].append(c.contributor)
    self.dataset_weight[c.bounty_id][c.contributor] += c.item_count
    self.dataset_total_weight[c.bounty_id] += c.item_count
    self._set_status(contribution_id, ACCEPTED, REWARDED)
    log RewardClaimed(contribution_id=contribution_id, contributor=c.contributor, amount=reward)
    extcall token.mint(c.contributor, reward)
    return reward


@external
def expire(contribution_id: uint256):
    """
    @notice Ends a contribution left undecided for `review_period`. Pending
            (validators did not decide within the period after submission):
            declined ("expired"), its content hash freed. Challenged
            (governance did not resolve within the period): the challenge
            lapses, the validators' acceptance stands (the reward becomes
            claimable) and the challenger gets its bond back. Callable by
            anyone.
    @param contribution_id The contribution.
    """
    c: Contribution = self.contributions[contribution_id]
    period: uint256 = self.review_period
    if c.status == PENDING:
        assert block.timestamp > c.submitted_at + period, "DataBounties: review period not over"
        self._decline(contribution_id, PENDING, "expired")
    elif c.status == CHALLENGED:
        assert block.timestamp > c.challenged_at + period, "DataBounties: review period not over"
        pull_payments._credit(c.challenger, c.bond)
        # The window is over: a lapsed challenge cannot be repeated.
        self.contributions[contribution_id].accepted_at = 0
        log ChallengeLapsed(contribution_id=contribution_id, challenger=c.challenger, bond=c.bond)
        self._set_status(contribution_id, CHALLENGED, ACCEPTED)
    else:
        raise "DataBounties: contribution not pending or challenged"


@external
def set_challenge_bond(bond: uint256):
    """
    @notice Governance sets the bond a challenger posts.
    @param bond Wei.
    """
    self._check_governance()
    log ChallengeBondSet(old_bond=self.challenge_bond, new_bond=bond)
    self.challenge_bond = bond


@external
def set_review_period(period: uint256):
    """
    @notice Governance sets how long validators (and governance, for a
            challenge) may leave a contribution undecided.
    @param period Seconds.
    """
    self._check_governance()
    assert period > 0, "DataBounties: review period is zero"
    log ReviewPeriodSet(old_period=self.review_period, new_period=period)
    self.review_period = period


@external
@view
def dataset_contributors(bounty_id: uint256) -> DynArray[address, MAX_CONTRIBUTORS]:
    """
    @notice The rewarded contributors of a bounty's dataset (weights in dataset_weight).
    @param bounty_id The bounty.
    @return Its rewarded contributors.
    """
    return self._dataset_contributors[bounty_id]


@internal
@pure
def _commitment(content_hash: bytes32, contributor: address) -> bytes32:
    return keccak256(abi_encode(content_hash, contributor))


@internal
def _reject(contribution_id: uint256, old: uint8):
    """
    @dev Rejected content is in no dataset; its hash stays with its contributor, who may submit it again.
    """
    self._set_status(contribution_id, old, REJECTED)


@internal
def _decline(contribution_id: uint256, old: uint8, reason: String[32]):
    log ContributionDeclined(contribution_id=contribution_id, reason=reason)
    self._reject(contribution_id, old)


@internal
def _set_status(contribution_id: uint256, old: uint8, new: uint8):
    self.contributions[contribution_id].status = new
    log ContributionStatusChanged(contribution_id=contribution_id, old_status=old, new_status=new)


@internal
@view
def _check_governance():
    assert msg.sender == governance, "DataBounties: caller is not governance"
