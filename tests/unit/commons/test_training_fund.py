"""TrainingFund: all-or-nothing funding, the compute queue, delivery,
acceptance with exact share splits, claims of shares and their revenue,
misses, releases, rejections, cancellations and expiries."""

import ape
import pytest
from ape import chain

from offchain import contributions
from offchain.governance import Proposal, ProposalState, Support, acceptance
from offchain.trainer import CampaignState
from tests.conftest import stake_worker
from tests.utils.commons import accepted_bounty, fresh_hash
from tests.utils.constants import DAY, ETH
from tests.utils.market import request
from tests.utils.governance import pass_proposal, propose, to_active, to_deadline_passed, to_eta

TOTAL = 1_000_000
REWARD = 10 * ETH
FUNDING, FAILED, QUEUED, TRAINING, DELIVERED, ACCEPTED = CampaignState
PRECISION = 10**36


@pytest.fixture(scope="module")
def dataset(bounties, govern, accounts, alice, bob):
    """A bounty whose dataset holds alice (5 items) and bob (3 items)."""
    return accepted_bounty(bounties, govern, [accounts[3], accounts[4]],
                           [(alice, fresh_hash(), "", 5), (bob, fresh_hash(), "", 3)], reward=REWARD,
                           budget=100 * REWARD)


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
    ("far deadline", "TrainingFund: deadline over a year away"),  # backers' ETH held where no vote reaches it
    ("overflowing window", "TrainingFund: delivery window over a year"),  # claim_head would revert: queue blocked
    ("long window", "TrainingFund: delivery window over a year"),
])
def test_open_campaign__invalid__reverts(fund, carol, case, reason):
    goal, deadline, window = ETH, chain.pending_timestamp + DAY, DAY
    if case == "goal":
        goal = 0
    elif case == "deadline":
        deadline = 1
    elif case == "far deadline":
        deadline = chain.pending_timestamp + 365 * DAY + 1
    elif case == "overflowing window":
        window = 2**256 - 1
    elif case == "long window":
        window = 365 * DAY + 1
    else:
        window = 0
    count = fund.campaign_count()
    with ape.reverts(reason):
        fund.open_campaign("", [], goal, deadline, window, sender=carol)
    assert fund.campaign_count() == count


def test_open_campaign__year_bounds__accepted(fund, carol):
    fund.open_campaign("", [], ETH, chain.pending_timestamp + 365 * DAY, 365 * DAY, sender=carol)
    assert fund.campaigns(fund.campaign_count()).delivery_window == 365 * DAY


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
    with ape.reverts("pull_payments: nothing to withdraw"):
        fund.withdraw(sender=dave)


def test_withdraw_to__wallet_refusing_ether__sends_its_refund_elsewhere(project, fund, dataset, carol, deployer,
                                                                       dave, mallory):
    wallet = deployer.deploy(project.MockBareWallet)
    campaign = open_campaign(fund, carol, [dataset], goal=10 * ETH)
    wallet.act(fund, fund.back.encode_input(campaign), sender=dave, value=ETH)
    past_funding(fund, campaign)
    fund.close_funding(campaign, sender=carol)
    wallet.act(fund, fund.refund.encode_input(campaign), sender=dave)
    wallet.set_refusing_eth(True, sender=dave)
    with ape.reverts():
        wallet.act(fund, fund.withdraw.encode_input(), sender=dave)
    with ape.reverts("pull_payments: receiver is the zero address"):
        fund.withdraw_to("0x" + "00" * 20, sender=mallory)
    before = dave.balance
    tx = wallet.act(fund, fund.withdraw_to.encode_input(dave), sender=dave)
    log = fund.Withdrawn.from_receipt(tx)[0]
    assert (log.account, log.to, log.amount) == (wallet.address, dave.address, ETH)
    assert dave.balance == before + ETH - tx.total_fees_paid
    assert fund.owed(wallet) == 0


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


def test_claim_head__not_a_worker_or_empty_queue__reverts(fund, funded, trainer, mallory):
    with ape.reverts("TrainingFund: caller is not an active worker"):
        fund.claim_head(sender=mallory)
    fund.claim_head(sender=trainer)
    with ape.reverts("TrainingFund: queue empty"):
        fund.claim_head(sender=trainer)


