"""TrainingFund: all-or-nothing funding, the compute queue, delivery,
acceptance with exact share splits, misses and rejections."""

import ape
import pytest
from ape import chain

from tests.conftest import stake_worker

ETH = 10**18
DAY = 86_400
TOTAL = 1_000_000
REWARD = 10 * ETH


@pytest.fixture(scope="module")
def fund(system):
    return system.TrainingFund


@pytest.fixture(scope="module")
def bounties(system):
    return system.DataBounties


@pytest.fixture(scope="module")
def dataset(bounties, govern, accounts, alice, bob):
    """A bounty whose dataset holds alice (5 items) and bob (3 items)."""
    validators = [accounts[3], accounts[4]]
    govern((bounties, "open_bounty", "spec", REWARD, 100 * REWARD, chain.pending_timestamp + 60 * DAY, validators, 1,
            DAY))
    bounty = bounties.bounty_count()
    for who, items in ((alice, 5), (bob, 3)):
        tx = bounties.submit(bounty, b"\x01" * 32, "", items, sender=who)
        cid = tx.decode_logs(bounties.ContributionSubmitted)[0].contribution_id
        bounties.vote(cid, True, sender=validators[0])
    chain.mine(timestamp=chain.pending_timestamp + DAY + 1)
    for cid in (bounties.contribution_count() - 1, bounties.contribution_count()):
        bounties.claim_reward(cid, sender=alice)
    return bounty


@pytest.fixture(scope="module")
def trainer(system, deployer, worker):
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker)
    return worker


def open_campaign(fund, creator, datasets, goal=3 * ETH, days=7):
    tx = fund.open_campaign("ipfs://spanish-model", datasets, goal, chain.pending_timestamp + days * DAY, 2 * DAY,
                            sender=creator)
    return tx.decode_logs(fund.CampaignOpened)[0].campaign_id


def past_funding(fund, campaign):
    chain.mine(timestamp=max(chain.pending_timestamp, fund.campaigns(campaign).funding_deadline + 1))


@pytest.fixture
def funded(fund, dataset, carol, app_builder, dave):
    campaign = open_campaign(fund, carol, [dataset])
    fund.back(campaign, sender=app_builder, value=2 * ETH)
    fund.back(campaign, sender=dave, value=1 * ETH)
    past_funding(fund, campaign)
    fund.close_funding(campaign, sender=carol)
    return campaign


@pytest.fixture
def delivered(fund, funded, trainer):
    fund.claim_head(sender=trainer)
    fund.deliver(funded, b"\x0a" * 32, b"\x0b" * 32, "models/es", "ipfs://metrics", sender=trainer)
    return funded


# ---------------------------------------------------------------- funding


def test_back__records_backers_and_raised(fund, dataset, carol, app_builder):
    campaign = open_campaign(fund, carol, [dataset])
    tx = fund.back(campaign, sender=app_builder, value=ETH)
    fund.back(campaign, sender=app_builder, value=ETH)
    assert fund.campaigns(campaign).raised == 2 * ETH
    assert fund.contributed(campaign, app_builder) == 2 * ETH
    assert fund.backers(campaign) == [app_builder.address]
    assert tx.decode_logs(fund.Backed)[0].raised == ETH


@pytest.mark.parametrize("case,reason", [
    ("goal", "TrainingFund: goal is zero"),
    ("deadline", "TrainingFund: deadline passed"),
    ("window", "TrainingFund: delivery window is zero"),
])
def test_open_campaign__invalid__reverts(fund, carol, case, reason):
    goal, deadline, window = ETH, chain.pending_timestamp + DAY, DAY
    if case == "goal":
        goal = 0
    elif case == "deadline":
        deadline = 1
    else:
        window = 0
    with ape.reverts(reason):
        fund.open_campaign("", [], goal, deadline, window, sender=carol)


