"""The trainer against the embedded chain: data is checked before the claim,
and a claimed training that fails has a defined way out."""

import ape
import pytest
from ape import chain
from eth_utils import keccak

from offchain.errors import BadInput, NeuralCommonsError
from offchain.store import ContentStore
from offchain.trainer import CampaignState, Trainer, TrainingStuck, _build_module, dataset_document
from tests.conftest import stake_worker
from tests.utils.commons import accepted_bounty
from tests.utils.constants import DAY, ETH

QUEUED, TRAINING, DELIVERED = CampaignState.QUEUED, CampaignState.TRAINING, CampaignState.DELIVERED


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("contributions")
    x, _, y, _ = _build_module().held_out_split()
    (folder / "good.json").write_bytes(dataset_document(x[:200], y[:200]))
    (folder / "bad.json").write_bytes(b"these are not digits")
    return folder


@pytest.fixture(scope="module")
def datasets(system, govern, accounts, alice, data_dir):
    """Two bounties: one whose only contribution is labelled digits, one whose only contribution is not."""
    return {name: accepted_bounty(system.DataBounties, govern, [accounts[3]],
                                  [(alice, keccak((data_dir / f"{name}.json").read_bytes()), f"file://{name}.json",
                                    200)], reward=ETH, budget=10_000 * ETH, spec=f"nc://{name}")
            for name in ("good", "bad")}


@pytest.fixture(scope="module")
def trainer_account(system, deployer, worker):
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker)
    return worker


def queued_campaign(fund, creator, backer, bounty):
    tx = fund.open_campaign("nc://spec", [bounty], ETH, chain.pending_timestamp + DAY, 2 * DAY, sender=creator)
    campaign = tx.decode_logs(fund.CampaignOpened)[0].campaign_id
    fund.back(campaign, sender=backer, value=ETH)
    chain.mine(timestamp=chain.pending_timestamp + DAY + 1)
    fund.close_funding(campaign, sender=creator)
    return campaign


@pytest.fixture
def make_trainer(system, trainer_account, data_dir, tmp_path):
    def make():
        return Trainer(system.TrainingFund, system.DataBounties, trainer_account, ContentStore(tmp_path / "store"),
                       tmp_path, file_root=data_dir)

    return make


def test_train__malformed_dataset__refused_before_claiming(system, datasets, make_trainer, carol, app_builder):
    fund = system.TrainingFund
    campaign = queued_campaign(fund, carol, app_builder, datasets["bad"])
    claims_before = len(list(fund.TrainingClaimed.range(0, None)))
    with pytest.raises(BadInput, match=f"campaign {campaign} not claimed: its data cannot be used: contribution "
                                       r"\d+ is not a labelled-digits document \(JSONDecodeError"):
        make_trainer().run()
    assert fund.campaigns(campaign).state == QUEUED
    assert list(fund.queue()) == [campaign]
    assert len(list(fund.TrainingClaimed.range(0, None))) == claims_before  # nothing claimed, nobody penalised


def test_train__head_data_unusable__next_campaign_claimed_and_trained(system, datasets, make_trainer, carol,
                                                                       app_builder):
    """The head's data cannot be used (so no trainer will claim it): the trainer claims the campaign behind it
    instead of leaving the whole queue stopped until the head's queue timeout."""
    fund = system.TrainingFund
    head = queued_campaign(fund, carol, app_builder, datasets["bad"])
    behind = queued_campaign(fund, carol, app_builder, datasets["good"])
    assert list(fund.queue()) == [head, behind]
    delivery = make_trainer().run()
    assert delivery.campaign_id == behind
    assert "claim a campaign behind an unusable head" in delivery.gas
    assert fund.campaigns(behind).state == DELIVERED
    assert (fund.campaigns(head).state, list(fund.queue())) == (QUEUED, [head])


def test_train__campaign_this_trainer_missed__skipped_unclaimed(system, datasets, make_trainer, trainer_account,
                                                                 carol, app_builder):
    fund = system.TrainingFund
    campaign = queued_campaign(fund, carol, app_builder, datasets["good"])
    fund.claim(campaign, sender=trainer_account)
    fund.release(campaign, sender=trainer_account)  # a miss: the contract refuses it this trainer again
    with pytest.raises(BadInput, match=f"campaign {campaign} not claimed: this trainer missed it before"):
        make_trainer().run()
    assert list(fund.queue()) == [campaign]


def test_train__fails_after_claim__retry_refused_then_miss_returns_campaign_to_queue(
        system, datasets, make_trainer, data_dir, trainer_account, carol, app_builder, mallory):
    fund = system.TrainingFund
    campaign = queued_campaign(fund, carol, app_builder, datasets["good"])
    trainer = make_trainer()
    assert trainer.fetch_campaign_data(campaign)[0].shape == (200, 64)  # checked: good data
    fund.claim_head(sender=trainer_account)  # claimed, then the trainer crashed and the data went bad
    good = (data_dir / "good.json").read_bytes()
    (data_dir / "good.json").write_bytes(b"{}")
    try:
        with pytest.raises(TrainingStuck, match=f"campaign {campaign} is claimed but not delivered: BadInput: "
                                                f"input hash mismatch.*--resume {campaign}.*campaign miss {campaign}"):
            trainer.run(resume=campaign)
    finally:
        (data_dir / "good.json").write_bytes(good)
    assert fund.campaigns(campaign).state == TRAINING
    # The contract offers no early release: the miss can be reported only after the delivery deadline...
    with ape.reverts("TrainingFund: delivery deadline not passed"):
        fund.report_missed(campaign, sender=mallory)
    chain.mine(timestamp=fund.campaigns(campaign).delivery_deadline + 1)
    # ...and then the campaign goes back to the queue, the trainer penalised.
    tx = trainer.report_missed(campaign)
    (penalty,) = tx.decode_logs(fund.TrainerPenalised)
    assert (penalty.campaign_id, penalty.trainer) == (campaign, trainer_account.address)
    assert fund.campaigns(campaign).state == QUEUED
    assert list(fund.queue()) == [campaign]
    assert system.WorkerRegistry.missed(trainer_account) == 1


def test_train__resume_a_campaign_not_claimed_by_me__refused(system, datasets, make_trainer, carol, app_builder,
                                                              trainer_account):
    fund = system.TrainingFund
    campaign = queued_campaign(fund, carol, app_builder, datasets["good"])
    with pytest.raises(NeuralCommonsError, match=f"campaign {campaign} is not a training claimed by"):
        make_trainer().run(resume=campaign)
    assert fund.campaigns(campaign).state == QUEUED


def test_train__empty_queue__clear_error(system, make_trainer):
    with pytest.raises(NeuralCommonsError, match="the compute queue is empty"):
        make_trainer().run()
