"""DataBounties: bounties, contributions, votes, challenges and clawback, rewards, datasets,
content uniqueness, and the end of every contribution (declines and expiries)."""

import ape
import pytest
from ape import chain

from offchain import contributions
from tests.utils.commons import fresh_hash
from tests.utils.constants import DAY, ETH

REWARD = 10 * ETH  # per item
PENDING, ACCEPTED, REJECTED, CHALLENGED, REWARDED = range(1, 6)


@pytest.fixture(scope="module")
def validators(accounts):
    return [accounts[3], accounts[4], accounts[7]]  # carol, mallory, minter


@pytest.fixture(scope="module")
def bounty(bounties, govern, validators):
    # open_bounty is a critical proposal (about 18 days from proposal to execution): a deadline well past it.
    deadline = chain.pending_timestamp + 120 * DAY
    govern((bounties, "open_bounty", "ipfs://spec", REWARD, 100 * REWARD, deadline, validators, 2, DAY))
    return bounties.bounty_count()


def submit(bounties, bounty, contributor, items=5, content=None):
    return contributions.submit(bounties, bounty, content or fresh_hash(), "file://part", items,
                                sender=contributor)[0]


def accept(bounties, cid, validators, votes=2):
    for v in validators[:votes]:
        bounties.vote(cid, True, sender=v)


def past_window():
    chain.mine(timestamp=chain.pending_timestamp + DAY + 1)


def test_open_bounty__by_governance__recorded(bounties, bounty, validators):
    b = bounties.bounties(bounty)
    assert (b.spec_uri, b.reward_per_item, b.budget, b.quorum) == ("ipfs://spec", REWARD, 100 * REWARD, 2)
    assert all(bounties.is_validator(bounty, v) for v in validators)


@pytest.mark.parametrize("change,reason", [
    ({"deadline": 1}, "DataBounties: deadline passed"),
    ({"quorum": 4}, "DataBounties: quorum out of range"),
    ({"quorum": 0}, "DataBounties: quorum out of range"),
    ({"budget": REWARD - 1}, "DataBounties: budget below one reward"),
    ({"validators": "dup"}, "DataBounties: duplicate validator"),
])
def test_open_bounty__invalid__reverts(bounties, govern, validators, change, reason):
    # Governed calls take about ten days to execute; the deadline must outlive the vote.
    args = {"deadline": chain.pending_timestamp + 60 * DAY, "quorum": 2, "budget": 10 * REWARD,
            "validators": validators}
    args.update(change)
    if args["validators"] == "dup":
        args["validators"] = [validators[0], validators[0]]
    with ape.reverts(reason):
        govern((bounties, "open_bounty", "", REWARD, args["budget"], args["deadline"], args["validators"],
                args["quorum"], DAY))


def test_open_bounty__direct__reverts(bounties, deployer, validators):
    with ape.reverts("DataBounties: caller is not governance"):
        bounties.open_bounty("", REWARD, REWARD, chain.pending_timestamp + DAY, validators, 1, DAY, sender=deployer)


def test_contribution__accepted_window_passes__reward_minted_and_dataset_weighted(bounties, bounty, validators,
                                                                                 token, alice, bob):
    first = submit(bounties, bounty, alice, items=5)
    second = submit(bounties, bounty, bob, items=3)
    accept(bounties, first, validators)
    accept(bounties, second, validators)
    assert bounties.contributions(first).status == 2
    with ape.reverts("DataBounties: challenge window open"):
        bounties.claim_reward(first, sender=alice)
    past_window()
    before = token.balanceOf(alice)
    tx = bounties.claim_reward(first, sender=bob)  # anyone may trigger it
    assert tx.decode_logs(bounties.RewardClaimed)[0].amount == 5 * REWARD
    assert token.balanceOf(alice) == before + 5 * REWARD
    bounties.claim_reward(second, sender=bob)
    assert bounties.dataset_contributors(bounty) == [alice.address, bob.address]
    assert (bounties.dataset_weight(bounty, alice), bounties.dataset_total_weight(bounty)) == (5, 8)
    with ape.reverts("DataBounties: contribution not accepted"):
        bounties.claim_reward(first, sender=alice)


