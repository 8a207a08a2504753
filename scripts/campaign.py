"""Crowdfunded training from a terminal: for backers and trainers.

    ape run campaign list
    ape run campaign open SPEC_URI --dataset BOUNTY_ID --goal-eth 3 --days 7 --delivery-days 2
    ape run campaign back CAMPAIGN_ID --eth 1.5                    # backers
    ape run campaign close CAMPAIGN_ID                              # after the funding deadline
    ape run campaign refund CAMPAIGN_ID                             # backers of a failed campaign
    ape run campaign train --out DIR                                # trainers: head of the queue
    ape run campaign train --resume CAMPAIGN_ID                     # retry a training you claimed
    ape run campaign release CAMPAIGN_ID                            # trainers: give a claimed training up now
    ape run campaign miss CAMPAIGN_ID                               # after a missed delivery deadline
    ape run campaign expire CAMPAIGN_ID                             # a queue or review timeout passed: refunds
    ape run campaign claim-shares CAMPAIGN_ID [--to ADDRESS]        # backers, contributors, trainer
    ape run campaign withdraw                                       # refunds, training payments

Acceptance is the DAO's: `ape run dao propose ... --action "TrainingFund.accept(ID, PRICE)"`.
"""

import time
from decimal import Decimal
from pathlib import Path

import click
from ape import project
from ape.cli import ConnectedProviderCommand, account_option

from offchain.cli import console, fmt_eth, resolve_account, table, user_errors
from offchain.deploy import load_deployment
from offchain.store import ContentStore
from offchain.trainer import Trainer

STATE = {1: "funding", 2: "failed (refunds)", 3: "queued", 4: "training", 5: "delivered", 6: "accepted"}
DAY = 86_400


@click.group()
def cli():
    """Open, fund and train community models."""


@cli.command(name="list", cls=ConnectedProviderCommand)
@user_errors
def list_command(provider):
    """Campaigns and the compute queue."""
    fund = load_deployment(project, provider).TrainingFund
    rows = []
    for cid in range(1, fund.campaign_count() + 1):
        c = fund.campaigns(cid)
        rows.append((cid, c.spec_uri, f"{fmt_eth(c.raised)} / {fmt_eth(c.goal)}", STATE[c.state],
                     c.trainer if c.trainer != "0x" + "00" * 20 else "-", c.model_id or "-"))
    console.print(table("Campaigns", ["id", "spec", "raised / goal (ETH)", "state", "trainer", "model"], rows))
    console.print(f"compute queue (head first): {list(fund.queue())}")