def test_attack__richest_head_nobody_can_serve__campaigns_behind_it_claimed_out_of_order(fund, dataset, carol,
                                                                                         app_builder, trainer,
                                                                                         mallory):
    """A review found one campaign stopping the compute queue for free: the richest (here with no datasets, its
    money refunded in the end) sat at the head, no trainer would claim it, and `claim_head` could take nothing
    else until the queue timeout. A trainer claims the campaigns behind it by id."""
    junk = open_campaign(fund, mallory, [], goal=ETH)
    fund.back(junk, sender=mallory, value=5 * ETH)
    real = open_campaign(fund, carol, [dataset], goal=ETH)
    fund.back(real, sender=app_builder, value=ETH)
    past_funding(fund, real)
    fund.close_funding(junk, sender=carol)
    fund.close_funding(real, sender=carol)
    assert fund.queue() == [junk, real]
    tx = fund.claim(real, sender=trainer)
    log = tx.decode_logs(fund.TrainingClaimed)[0]
    assert (log.campaign_id, log.trainer) == (real, trainer.address)
    assert fund.campaigns(real).state == TRAINING
    assert fund.campaigns(real).trainer == trainer.address
    assert fund.queue() == [junk]


@pytest.mark.parametrize("case,reason", [
    ("stranger", "TrainingFund: caller is not an active worker"),
    ("funding", "TrainingFund: campaign not queued"),
    ("training", "TrainingFund: campaign not queued"),
    ("unknown", "TrainingFund: campaign not queued"),
])
def test_claim__invalid__reverts(fund, funded, dataset, carol, trainer, mallory, case, reason):
    target, sender = funded, trainer
    if case == "stranger":
        sender = mallory
    elif case == "funding":
        target = open_campaign(fund, carol, [dataset])
    elif case == "training":
        fund.claim(funded, sender=trainer)
    elif case == "unknown":
        target = 10**6
    with ape.reverts(reason):
        fund.claim(target, sender=sender)


def test_attack__trainer_misses_and_claims_again__refused_and_the_third_miss_fails_the_campaign(
        fund, funded, trainer, workers, system, deployer, accounts, app_builder, dave, mallory):
    """A review found a trainer able to hold the backers' escrow for good: miss, claim it again, miss again (one
    penalty each), the queue timeout restarting each time. A trainer may not claim a campaign it missed, and
    the third miss (three staked workers: one could not fail a campaign alone, claiming and releasing it in
    a block) fails it, refundable."""
    fund.claim(funded, sender=trainer)
    fund.release(funded, sender=trainer)
    assert fund.missed_by(funded, trainer)
    system.GovernanceToken.transfer(trainer, 50 * ETH, sender=deployer)  # what the miss took: active again
    system.GovernanceToken.approve(workers, 50 * ETH, sender=trainer)
    workers.add_stake(50 * ETH, sender=trainer)
    with ape.reverts("TrainingFund: trainer missed this campaign before"):
        fund.claim(funded, sender=trainer)
    with ape.reverts("TrainingFund: trainer missed this campaign before"):
        fund.claim_head(sender=trainer)
    for miss in (2, 3):
        other = accounts.generate_test_account()
        deployer.transfer(other, ETH)
        stake_worker(system.GovernanceToken, workers, deployer, other)
        fund.claim(funded, sender=other)
        chain.mine(timestamp=chain.pending_timestamp + 2 * DAY + 1)
        tx = fund.report_missed(funded, sender=mallory)
        assert (fund.misses(funded), fund.missed_by(funded, other)) == (miss, True)
        state = tx.decode_logs(fund.CampaignStateChanged)[-1]
        assert (state.old_state, state.new_state) == (TRAINING, QUEUED if miss < 3 else FAILED)
    assert fund.queue() == []
    fund.refund(funded, sender=app_builder)
    fund.refund(funded, sender=dave)
    assert (fund.owed(app_builder), fund.owed(dave)) == (2 * ETH, ETH)