def test_contribution__quorum_rejects__never_rewarded(bounties, bounty, validators, alice):
    cid = submit(bounties, bounty, alice)
    for v in validators[:2]:
        bounties.vote(cid, False, sender=v)
    assert bounties.contributions(cid).status == 3
    with ape.reverts("DataBounties: contribution not pending"):
        bounties.vote(cid, True, sender=validators[2])


@pytest.mark.parametrize("case,reason", [
    ("stranger", "DataBounties: caller is not a validator"),
    ("twice", "DataBounties: already voted"),
])
def test_vote__invalid__reverts(bounties, bounty, validators, alice, bob, case, reason):
    cid = submit(bounties, bounty, alice)
    voter = bob
    if case == "twice":
        voter = validators[0]
        bounties.vote(cid, True, sender=voter)
    with ape.reverts(reason):
        bounties.vote(cid, True, sender=voter)


def test_vote__deciding_accept_beyond_budget__declined(bounties, bounty, validators, alice):
    cid = submit(bounties, bounty, alice, items=101)
    bounties.vote(cid, True, sender=validators[0])
    tx = bounties.vote(cid, True, sender=validators[1])
    declined = tx.decode_logs(bounties.ContributionDeclined)[0]
    assert (declined.contribution_id, declined.reason) == (cid, "over budget")
    status = tx.decode_logs(bounties.ContributionStatusChanged)[0]
    assert (status.old_status, status.new_status) == (PENDING, REJECTED)
    assert bounties.bounties(bounty).reserved == 0
    with ape.reverts("DataBounties: contribution not pending"):
        bounties.vote(cid, False, sender=validators[2])


@pytest.fixture(scope="module")
def tight_bounty(bounties, govern, validators):
    """The issue's case: quorum equals the number of validators (2 of 2), budget of 5 rewards."""
    govern((bounties, "open_bounty", "", REWARD, 5 * REWARD, chain.pending_timestamp + 60 * DAY, validators[:2], 2,
            DAY))
    return bounties.bounty_count()


@pytest.mark.parametrize("second_vote", [True, False])
def test_vote__quorum_equals_validators_budget_exceeded_after_one_accept__contribution_ends(
        bounties, tight_bounty, validators, alice, second_vote):
    """Before, the deciding accept reverted and a reject could never reach the quorum: pending forever."""
    content = fresh_hash()
    cid = submit(bounties, tight_bounty, alice, items=6, content=content)
    bounties.vote(cid, True, sender=validators[0])
    assert bounties.contributions(cid).status == PENDING
    tx = bounties.vote(cid, second_vote, sender=validators[1])
    reason = "over budget" if second_vote else "no quorum possible"
    assert tx.decode_logs(bounties.ContributionDeclined)[0].reason == reason
    assert bounties.contributions(cid).status == REJECTED
    assert bounties.bounties(tight_bounty).reserved == 0
    assert bounties.content_holder(content) == cid  # ended: the hash stays with its contributor
    # The contributor may submit a smaller part of it, which fits the budget.
    smaller = submit(bounties, tight_bounty, alice, items=5, content=content)
    for v in validators[:2]:
        bounties.vote(smaller, True, sender=v)
    assert bounties.contributions(smaller).status == ACCEPTED


def test_vote__split_but_quorum_still_reachable__stays_pending_until_decided(bounties, bounty, validators, alice):
    cid = submit(bounties, bounty, alice)
    bounties.vote(cid, True, sender=validators[0])
    tx = bounties.vote(cid, False, sender=validators[1])  # 1-1 of 3, quorum 2: the third decides
    assert tx.decode_logs(bounties.ContributionDeclined) == []
    assert bounties.contributions(cid).status == PENDING
    bounties.vote(cid, True, sender=validators[2])
    assert bounties.contributions(cid).status == ACCEPTED


# ---------------------------------------------------------------- content uniqueness


@pytest.mark.parametrize("where", ["same bounty", "other bounty"])
def test_submit__content_already_submitted__reverts(bounties, bounty, tight_bounty, alice, bob, where):
    content = fresh_hash()
    submit(bounties, bounty, alice, content=content)
    target = bounty if where == "same bounty" else tight_bounty
    for who in (alice, bob):  # neither the contributor nor anyone else gets it counted twice
        with ape.reverts("DataBounties: content already submitted"):
            bounties.submit(target, content, "file://copy", 5, sender=who)


