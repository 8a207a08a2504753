"""The named bounds of the commons contracts, reached for real: 64 dataset
contributors, 64 backers, 32 queued campaigns."""

import ape
import pytest
from ape import chain

ETH = 10**18
DAY = 86_400


@pytest.fixture(scope="module")
def crowd(accounts, deployer):
    """65 fresh, funded accounts."""
    people = [accounts.generate_test_account() for _ in range(65)]
    for person in people:
        deployer.transfer(person, 10 * ETH)
    return people


def test_dataset__65th_contributor__reverts(system, govern, accounts, crowd):
    bounties = system.DataBounties
    govern((bounties, "open_bounty", "", 1, 1_000, chain.pending_timestamp + 60 * DAY, [accounts[3]], 1, 0))
    bounty = bounties.bounty_count()
    ids = []
    for person in crowd:
        tx = bounties.submit(bounty, b"\x01" * 32, "", 1, sender=person)
        ids.append(tx.decode_logs(bounties.ContributionSubmitted)[0].contribution_id)
        bounties.vote(ids[-1], True, sender=accounts[3])
    chain.mine(timestamp=chain.pending_timestamp + 1)
    for cid in ids[:64]:
        bounties.claim_reward(cid, sender=accounts[3])
    assert len(bounties.dataset_contributors(bounty)) == 64
    with ape.reverts("DataBounties: dataset full"):
        bounties.claim_reward(ids[64], sender=accounts[3])


def test_campaign__65th_backer__reverts(system, crowd, carol):
    fund = system.TrainingFund
    tx = fund.open_campaign("", [], ETH, chain.pending_timestamp + DAY, DAY, sender=carol)
    campaign = tx.decode_logs(fund.CampaignOpened)[0].campaign_id
    for person in crowd[:64]:
        fund.back(campaign, sender=person, value=1)
    with ape.reverts("TrainingFund: too many backers"):
        fund.back(campaign, sender=crowd[64], value=1)
    fund.back(campaign, sender=crowd[0], value=1)  # an existing backer may add more


def test_queue__33rd_funded_campaign__reverts(system, carol, app_builder):
    fund = system.TrainingFund
    ids = []
    deadline = chain.pending_timestamp + DAY
    for _ in range(33):
        tx = fund.open_campaign("", [], 1, deadline, DAY, sender=carol)
        ids.append(tx.decode_logs(fund.CampaignOpened)[0].campaign_id)
        fund.back(ids[-1], sender=app_builder, value=1)
    chain.mine(timestamp=deadline + 1)
    for campaign in ids[:32]:
        fund.close_funding(campaign, sender=carol)
    assert len(fund.queue()) == 32
    with ape.reverts("TrainingFund: queue full"):
        fund.close_funding(ids[32], sender=carol)