def test_attack__claims_beyond_what_the_free_stake_covers__reverts(fund, funded, trainer, workers, system, model_id,
                                                                    app_builder):
    """Attack: one minimum stake claims campaign after campaign (the whole queue) against penalties it could never
    pay. Each claim's penalty must be covered by stake nothing else has locked: here the trainer's market claims
    hold all of it."""
    market = system.InferenceMarket
    per_request = max(market.params().miss_slash, market.params().challenge_slash)
    ids = [request(market, model_id, app_builder) for _ in range(workers.free_stake(trainer) // per_request)]
    market.claim_batch(ids, sender=trainer)
    assert workers.free_stake(trainer) < fund.policy().miss_slash
    with ape.reverts("TrainingFund: free stake below the penalty"):
        fund.claim_head(sender=trainer)
    assert fund.queue() == [funded]


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


def test_claim_head__trainer_unbonds_and_withdraws__penalty_stays_locked_and_is_slashed(fund, funded, trainer,
                                                                                       workers, system, mallory):
    """The escape: claim, unbond, withdraw after the unbonding delay, miss. The penalty stayed behind."""
    token = system.GovernanceToken
    tx = fund.claim_head(sender=trainer)
    lock = tx.decode_logs(workers.StakeLocked)[0]
    assert (lock.worker, lock.slasher, lock.amount) == (trainer, fund.address, 50 * ETH)
    assert fund.campaigns(funded).stake_locked == 50 * ETH
    assert workers.locked_by(fund, trainer) == 50 * ETH
    stake = workers.workers(trainer).stake
    workers.unbond(sender=trainer)
    chain.mine(timestamp=workers.workers(trainer).withdrawable_at + 1)
    balance = token.balanceOf(trainer)
    tx = workers.withdraw_stake(sender=trainer)
    assert tx.decode_logs(workers.StakeWithdrawn)[0].remaining == 50 * ETH
    assert token.balanceOf(trainer) == balance + stake - 50 * ETH
    treasury = token.balanceOf(system.Timelock)
    tx = fund.report_missed(funded, sender=mallory)
    assert tx.decode_logs(fund.TrainerPenalised)[0].slashed == 50 * ETH
    assert token.balanceOf(system.Timelock) == treasury + 50 * ETH
    assert workers.locked(trainer) == 0
    assert fund.campaigns(funded).stake_locked == 0


def test_claim_head__policy_changed_while_training__penalty_is_the_one_locked(fund, funded, trainer, workers, govern,
                                                                             mallory):
    fund.claim_head(sender=trainer)
    policy = fund.policy()
    govern((fund, "set_policy", (policy.backers_bps, policy.data_bps, 500 * ETH)))
    chain.mine(timestamp=max(chain.pending_timestamp, fund.campaigns(funded).delivery_deadline + 1))
    tx = fund.report_missed(funded, sender=mallory)
    assert tx.decode_logs(fund.TrainerPenalised)[0].slashed == 50 * ETH
    assert workers.locked_by(fund, trainer) == 0


@pytest.mark.parametrize("path", ["deliver+accept", "deliver+reject", "deliver+expire", "release", "miss", "cancel"])
def test_trainer_lock__every_way_out__released_exactly_once(fund, funded, trainer, workers, govern, mallory, path):
    fund.claim_head(sender=trainer)
    assert workers.locked_by(fund, trainer) == 50 * ETH
    if path.startswith("deliver"):
        fund.deliver(funded, b"\x0a" * 32, b"\x0b" * 32, "", "", sender=trainer)
        assert workers.locked_by(fund, trainer) == 50 * ETH  # a rejection may still slash
    if path == "deliver+accept":
        govern((fund, "accept", funded, 1))
    elif path == "deliver+reject":
        govern((fund, "reject", funded))
    elif path == "deliver+expire":
        chain.mine(timestamp=fund.campaigns(funded).state_since + fund.params().review_period + 1)
        fund.expire(funded, sender=mallory)
    elif path == "release":
        fund.release(funded, sender=trainer)
    elif path == "miss":
        chain.mine(timestamp=fund.campaigns(funded).delivery_deadline + 1)
        fund.report_missed(funded, sender=mallory)
    else:
        govern((fund, "cancel", funded))
    assert workers.locked_by(fund, trainer) == 0
    assert workers.locked(trainer) == 0
    assert fund.campaigns(funded).stake_locked == 0


def test_reject__governance_requeues_and_slashes(fund, delivered, govern, trainer, workers):
    govern((fund, "reject", delivered))
    assert fund.queue() == [delivered]
    assert workers.slashed(trainer) == 1
    with ape.reverts("TrainingFund: campaign not delivered"):
        govern((fund, "reject", delivered))


# ---------------------------------------------------------------- acceptance


def claim_all(fund, campaign, people):
    for who in people:
        fund.claim_shares(campaign, who, sender=who)


def test_accept__model_registered_shares_add_up_exactly__trainer_paid(fund, delivered, govern, system, trainer,
                                                                      app_builder, dave, alice, bob):
    shares, registry = system.ModelShares, system.ModelRegistry
    tx = govern((fund, "accept", delivered, 10**15))
    log = tx.decode_logs(fund.ModelTrained)[0]
    model_id = log.model_id
    backers = TOTAL * 5_000 // 10_000
    data = TOTAL * 3_000 // 10_000
    expected = {app_builder: backers * 2 // 3, dave: backers * 1 // 3, alice: data * 5 // 8, bob: data * 3 // 8,
                trainer: log.trainer_shares}
    # Everything is minted to the fund; each recipient is entitled to its part.
    assert shares.balanceOf(fund, model_id) == TOTAL == shares.total_supply(model_id)
    for who, amount in expected.items():
        assert fund.shares_owed(delivered, who) == amount
        assert shares.balanceOf(who, model_id) == 0
    assert log.backers_shares + log.data_shares + log.trainer_shares == TOTAL
    assert log.trainer_shares == TOTAL - backers * 2 // 3 - backers // 3 - data * 5 // 8 - data * 3 // 8
    model = registry.models(model_id)
    assert (bytes(model.artifact_hash), model.owner) == (b"\x0a" * 32, system.Timelock.address)
    assert fund.owed(trainer) == 3 * ETH
    assert fund.campaigns(delivered).model_id == model_id

    claim_all(fund, delivered, expected)
    for who, amount in expected.items():
        assert shares.balanceOf(who, model_id) == amount
        assert fund.shares_owed(delivered, who) == 0
    assert shares.balanceOf(fund, model_id) == 0


def test_attack__stranger_registers_a_copy_before_the_acceptance__the_real_model_is_listed(
        fund, delivered, governor, system, mallory, alice, bob):
    """Attack: the delivered artifact and manifest are public; before the acceptance executes, register a copy
    with every share to yourself, taking the id the real model would have got. An acceptance that listed the
    predicted id would list the copy. `acceptance` lists what `accept` registers, in the same transaction."""
    registry = system.ModelRegistry
    proposal = acceptance(fund, registry, delivered, 10**15)
    proposal_id = pass_proposal(governor, proposal, alice, [alice, bob], execute=False)  # queued
    c = fund.campaigns(delivered)
    copy_tx = registry.register_model(c.artifact_hash, c.manifest_hash, "ipfs://mine", 1, [mallory], [1],
                                      sender=mallory)
    copy = copy_tx.decode_logs(registry.ModelRegistered)[0].model_id
    to_eta(governor, proposal_id)
    governor.execute(*proposal.args(), sender=mallory)
    model_id = fund.campaigns(delivered).model_id
    assert model_id == copy + 1
    assert registry.model_terms(model_id) == (True, 10**15)
    assert registry.models(copy).status == 1  # pending, and it cannot be listed beside the real one
    assert registry.listing_of(c.artifact_hash) == model_id
    assert not registry.open_listing()


def test_acceptance__listing_already_open__accept_alone_and_listing_stays_open(fund, delivered, governor, govern,
                                                                               system, alice, bob):
    registry = system.ModelRegistry
    govern((registry, "set_open_listing", True))
    proposal = acceptance(fund, registry, delivered, 10**15)
    assert len(proposal.actions) == 1
    pass_proposal(governor, proposal, alice, [alice, bob])
    assert registry.model_terms(fund.campaigns(delivered).model_id) == (True, 10**15)
    assert registry.open_listing()


def test_claim_shares__emits_and_cannot_repeat(fund, delivered, govern, system, dave, bob, mallory):
    model_id = govern((fund, "accept", delivered, 1)).decode_logs(fund.ModelTrained)[0].model_id
    amount = fund.shares_owed(delivered, dave)
    tx = fund.claim_shares(delivered, bob, sender=dave)  # dave directs its shares to bob
    log = tx.decode_logs(fund.SharesClaimed)[0]
    assert (log.campaign_id, log.account, log.to, log.amount, log.revenue) == (delivered, dave.address, bob.address,
                                                                               amount, 0)
    assert system.ModelShares.balanceOf(bob, model_id) == amount
    with ape.reverts("TrainingFund: no shares to claim"):
        fund.claim_shares(delivered, dave, sender=dave)
    with ape.reverts("TrainingFund: no shares to claim"):
        fund.claim_shares(delivered, mallory, sender=mallory)


@pytest.mark.parametrize("receiver", ["zero", "fund"])
def test_claim_shares__invalid_receiver__reverts(fund, delivered, govern, dave, receiver):
    govern((fund, "accept", delivered, 1))
    to = "0x" + "00" * 20 if receiver == "zero" else fund.address
    with ape.reverts("TrainingFund: invalid receiver"):
        fund.claim_shares(delivered, to, sender=dave)


def test_claim_shares__not_accepted__reverts(fund, delivered, dave):
    with ape.reverts("TrainingFund: no shares to claim"):
        fund.claim_shares(delivered, dave, sender=dave)


def test_claim_shares__revenue_earned_while_held__forwarded_exactly(fund, delivered, govern, system, app_builder,
                                                                    dave, alice, bob, trainer, mallory):
    """Revenue credited between acceptance and claim reaches the claimer, at claim and never twice."""
    shares = system.ModelShares
    model_id = govern((fund, "accept", delivered, 1)).decode_logs(fund.ModelTrained)[0].model_id
    shares.credit_revenue(model_id, sender=mallory, value=ETH)
    dave_shares = fund.shares_owed(delivered, dave)
    expected = dave_shares * (ETH * PRECISION // TOTAL) // PRECISION
    assert fund.claimable_revenue(delivered, dave) == expected
    tx = fund.claim_shares(delivered, dave, sender=dave)
    assert tx.decode_logs(fund.SharesClaimed)[0].revenue == expected
    assert fund.owed(dave) == expected
    assert fund.revenue_held() == ETH - expected

    # More revenue: dave (now a holder) earns it through ModelShares; the fund forwards the rest at claim.
    shares.credit_revenue(model_id, sender=mallory, value=2 * ETH)
    assert shares.withdrawable_revenue(dave, [model_id]) == dave_shares * 2 * ETH // TOTAL
    alice_shares = fund.shares_owed(delivered, alice)
    fund.claim_shares(delivered, alice, sender=alice)
    assert fund.owed(alice) == alice_shares * 3 * ETH // TOTAL
    before = alice.balance
    tx = fund.withdraw(sender=alice)
    assert alice.balance == before + alice_shares * 3 * ETH // TOTAL - tx.total_fees_paid
    # What is still held covers exactly the remaining claims: never more forwarded than received.
    remaining = [app_builder, bob, trainer]
    assert fund.revenue_held() == sum(fund.claimable_revenue(delivered, who) for who in remaining)
    for who in remaining:
        fund.claim_shares(delivered, who, sender=who)
    assert fund.revenue_held() == 0
    assert shares.balanceOf(fund, model_id) == 0


def test_accept__hookless_wallet_among_backers__everyone_claims__wallet_redirects(
        project, fund, dataset, govern, system, carol, app_builder, dave, trainer, deployer):
    """The attack: a contract wallet without onERC1155Received backs the campaign. Before, acceptance pushed
    shares to it and reverted forever, freezing the escrow. Now acceptance succeeds and only that wallet's own
    claim to itself fails; it directs its shares to an address it controls."""
    wallet = deployer.deploy(project.MockBareWallet)
    shares = system.ModelShares
    campaign = open_campaign(fund, carol, [dataset])
    fund.back(campaign, sender=app_builder, value=2 * ETH)
    wallet.act(fund, fund.back.encode_input(campaign), sender=dave, value=ETH)
    past_funding(fund, campaign)
    fund.close_funding(campaign, sender=carol)
    fund.claim_head(sender=trainer)
    fund.deliver(campaign, b"\x0a" * 32, b"\x0b" * 32, "", "", sender=trainer)
    tx = govern((fund, "accept", campaign, 1))
    model_id = tx.decode_logs(fund.ModelTrained)[0].model_id
    assert fund.campaigns(campaign).state == ACCEPTED
    assert fund.owed(trainer) == 3 * ETH

    fund.claim_shares(campaign, app_builder, sender=app_builder)
    fund.claim_shares(campaign, trainer, sender=trainer)
    assert shares.balanceOf(app_builder, model_id) == 500_000 * 2 // 3
    owed = fund.shares_owed(campaign, wallet)
    assert owed == 500_000 // 3
    # The wallet cannot take ERC-1155 shares itself: only its own claim to itself fails (the missing hook
    # returns nothing, so the transfer reverts without a reason).
    with ape.reverts():
        wallet.act(fund, fund.claim_shares.encode_input(campaign, wallet), sender=dave)
    wallet.act(fund, fund.claim_shares.encode_input(campaign, dave), sender=dave)
    assert shares.balanceOf(dave, model_id) == owed
    assert fund.shares_owed(campaign, wallet) == 0


def test_accept__hookless_wallet_among_contributors__this_and_later_campaigns_accepted(
        project, fund, bounties, govern, system, accounts, carol, app_builder, trainer, deployer, alice):
    """A contributor that is a hook-less contract wallet used to poison every campaign on its dataset."""
    wallet = deployer.deploy(project.MockBareWallet)
    validators = [accounts[3], accounts[4]]
    govern((bounties, "open_bounty", "spec", REWARD, 100 * REWARD, chain.pending_timestamp + 60 * DAY, validators,
            1, DAY))
    bounty = bounties.bounty_count()
    content = fresh_hash()
    wallet.act(bounties, bounties.commit.encode_input(contributions.commitment(content, wallet.address)), sender=alice)
    wallet.act(bounties, bounties.submit.encode_input(bounty, content, "", 4), sender=alice)
    contributions.submit(bounties, bounty, fresh_hash(), "", 4, sender=alice)
    for cid in (bounties.contribution_count() - 1, bounties.contribution_count()):
        bounties.vote(cid, True, sender=validators[0])
    chain.mine(timestamp=chain.pending_timestamp + DAY + 1)
    for cid in (bounties.contribution_count() - 1, bounties.contribution_count()):
        bounties.claim_reward(cid, sender=alice)
    assert wallet.address in bounties.dataset_contributors(bounty)
    for _ in range(2):
        campaign = open_campaign(fund, carol, [bounty], goal=ETH)
        fund.back(campaign, sender=app_builder, value=ETH)
        past_funding(fund, campaign)
        fund.close_funding(campaign, sender=carol)
        fund.claim_head(sender=trainer)
        fund.deliver(campaign, b"\x0a" * 32, b"\x0b" * 32, "", "", sender=trainer)
        model_id = govern((fund, "accept", campaign, 1)).decode_logs(fund.ModelTrained)[0].model_id
        assert fund.shares_owed(campaign, wallet) == 150_000
        fund.claim_shares(campaign, alice, sender=alice)
        wallet.act(fund, fund.claim_shares.encode_input(campaign, alice), sender=alice)
        assert system.ModelShares.balanceOf(alice, model_id) == 300_000


def test_accept__no_data__trainer_keeps_the_data_part(fund, govern, system, carol, app_builder, trainer):
    campaign = open_campaign(fund, carol, [], goal=ETH)
    fund.back(campaign, sender=app_builder, value=ETH)
    past_funding(fund, campaign)
    fund.close_funding(campaign, sender=carol)
    fund.claim_head(sender=trainer)
    fund.deliver(campaign, b"\x0c" * 32, b"\x0d" * 32, "", "", sender=trainer)
    log = govern((fund, "accept", campaign, 1)).decode_logs(fund.ModelTrained)[0]
    assert (log.backers_shares, log.data_shares, log.trainer_shares) == (500_000, 0, 500_000)
    assert fund.shares_owed(campaign, trainer) == 500_000


def test_accept__direct_or_undelivered__reverts(fund, funded, govern, deployer):
    with ape.reverts("TrainingFund: caller is not governance"):
        fund.accept(funded, 1, sender=deployer)
    with ape.reverts("TrainingFund: campaign not delivered"):
        govern((fund, "accept", funded, 1))


# ---------------------------------------------------------------- what the fund refuses


def test_fund__shares_sent_by_a_holder__refused(fund, delivered, govern, system, dave):
    model_id = govern((fund, "accept", delivered, 1)).decode_logs(fund.ModelTrained)[0].model_id
    fund.claim_shares(delivered, dave, sender=dave)
    with ape.reverts("TrainingFund: shares not accepted"):
        system.ModelShares.safeTransferFrom(dave, fund, model_id, 1, b"", sender=dave)


def test_fund__model_registered_to_it_by_a_stranger__refused(fund, system, mallory):
    with ape.reverts("TrainingFund: shares not accepted"):
        system.ModelRegistry.register_model(b"\x01" * 32, b"\x02" * 32, "", 1, [fund], [5], sender=mallory)


def test_fund__hook_called_directly__refused(fund, mallory):
    with ape.reverts("TrainingFund: not a model share"):
        fund.onERC1155Received(mallory, "0x" + "00" * 20, 1, 1, b"", sender=mallory)
    with ape.reverts("TrainingFund: not a model share"):
        fund.onERC1155BatchReceived(mallory, "0x" + "00" * 20, [1], [1], b"", sender=mallory)


def test_fund__plain_ether__refused(fund, mallory):
    with ape.reverts("TrainingFund: unexpected ether"):
        mallory.transfer(fund, 1)


# ---------------------------------------------------------------- exits that return the money


def test_release__trainer_gives_up__requeued_and_penalised(fund, funded, trainer, workers, mallory):
    fund.claim_head(sender=trainer)
    with ape.reverts("TrainingFund: caller is not the trainer"):
        fund.release(funded, sender=mallory)
    stake = workers.workers(trainer).stake
    tx = fund.release(funded, sender=trainer)
    assert tx.decode_logs(fund.TrainerPenalised)[0].slashed == 50 * ETH
    assert workers.workers(trainer).stake == stake - 50 * ETH
    assert fund.queue() == [funded]
    assert fund.campaigns(funded).state == QUEUED
    with ape.reverts("TrainingFund: campaign not training"):
        fund.release(funded, sender=trainer)


def test_expire__queue_timeout__campaign_fails_and_refunds(fund, funded, app_builder, dave, mallory):
    with ape.reverts("TrainingFund: not expired yet"):
        fund.expire(funded, sender=mallory)
    chain.mine(timestamp=fund.campaigns(funded).state_since + fund.params().queue_timeout + 1)
    tx = fund.expire(funded, sender=mallory)
    log = tx.decode_logs(fund.CampaignStateChanged)[0]
    assert (log.campaign_id, log.old_state, log.new_state) == (funded, QUEUED, FAILED)
    assert fund.queue() == []
    tx = fund.refund(funded, sender=app_builder)
    assert tx.decode_logs(fund.Refunded)[0].amount == 2 * ETH
    fund.refund(funded, sender=dave)
    assert (fund.owed(app_builder), fund.owed(dave)) == (2 * ETH, ETH)


def test_expire__unreviewed_delivery__campaign_fails_trainer_unpenalised(fund, delivered, trainer, workers,
                                                                         app_builder, mallory, govern):
    stake = workers.workers(trainer).stake
    with ape.reverts("TrainingFund: not expired yet"):
        fund.expire(delivered, sender=mallory)
    chain.mine(timestamp=fund.campaigns(delivered).state_since + fund.params().review_period + 1)
    tx = fund.expire(delivered, sender=mallory)
    log = tx.decode_logs(fund.CampaignStateChanged)[0]
    assert (log.old_state, log.new_state) == (DELIVERED, FAILED)
    assert workers.workers(trainer).stake == stake
    fund.refund(delivered, sender=app_builder)
    assert fund.owed(app_builder) == 2 * ETH
    with ape.reverts("TrainingFund: campaign not delivered"):
        govern((fund, "accept", delivered, 1))


def test_attack__five_percent_holder_accepts_its_own_trainers_sham__defeated_backers_refunded(
        fund, delivered, governor, carol, trainer, app_builder, dave, mallory):
    # carol (5 % of the votes) opened the campaign and its trainer is hers: it delivered junk. Routine (4 %
    # quorum), her vote alone would pay it the backers' 3 ETH. Critical (20 %), the proposal is defeated and
    # the delivery expires unreviewed: the backers take everything back.
    proposal_id = propose(governor, Proposal("accept the delivery").call(fund, "accept", delivered, 10**15), carol)
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=carol)
    to_deadline_passed(governor, proposal_id)
    assert governor.is_critical_proposal(proposal_id)
    assert ProposalState(governor.state(proposal_id)) == ProposalState.Defeated
    chain.mine(timestamp=max(chain.pending_timestamp,
                             fund.campaigns(delivered).state_since + fund.params().review_period + 1))
    fund.expire(delivered, sender=mallory)
    fund.refund(delivered, sender=app_builder)
    fund.refund(delivered, sender=dave)
    assert (fund.owed(app_builder), fund.owed(dave), fund.owed(trainer)) == (2 * ETH, ETH, 0)


def test_accept__critical_vote__fits_the_review_period(fund, governor):
    # An honest acceptance is a critical proposal: voting delay, period and timelock delay must end before
    # anyone may expire the delivery.
    assert governor.votingDelay() + governor.critical_voting_period() + governor.critical_delay() < \
        fund.params().review_period


@pytest.mark.parametrize("state", ["funding", "training"])
def test_expire__other_states__reverts(fund, funded, dataset, carol, trainer, mallory, state):
    campaign = funded
    if state == "funding":
        campaign = open_campaign(fund, carol, [dataset])
    else:
        fund.claim_head(sender=trainer)
    with ape.reverts("TrainingFund: campaign not queued or delivered"):
        fund.expire(campaign, sender=mallory)


@pytest.mark.parametrize("state", ["queued", "training", "delivered"])
def test_cancel__governance__campaign_fails_and_refunds(fund, funded, govern, trainer, workers, app_builder, state):
    if state != "queued":
        fund.claim_head(sender=trainer)
    if state == "delivered":
        fund.deliver(funded, b"\x0a" * 32, b"\x0b" * 32, "", "", sender=trainer)
    stake = workers.workers(trainer).stake
    tx = govern((fund, "cancel", funded))
    assert tx.decode_logs(fund.CampaignStateChanged)[0].new_state == FAILED
    assert fund.queue() == []
    assert workers.workers(trainer).stake == stake
    fund.refund(funded, sender=app_builder)
    assert fund.owed(app_builder) == 2 * ETH


def test_cancel__direct_or_not_in_progress__reverts(fund, funded, dataset, govern, carol, deployer):
    with ape.reverts("TrainingFund: caller is not governance"):
        fund.cancel(funded, sender=deployer)
    campaign = open_campaign(fund, carol, [dataset])
    with ape.reverts("TrainingFund: campaign not in progress"):
        govern((fund, "cancel", campaign))


# ---------------------------------------------------------------- governed settings


def test_set_policy__governed_and_checked(fund, govern, deployer):
    govern((fund, "set_policy", (6_000, 3_000, 0)))
    assert fund.policy().backers_bps == 6_000
    with ape.reverts("TrainingFund: trainer share is zero"):
        govern((fund, "set_policy", (7_000, 3_000, 0)))
    with ape.reverts("TrainingFund: caller is not governance"):
        fund.set_policy((1, 1, 1), sender=deployer)


def test_set_params__governed_and_checked(fund, govern, deployer):
    old = fund.params()
    tx = govern((fund, "set_params", (ETH, 10 * DAY, 20 * DAY)))
    log = tx.decode_logs(fund.ParamsSet)[0]
    assert tuple(log.old_params) == tuple(old)
    assert tuple(fund.params()) == (ETH, 10 * DAY, 20 * DAY)
    for bad in ((ETH, 0, DAY), (ETH, DAY, 0)):
        with ape.reverts("TrainingFund: period is zero"):
            govern((fund, "set_params", bad))
    with ape.reverts("TrainingFund: caller is not governance"):
        fund.set_params((1, 1, 1), sender=deployer)