def test_submit__content_rewarded__held_forever(bounties, bounty, tight_bounty, validators, alice, bob):
    content = fresh_hash()
    cid = submit(bounties, bounty, alice, content=content, items=1)
    accept(bounties, cid, validators)
    past_window()
    bounties.claim_reward(cid, sender=alice)
    assert bounties.content_holder(content) == cid
    for target in (bounty, tight_bounty):
        with ape.reverts("DataBounties: content already submitted"):
            bounties.submit(target, content, "", 1, sender=bob)


def test_submit__content_rejected__only_its_contributor_submits_it_again(bounties, bounty, validators, alice, bob):
    content = fresh_hash()
    cid = submit(bounties, bounty, alice, content=content)
    assert bounties.content_holder(content) == cid
    for v in validators[:2]:
        bounties.vote(cid, False, sender=v)
    assert bounties.content_holder(content) == cid
    bounties.commit(contributions.commitment(content, bob.address), sender=bob)
    with ape.reverts("DataBounties: content held by its contributor"):
        bounties.submit(bounty, content, "file://copy", 5, sender=bob)
    again = submit(bounties, bounty, alice, content=content)
    assert bounties.content_holder(content) == again


def test_attack__copier_committed_early__takes_no_declined_contribution(bounties, bounty, validators, alice, mallory):
    # Alice's hash is public once submitted; mallory commits to it at once. Left undecided, alice's
    # contribution expires and anyone may end it: before, mallory's one transaction expired it and submitted the
    # hash as hers (the same holds for a "dataset full" decline and an upheld challenge). Now it stays alice's.
    content = fresh_hash()
    cid = submit(bounties, bounty, alice, content=content)
    bounties.commit(contributions.commitment(content, mallory.address), sender=mallory)
    chain.mine(timestamp=bounties.contributions(cid).submitted_at + bounties.review_period() + 1)
    bounties.expire(cid, sender=mallory)
    with ape.reverts("DataBounties: content held by its contributor"):
        bounties.submit(bounty, content, "file://copy", 5, sender=mallory)
    assert bounties.content_holder(content) == cid


def test_commit__recorded_with_its_block_and_event(bounties, alice):
    value = contributions.commitment(fresh_hash(), alice.address)
    tx = bounties.commit(value, sender=alice)
    assert bounties.commitments(value) == tx.block_number
    assert [(e.contributor, e.commitment) for e in tx.decode_logs(bounties.ContributionCommitted)] == [
        (alice.address, value)]


def test_commitment_of__matches_the_offchain_commitment(bounties, alice):
    content = fresh_hash()
    assert bounties.commitment_of(content, alice) == contributions.commitment(content, alice.address)


@pytest.mark.parametrize("case,reason", [
    ("empty", "DataBounties: empty commitment"),
    ("again", "DataBounties: already committed"),
])
def test_commit__invalid__reverts(bounties, alice, bob, case, reason):
    value = b"\x00" * 32
    if case == "again":  # by anyone: the block of a commitment never moves
        value = contributions.commitment(fresh_hash(), alice.address)
        bounties.commit(value, sender=alice)
        block = bounties.commitments(value)
    with ape.reverts(reason):
        bounties.commit(value, sender=bob)
    if case == "again":
        assert bounties.commitments(value) == block


def test_submit__not_committed__reverts(bounties, bounty, alice):
    with ape.reverts("DataBounties: content not committed"):
        bounties.submit(bounty, fresh_hash(), "", 1, sender=alice)


@pytest.fixture
def actor(project, deployer):
    return deployer.deploy(project.MockActor)


def test_submit__front_runner_copies_the_hash__cannot_take_its_place(bounties, bounty, actor, alice, mallory):
    """Alice committed; her submit is in the mempool with the content hash in the clear. Mallory copies
    it: her own commitment (she has none) cannot predate Alice's submit, and committing and submitting in
    the block of Alice's submit is refused. Alice's submit lands and holds the hash."""
    content = fresh_hash()
    bounties.commit(contributions.commitment(content, alice.address), sender=alice)
    with ape.reverts("DataBounties: content not committed"):  # copying the call is not enough
        bounties.submit(bounty, content, "file://copy", 5, sender=mallory)
    with ape.reverts("DataBounties: committed in this block"):  # nor committing in the same block
        actor.act_twice(bounties, bounties.commit.encode_input(contributions.commitment(content, actor.address)),
                        bounties.submit.encode_input(bounty, content, "file://copy", 5), sender=mallory)
    before = bounties.contribution_count()
    tx = bounties.submit(bounty, content, "file://part", 5, sender=alice)
    event = tx.decode_logs(bounties.ContributionSubmitted)[0]
    assert (event.contribution_id, event.contributor) == (before + 1, alice.address)
    assert bounties.content_holder(content) == before + 1
    bounties.commit(contributions.commitment(content, mallory.address), sender=mallory)
    with ape.reverts("DataBounties: content already submitted"):  # a later commitment is too late
        bounties.submit(bounty, content, "file://copy", 5, sender=mallory)


