"""The named bounds of the commons contracts, reached for real: 64 dataset
contributors, 64 backers, 32 queued campaigns; and the spam that used to
block them."""

import ape
import pytest
from ape import chain

from offchain import contributions
from tests.conftest import stake_worker
from tests.utils.constants import DAY, ETH

FAILED, QUEUED = 2, 3
MIN_GOAL = 10**17  # the deploy default


@pytest.fixture(scope="module")
def crowd(accounts, deployer):
    """65 fresh, funded accounts."""
    people = [accounts.generate_test_account() for _ in range(65)]
    for person in people:
        deployer.transfer(person, 10 * ETH)
    return people


def test_dataset__65th_contributor__declined_not_stuck(system, govern, accounts, crowd):
    bounties = system.DataBounties
    govern((bounties, "open_bounty", "", 1, 1_000, chain.pending_timestamp + 60 * DAY, [accounts[3]], 1, 0))
    bounty = bounties.bounty_count()
    ids = []
    for i, person in enumerate(crowd):
        ids.append(contributions.submit(bounties, bounty, (i + 1).to_bytes(32, "big"), "", 1, sender=person)[0])
        bounties.vote(ids[-1], True, sender=accounts[3])
    chain.mine(timestamp=chain.pending_timestamp + 1)
    for cid in ids[:64]:
        bounties.claim_reward(cid, sender=accounts[3])
    assert len(bounties.dataset_contributors(bounty)) == 64
    assert bounties.bounties(bounty).reserved == 65
    tx = bounties.claim_reward(ids[64], sender=accounts[3])
    assert tx.decode_logs(bounties.ContributionDeclined)[0].reason == "dataset full"
    assert bounties.contributions(ids[64]).status == 3
    assert bounties.bounties(bounty).reserved == 64  # its reservation went back to the budget
    assert bounties.content_holder((65).to_bytes(32, "big")) == ids[64]  # still its contributor's
    assert system.GovernanceToken.balanceOf(crowd[64]) == 0