@pytest.mark.parametrize("case,reason", [
    ("late", "TrainingFund: funding closed"),
    ("zero", "TrainingFund: nothing sent"),
    ("closed", "TrainingFund: campaign not funding"),
])
def test_back__invalid__reverts(fund, dataset, carol, app_builder, case, reason):
    campaign = open_campaign(fund, carol, [dataset])
    value = ETH
    if case == "late":
        past_funding(fund, campaign)
    elif case == "zero":
        value = 0
    else:
        past_funding(fund, campaign)
        fund.close_funding(campaign, sender=carol)
    with ape.reverts(reason):
        fund.back(campaign, sender=app_builder, value=value)


def test_goal_missed__campaign_fails__backers_get_everything_back(fund, dataset, carol, app_builder, dave):
    campaign = open_campaign(fund, carol, [dataset], goal=10 * ETH)
    fund.back(campaign, sender=app_builder, value=2 * ETH)
    fund.back(campaign, sender=dave, value=ETH)
    with ape.reverts("TrainingFund: funding still open"):
        fund.close_funding(campaign, sender=carol)
    past_funding(fund, campaign)
    fund.close_funding(campaign, sender=carol)
    assert fund.campaigns(campaign).state == 2
    fund.refund(campaign, sender=app_builder)
    fund.refund(campaign, sender=dave)
    assert (fund.owed(app_builder), fund.owed(dave)) == (2 * ETH, ETH)
    with ape.reverts("TrainingFund: nothing to refund"):
        fund.refund(campaign, sender=dave)
    before = dave.balance
    tx = fund.withdraw(sender=dave)
    assert dave.balance == before + ETH - tx.total_fees_paid
    with ape.reverts("TrainingFund: nothing to withdraw"):
        fund.withdraw(sender=dave)


def test_refund__funded_campaign__reverts(fund, funded, app_builder):
    with ape.reverts("TrainingFund: campaign not failed"):
        fund.refund(funded, sender=app_builder)


def test_close_funding__twice__reverts(fund, funded, carol):
    with ape.reverts("TrainingFund: campaign not funding"):
        fund.close_funding(funded, sender=carol)


# ---------------------------------------------------------------- the compute queue


def test_queue__ordered_by_funds_raised(fund, dataset, carol, app_builder):
    raised = [1, 3, 2, 3]
    ids = []
    for amount in raised:
        campaign = open_campaign(fund, carol, [dataset], goal=ETH)
        fund.back(campaign, sender=app_builder, value=amount * ETH)
        ids.append(campaign)
    past_funding(fund, ids[-1])
    for campaign in ids:
        fund.close_funding(campaign, sender=carol)
    # more money first; equal funds keep arrival order
    assert fund.queue() == [ids[1], ids[3], ids[2], ids[0]]


def test_claim_head__trainer_takes_the_richest(fund, funded, trainer):
    tx = fund.claim_head(sender=trainer)
    log = tx.decode_logs(fund.TrainingClaimed)[0]
    assert (log.campaign_id, log.trainer) == (funded, trainer.address)
    assert fund.campaigns(funded).state == 4
    assert fund.queue() == []


def test_claim_head__not_a_worker_or_empty_queue__reverts(fund, trainer, mallory):
    with ape.reverts("TrainingFund: caller is not an active worker"):
        fund.claim_head(sender=mallory)
    with ape.reverts("TrainingFund: queue empty"):
        fund.claim_head(sender=trainer)


@pytest.mark.parametrize("case,reason", [
    ("stranger", "TrainingFund: caller is not the trainer"),
    ("late", "TrainingFund: delivery deadline passed"),
    ("hash", "TrainingFund: empty hash"),
    ("queued", "TrainingFund: campaign not training"),
])
def test_deliver__invalid__reverts(fund, funded, trainer, mallory, case, reason):
    sender, artifact = trainer, b"\x0a" * 32
    if case != "queued":
        fund.claim_head(sender=trainer)
    if case == "stranger":
        sender = mallory
    elif case == "late":
        chain.mine(timestamp=chain.pending_timestamp + 2 * DAY + 1)
    elif case == "hash":
        artifact = b"\x00" * 32
    with ape.reverts(reason):
        fund.deliver(funded, artifact, b"\x0b" * 32, "", "", sender=sender)