def test_submit__after_rejection__the_same_commitment_serves_again(bounties, bounty, validators, alice):
    content = fresh_hash()
    cid = submit(bounties, bounty, alice, content=content)
    for v in validators[:2]:
        bounties.vote(cid, False, sender=v)
    again, receipts = contributions.submit(bounties, bounty, content, "file://part", 5, sender=alice)
    assert len(receipts) == 1 and again == cid + 1  # no second commitment needed


def test_challenge__upheld__content_hash_stays_with_its_contributor(bounties, bounty, validators, govern, alice, mallory):
    content = fresh_hash()
    cid = submit(bounties, bounty, alice, content=content)
    accept(bounties, cid, validators)
    bounties.challenge(cid, "", sender=mallory, value=10**16)
    assert bounties.content_holder(content) == cid
    govern((bounties, "resolve_challenge", cid, True))
    assert bounties.content_holder(content) == cid  # the contributor's still: the challenger cannot take it


# ---------------------------------------------------------------- expiries


def test_expire__pending_past_review_period__declined(bounties, bounty, validators, alice, mallory):
    content = fresh_hash()
    cid = submit(bounties, bounty, alice, content=content)
    bounties.vote(cid, True, sender=validators[0])
    with ape.reverts("DataBounties: review period not over"):
        bounties.expire(cid, sender=mallory)
    chain.mine(timestamp=bounties.contributions(cid).submitted_at + bounties.review_period() + 1)
    tx = bounties.expire(cid, sender=mallory)
    assert tx.decode_logs(bounties.ContributionDeclined)[0].reason == "expired"
    assert bounties.contributions(cid).status == REJECTED
    assert bounties.content_holder(content) == cid
    with ape.reverts("DataBounties: contribution not pending or challenged"):
        bounties.expire(cid, sender=mallory)


def test_expire__challenge_unresolved__lapses_acceptance_stands_bond_back(bounties, bounty, validators, govern,
                                                                          alice, mallory, token):
    cid = submit(bounties, bounty, alice, items=2)
    accept(bounties, cid, validators)
    bounties.challenge(cid, "", sender=mallory, value=10**16)
    with ape.reverts("DataBounties: review period not over"):
        bounties.expire(cid, sender=alice)
    chain.mine(timestamp=bounties.contributions(cid).challenged_at + bounties.review_period() + 1)
    tx = bounties.expire(cid, sender=alice)
    lapsed = tx.decode_logs(bounties.ChallengeLapsed)[0]
    assert (lapsed.contribution_id, lapsed.challenger, lapsed.bond) == (cid, mallory.address, 10**16)
    assert bounties.contributions(cid).status == ACCEPTED
    assert bounties.owed(mallory) == 10**16
    with ape.reverts("DataBounties: contribution not challenged"):
        govern((bounties, "resolve_challenge", cid, True))
    with ape.reverts("DataBounties: challenge window closed"):
        bounties.challenge(cid, "", sender=mallory, value=10**16)
    before = token.balanceOf(alice)
    bounties.claim_reward(cid, sender=alice)
    assert token.balanceOf(alice) == before + 2 * REWARD


def test_expire__accepted__reverts(bounties, bounty, validators, alice):
    cid = submit(bounties, bounty, alice)
    accept(bounties, cid, validators)
    with ape.reverts("DataBounties: contribution not pending or challenged"):
        bounties.expire(cid, sender=alice)


def test_set_review_period__governed_and_checked(bounties, govern, deployer):
    old = bounties.review_period()
    tx = govern((bounties, "set_review_period", 7 * DAY))
    log = tx.decode_logs(bounties.ReviewPeriodSet)[0]
    assert (log.old_period, log.new_period) == (old, 7 * DAY)
    assert bounties.review_period() == 7 * DAY
    with ape.reverts("DataBounties: review period is zero"):
        govern((bounties, "set_review_period", 0))
    with ape.reverts("DataBounties: caller is not governance"):
        bounties.set_review_period(1, sender=deployer)