def test_campaign__65th_backer__reverts_but_the_64_met_the_goal(fund, crowd, carol):
    goal = 64 * MIN_GOAL
    tx = fund.open_campaign("", [], goal, chain.pending_timestamp + DAY, DAY, sender=carol)
    campaign = tx.decode_logs(fund.CampaignOpened)[0].campaign_id
    with ape.reverts("TrainingFund: backing below minimum"):
        fund.back(campaign, sender=crowd[0], value=goal // 64 - 1)
    for person in crowd[:64]:
        fund.back(campaign, sender=person, value=goal // 64)
    with ape.reverts("TrainingFund: too many backers"):
        fund.back(campaign, sender=crowd[64], value=goal)
    fund.back(campaign, sender=crowd[0], value=1)  # an existing backer may add any amount
    # Filling every backer place costs the goal itself: the campaign is funded, not blocked.
    assert fund.campaigns(campaign).raised >= goal


def test_open_campaign__goal_below_minimum__reverts(fund, carol):
    with ape.reverts("TrainingFund: goal below minimum"):
        fund.open_campaign("", [], 1, chain.pending_timestamp + DAY, DAY, sender=carol)


def spam(fund, attacker, count, amount, deadline):
    """Opens and backs `count` campaigns of `amount` wei; returns their ids and the gas spent."""
    ids, gas = [], 0
    for _ in range(count):
        tx = fund.open_campaign("", [], MIN_GOAL, deadline, DAY, sender=attacker)
        ids.append(tx.decode_logs(fund.CampaignOpened)[0].campaign_id)
        gas += tx.gas_used + fund.back(ids[-1], sender=attacker, value=amount).gas_used
    return ids, gas


def queue_full_then_real(fund, carol, mallory, app_builder, amount):
    """mallory opens and backs 32 campaigns with `amount` each, carol a real one that app_builder backs with
    1 ETH; past the deadline mallory's 32 close into the queue (all of its places). Returns mallory's ids,
    the gas mallory spent and the real campaign's id (still funding)."""
    deadline = chain.pending_timestamp + DAY
    ids, gas = spam(fund, mallory, 32, amount, deadline)
    tx = fund.open_campaign("real", [], ETH, deadline, DAY, sender=carol)
    real = tx.decode_logs(fund.CampaignOpened)[0].campaign_id
    fund.back(real, sender=app_builder, value=ETH)
    chain.mine(timestamp=deadline + 1)
    for campaign in ids:
        gas += fund.close_funding(campaign, sender=mallory).gas_used
    return ids, gas, real


def test_queue__full_of_spam__a_richer_funded_campaign_evicts_the_poorest(fund, carol, mallory, app_builder):
    """The attack: fill the 32 places with campaigns at the minimum; before, a real funded campaign then
    could neither enter the queue ("queue full") nor refund."""
    ids, gas, real = queue_full_then_real(fund, carol, mallory, app_builder, MIN_GOAL)
    assert len(fund.queue()) == 32
    print(f"\nspam: 32 campaigns at the minimum goal, gas {gas:,}, ETH locked {32 * MIN_GOAL / ETH}")

    tx = fund.close_funding(real, sender=carol)
    evicted = tx.decode_logs(fund.CampaignEvicted)[0]
    assert (evicted.campaign_id, evicted.by_campaign_id, evicted.raised) == (ids[-1], real, MIN_GOAL)
    assert fund.queue()[0] == real and ids[-1] not in fund.queue() and len(fund.queue()) == 32
    assert fund.campaigns(real).state == QUEUED
    assert fund.campaigns(ids[-1]).state == FAILED
    fund.refund(ids[-1], sender=mallory)  # the evicted campaign's money is not frozen either
    assert fund.owed(mallory) == MIN_GOAL


def test_queue__full_of_richer_campaigns__funded_campaign_fails_and_refunds(fund, carol, mallory, app_builder):
    """Blocking a campaign that raised R takes 32 campaigns that raised at least R each; even then the
    blocked campaign is refundable at once, never frozen."""
    ids, _, real = queue_full_then_real(fund, carol, mallory, app_builder, ETH)
    tx = fund.close_funding(real, sender=carol)  # equal funds keep arrival order: no eviction
    assert tx.decode_logs(fund.CampaignEvicted) == []
    log = tx.decode_logs(fund.CampaignStateChanged)[0]
    assert (log.campaign_id, log.new_state) == (real, FAILED)
    fund.refund(real, sender=app_builder)
    assert fund.owed(app_builder) == ETH
    assert fund.queue() == ids


def test_requeue__queue_filled_by_richer_campaigns__missed_campaign_fails_and_refunds(
        system, fund, carol, mallory, app_builder, deployer, worker):
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker)
    deadline = chain.pending_timestamp + DAY
    tx = fund.open_campaign("real", [], MIN_GOAL, deadline, DAY, sender=carol)
    real = tx.decode_logs(fund.CampaignOpened)[0].campaign_id
    fund.back(real, sender=app_builder, value=MIN_GOAL)
    chain.mine(timestamp=deadline + 1)
    fund.close_funding(real, sender=carol)
    fund.claim_head(sender=worker)
    ids, _ = spam(fund, mallory, 32, 2 * MIN_GOAL, chain.pending_timestamp + DAY)
    chain.mine(timestamp=chain.pending_timestamp + DAY + 1)
    for campaign in ids:
        fund.close_funding(campaign, sender=mallory)
    tx = fund.report_missed(real, sender=carol)
    assert tx.decode_logs(fund.TrainerPenalised)[0].slashed == 50 * ETH
    assert fund.campaigns(real).state == FAILED
    fund.refund(real, sender=app_builder)
    assert fund.owed(app_builder) == MIN_GOAL


def test_accept__64_backers_and_4_full_datasets__within_a_block_and_exact(
        system, fund, govern, accounts, crowd, carol, deployer, worker):
    """The largest acceptance: 64 backers and 4 datasets of 64 contributors (the same bounty four times)."""
    bounties = system.DataBounties
    govern((bounties, "open_bounty", "", 1, 1_000, chain.pending_timestamp + 60 * DAY, [accounts[3]], 1, 0))
    bounty = bounties.bounty_count()
    for i, person in enumerate(crowd[:64]):
        cid, _ = contributions.submit(bounties, bounty, (1_000 + i).to_bytes(32, "big"), "", 1 + i % 3,
                                      sender=person)
        bounties.vote(cid, True, sender=accounts[3])
        chain.mine(timestamp=chain.pending_timestamp + 1)
        bounties.claim_reward(cid, sender=accounts[3])
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker)
    goal = 64 * MIN_GOAL
    tx = fund.open_campaign("", [bounty] * 4, goal, chain.pending_timestamp + DAY, DAY, sender=carol)
    campaign = tx.decode_logs(fund.CampaignOpened)[0].campaign_id
    for i, person in enumerate(crowd[:64]):
        fund.back(campaign, sender=person, value=goal // 64 + i)
    chain.mine(timestamp=chain.pending_timestamp + DAY + 1)
    fund.close_funding(campaign, sender=carol)
    fund.claim_head(sender=worker)
    fund.deliver(campaign, b"\x0a" * 32, b"\x0b" * 32, "", "", sender=worker)
    tx = govern((fund, "accept", campaign, 1))
    log = tx.decode_logs(fund.ModelTrained)[0]
    print(f"\naccept at the bounds (64 backers, 4 x 64 contributors), whole execute: {tx.gas_used:,} gas")
    assert tx.gas_used < 15_000_000
    owed = [fund.shares_owed(campaign, who) for who in {*map(str, crowd[:64]), worker.address}]
    assert sum(owed) == 1_000_000 == log.backers_shares + log.data_shares + log.trainer_shares
    assert system.ModelShares.balanceOf(fund, log.model_id) == 1_000_000