@cli.command(name="open", cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("spec_uri")
@click.option("--dataset", "datasets", type=int, multiple=True, help="Bounty whose dataset to train on.")
@click.option("--goal-eth", required=True)
@click.option("--days", type=int, default=7, show_default=True, help="Funding period.")
@click.option("--delivery-days", type=int, default=2, show_default=True)
@user_errors
def open_command(provider, account, spec_uri, datasets, goal_eth, days, delivery_days):
    """Open a campaign."""
    from ape import chain

    sender = resolve_account(account, provider)
    fund = load_deployment(project, provider).TrainingFund
    tx = fund.open_campaign(spec_uri, list(datasets), int(Decimal(goal_eth) * 10**18),
                            chain.pending_timestamp + days * DAY, delivery_days * DAY, sender=sender)
    console.print(f"campaign {tx.decode_logs(fund.CampaignOpened)[0].campaign_id} opened")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("campaign_id", type=int)
@click.option("--eth", required=True)
@user_errors
def back(provider, account, campaign_id, eth):
    """Fund a campaign (all or nothing)."""
    sender = resolve_account(account, provider)
    fund = load_deployment(project, provider).TrainingFund
    tx = fund.back(campaign_id, sender=sender, value=int(Decimal(eth) * 10**18))
    console.print(f"raised {fmt_eth(tx.decode_logs(fund.Backed)[0].raised)} ETH")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("campaign_id", type=int)
@user_errors
def close(provider, account, campaign_id):
    """After the deadline: queue a funded campaign, or fail an underfunded one."""
    sender = resolve_account(account, provider)
    fund = load_deployment(project, provider).TrainingFund
    fund.close_funding(campaign_id, sender=sender)
    console.print(f"campaign {campaign_id}: {STATE[fund.campaigns(campaign_id).state]}")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("campaign_id", type=int)
@user_errors
def refund(provider, account, campaign_id):
    """Take back what you paid into a failed campaign (then `withdraw`)."""
    sender = resolve_account(account, provider)
    fund = load_deployment(project, provider).TrainingFund
    fund.refund(campaign_id, sender=sender)
    console.print(f"refund credited: {fmt_eth(fund.owed(sender))} ETH owed to you")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.option("--out", type=click.Path(path_type=Path), default=Path(".cache/trained"), show_default=True)
@click.option("--data-root", type=click.Path(path_type=Path), default=None,
              help="Folder that file:// contribution URIs may read from.")
@click.option("--resume", type=int, default=None, metavar="CAMPAIGN_ID",
              help="Retry a training you already claimed, instead of claiming the head of the queue.")
@user_errors
def train(provider, account, out, data_root, resume):
    """Check the head of the queue's datasets, claim it, train, deliver.

    Data that cannot be used is refused before the claim. A training that fails
    after the claim can be retried with --resume until its delivery deadline;
    after that `campaign miss` returns it to the queue."""
    sender = resolve_account(account, provider)
    d = load_deployment(project, provider)
    start = time.monotonic()
    trainer = Trainer(d.TrainingFund, d.DataBounties, sender, ContentStore(out / "store"), out,
                      file_root=data_root or Path("/"))
    delivery = trainer.run(resume=resume)
    console.print(f"campaign {delivery.campaign_id}: trained on {delivery.samples} items in "
                  f"{time.monotonic() - start:.1f} s, held-out accuracy {delivery.accuracy:.2%}, "
                  f"delivered {delivery.spec.folder}")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("campaign_id", type=int)
@user_errors
def miss(provider, account, campaign_id):
    """After a training's delivery deadline: return the campaign to the queue (the trainer is penalised)."""
    sender = resolve_account(account, provider)
    fund = load_deployment(project, provider).TrainingFund
    tx = fund.report_missed(campaign_id, sender=sender)
    penalty = tx.decode_logs(fund.TrainerPenalised)[0]
    console.print(f"campaign {campaign_id}: {STATE[fund.campaigns(campaign_id).state]} again; trainer "
                  f"{penalty.trainer} penalised {fmt_eth(penalty.slashed)} NCOM")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("campaign_id", type=int)
@user_errors
def release(provider, account, campaign_id):
    """Trainers: give up a training you claimed, before its deadline (the same penalty as a miss, at once)."""
    sender = resolve_account(account, provider)
    fund = load_deployment(project, provider).TrainingFund
    tx = fund.release(campaign_id, sender=sender)
    penalty = tx.decode_logs(fund.TrainerPenalised)[0]
    console.print(f"campaign {campaign_id}: {STATE[fund.campaigns(campaign_id).state]}; released, "
                  f"penalised {fmt_eth(penalty.slashed)} NCOM")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("campaign_id", type=int)
@user_errors
def expire(provider, account, campaign_id):
    """End a campaign that waited in the queue past the queue timeout, or a delivery never reviewed (refunds)."""
    sender = resolve_account(account, provider)
    fund = load_deployment(project, provider).TrainingFund
    fund.expire(campaign_id, sender=sender)
    console.print(f"campaign {campaign_id}: {STATE[fund.campaigns(campaign_id).state]}; backers run "
                  f"`ape run campaign refund {campaign_id}`")


@cli.command(name="claim-shares", cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("campaign_id", type=int)
@click.option("--to", "receiver", default=None, help="Address to receive the shares (default: your account).")
@user_errors
def claim_shares(provider, account, campaign_id, receiver):
    """Take your shares of an accepted campaign's model, with the revenue they earned meanwhile."""
    sender = resolve_account(account, provider)
    fund = load_deployment(project, provider).TrainingFund
    tx = fund.claim_shares(campaign_id, receiver or sender.address, sender=sender)
    claimed = tx.decode_logs(fund.SharesClaimed)[0]
    console.print(f"campaign {campaign_id}: {claimed.amount:,} shares of model {fund.campaigns(campaign_id).model_id} "
                  f"to {claimed.to}; {fmt_eth(claimed.revenue)} ETH of their revenue credited "
                  f"(`ape run campaign withdraw`)")


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@user_errors
def withdraw(provider, account):
    """Collect refunds and training payments."""
    sender = resolve_account(account, provider)
    fund = load_deployment(project, provider).TrainingFund
    tx = fund.withdraw(sender=sender)
    console.print(f"withdrew {fmt_eth(tx.decode_logs(fund.Withdrawn)[0].amount)} ETH")