def test_deploy__zero_review_period__reverts(project, deployer, token):
    with ape.reverts("DataBounties: review period is zero"):
        deployer.deploy(project.DataBounties, deployer, token, 1, 0)


@pytest.mark.parametrize("case,reason", [
    ("unknown", "DataBounties: unknown bounty"),
    ("late", "DataBounties: bounty closed"),
    ("hash", "DataBounties: empty content hash"),
    ("items", "DataBounties: no items"),
])
def test_submit__invalid__reverts(bounties, bounty, alice, case, reason):
    target, content, items = bounty, b"\x01" * 32, 1
    if case == "unknown":
        target = 99
    elif case == "late":
        chain.mine(timestamp=bounties.bounties(bounty).deadline + 1)
    elif case == "hash":
        content = b"\x00" * 32
    else:
        items = 0
    with ape.reverts(reason):
        bounties.submit(target, content, "", items, sender=alice)


def test_challenge__upheld__reward_clawed_back_budget_released(bounties, bounty, validators, govern, alice, mallory):
    cid = submit(bounties, bounty, alice, items=5)
    accept(bounties, cid, validators)
    assert bounties.bounties(bounty).reserved == 5 * REWARD
    bounties.challenge(cid, "ipfs://duplicate-of-mnist", sender=mallory, value=10**16)
    govern((bounties, "resolve_challenge", cid, True))
    assert bounties.contributions(cid).status == 3
    assert bounties.bounties(bounty).reserved == 0
    assert bounties.owed(mallory) == 10**16
    past_window()
    with ape.reverts("DataBounties: contribution not accepted"):
        bounties.claim_reward(cid, sender=alice)
    with ape.reverts("pull_payments: receiver is the zero address"):
        bounties.withdraw_to("0x" + "00" * 20, sender=mallory)
    tx = bounties.withdraw_to(alice, sender=mallory)  # to another address of the challenger's choice
    log = tx.decode_logs(bounties.Withdrawn)[0]
    assert (log.account, log.to, log.amount) == (mallory.address, alice.address, 10**16)
    with ape.reverts("pull_payments: nothing to withdraw"):
        bounties.withdraw(sender=mallory)


def test_challenge__dismissed__bond_to_contributor_reward_claimable(bounties, bounty, validators, govern, alice,
                                                                   mallory, token):
    cid = submit(bounties, bounty, alice, items=2)
    accept(bounties, cid, validators)
    bounties.challenge(cid, "", sender=mallory, value=10**16)
    govern((bounties, "resolve_challenge", cid, False))
    assert bounties.owed(alice) == 10**16
    before = token.balanceOf(alice)
    bounties.claim_reward(cid, sender=alice)  # the window is over
    assert token.balanceOf(alice) == before + 2 * REWARD


@pytest.mark.parametrize("case,reason", [
    ("pending", "DataBounties: contribution not accepted"),
    ("late", "DataBounties: challenge window closed"),
    ("bond", "DataBounties: wrong challenge bond"),
])
def test_challenge__invalid__reverts(bounties, bounty, validators, alice, mallory, case, reason):
    cid = submit(bounties, bounty, alice)
    value = 10**16
    if case != "pending":
        accept(bounties, cid, validators)
    if case == "late":
        past_window()
    if case == "bond":
        value = 1
    with ape.reverts(reason):
        bounties.challenge(cid, "", sender=mallory, value=value)


def test_resolve__invalid__reverts(bounties, bounty, govern, alice, mallory):
    cid = submit(bounties, bounty, alice)
    with ape.reverts("DataBounties: contribution not challenged"):
        govern((bounties, "resolve_challenge", cid, True))
    with ape.reverts("DataBounties: caller is not governance"):
        bounties.resolve_challenge(cid, True, sender=mallory)


def test_set_challenge_bond__governance_only(bounties, govern, deployer):
    tx = govern((bounties, "set_challenge_bond", 5))
    assert tx.decode_logs(bounties.ChallengeBondSet)[0].new_bond == 5
    with ape.reverts("DataBounties: caller is not governance"):
        bounties.set_challenge_bond(1, sender=deployer)