def test_missed_delivery__back_in_queue__trainer_slashed(fund, funded, trainer, workers, mallory):
    fund.claim_head(sender=trainer)
    with ape.reverts("TrainingFund: delivery deadline not passed"):
        fund.report_missed(funded, sender=mallory)
    stake = workers.workers(trainer).stake
    chain.mine(timestamp=chain.pending_timestamp + 2 * DAY + 1)
    tx = fund.report_missed(funded, sender=mallory)
    assert tx.decode_logs(fund.TrainerPenalised)[0].slashed == 50 * ETH
    assert workers.workers(trainer).stake == stake - 50 * ETH
    assert workers.missed(trainer) == 1
    assert fund.queue() == [funded]
    assert fund.campaigns(funded).state == 3
    with ape.reverts("TrainingFund: campaign not training"):
        fund.report_missed(funded, sender=mallory)


def test_reject__governance_requeues_and_slashes(fund, delivered, govern, trainer, workers):
    govern((fund, "reject", delivered))
    assert fund.queue() == [delivered]
    assert workers.slashed(trainer) == 1
    with ape.reverts("TrainingFund: campaign not delivered"):
        govern((fund, "reject", delivered))


# ---------------------------------------------------------------- acceptance


def test_accept__model_registered_shares_add_up_exactly__trainer_paid(fund, delivered, govern, system, trainer,
                                                                      app_builder, dave, alice, bob):
    shares, registry = system.ModelShares, system.ModelRegistry
    tx = govern((fund, "accept", delivered, 10**15))
    log = tx.decode_logs(fund.ModelTrained)[0]
    model_id = log.model_id
    backers = TOTAL * 5_000 // 10_000
    data = TOTAL * 3_000 // 10_000
    assert shares.balanceOf(app_builder, model_id) == backers * 2 // 3
    assert shares.balanceOf(dave, model_id) == backers * 1 // 3
    assert shares.balanceOf(alice, model_id) == data * 5 // 8
    assert shares.balanceOf(bob, model_id) == data * 3 // 8
    assert shares.total_supply(model_id) == TOTAL
    assert log.backers_shares + log.data_shares + log.trainer_shares == TOTAL
    assert shares.balanceOf(trainer, model_id) == log.trainer_shares
    model = registry.models(model_id)
    assert (bytes(model.artifact_hash), model.owner) == (b"\x0a" * 32, system.Timelock.address)
    assert fund.owed(trainer) == 3 * ETH
    assert fund.campaigns(delivered).model_id == model_id


def test_accept__no_data__trainer_keeps_the_data_part(fund, govern, system, carol, app_builder, trainer):
    campaign = open_campaign(fund, carol, [], goal=ETH)
    fund.back(campaign, sender=app_builder, value=ETH)
    past_funding(fund, campaign)
    fund.close_funding(campaign, sender=carol)
    fund.claim_head(sender=trainer)
    fund.deliver(campaign, b"\x0c" * 32, b"\x0d" * 32, "", "", sender=trainer)
    log = govern((fund, "accept", campaign, 1)).decode_logs(fund.ModelTrained)[0]
    assert (log.backers_shares, log.data_shares, log.trainer_shares) == (500_000, 0, 500_000)


def test_accept__direct_or_undelivered__reverts(fund, funded, govern, deployer):
    with ape.reverts("TrainingFund: caller is not governance"):
        fund.accept(funded, 1, sender=deployer)
    with ape.reverts("TrainingFund: campaign not delivered"):
        govern((fund, "accept", funded, 1))


def test_set_policy__governed_and_checked(fund, govern, deployer):
    govern((fund, "set_policy", (6_000, 3_000, 0)))
    assert fund.policy().backers_bps == 6_000
    with ape.reverts("TrainingFund: trainer share is zero"):
        govern((fund, "set_policy", (7_000, 3_000, 0)))
    with ape.reverts("TrainingFund: caller is not governance"):
        fund.set_policy((1, 1, 1), sender=deployer)
