"""Crowdfunded training from a terminal: for backers and trainers.

    ape run campaign list
    ape run campaign open SPEC_URI --dataset BOUNTY_ID --goal "3 ether" --funding 7d --delivery 2d
    ape run campaign back CAMPAIGN_ID --eth "1.5 ether"            # backers
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
from pathlib import Path

import click

from offchain.cli import chain_command, deployment_of
from offchain.cli import Group, console, fmt_eth, fmt_time, parse_amount, parse_duration, resolve_account, \
    table
from offchain.errors import InvalidInput
from offchain.store import ContentStore
from offchain.trainer import Trainer

STATE = {1: "funding", 2: "failed (refunds)", 3: "queued", 4: "training", 5: "delivered", 6: "accepted"}
DAY = 86_400


@click.group(cls=Group)
def cli():
    """Open, fund and train community models."""


@chain_command(cli, name="list")
def list_command(provider, account):
    """Campaigns and the compute queue."""
    fund = deployment_of(provider).TrainingFund
    rows = []
    for cid in range(1, fund.campaign_count() + 1):
        c = fund.campaigns(cid)
        rows.append((cid, c.spec_uri, f"{fmt_eth(c.raised)} / {fmt_eth(c.goal)}", STATE[c.state],
                     c.trainer if c.trainer != "0x" + "00" * 20 else "-", c.model_id or "-"))
    console.print(table("Campaigns", ["id", "spec", "raised / goal (ETH)", "state", "trainer", "model"], rows))
    console.print(f"compute queue (head first): {list(fund.queue())}")


@chain_command(
    cli,
    click.argument("spec_uri"),
    click.option("--dataset", "datasets", type=int, multiple=True, help="Bounty whose dataset to train on."),
    click.option("--goal", "--goal-eth", "goal", required=True, help="ETH to raise: '3 ether', or 3."),
    click.option("--funding", default=None, help="Funding period: 7d, 36h ... [default: 7d]."),
    click.option("--delivery", default=None, help="Time the trainer has to deliver: 2d, 12h ... [default: 2d]."),
    click.option("--days", type=int, default=None, hidden=True, help="Funding period in days (old form of --funding)."),
    click.option("--delivery-days", type=int, default=None, hidden=True, help="Old form of --delivery."),
    name="open",
)
def open_command(provider, account, spec_uri, datasets, goal, funding, delivery, days, delivery_days):
    """Open a campaign."""
    from ape import chain

    sender = resolve_account(account, provider)
    goal_wei = parse_amount(goal, "--goal")
    funding_s = parse_duration(funding, "--funding") if funding else _days(days, "--days", 7)
    delivery_s = parse_duration(delivery, "--delivery") if delivery else _days(delivery_days, "--delivery-days", 2)
    d = deployment_of(provider)
    fund, bounties = d.TrainingFund, d.DataBounties
    if not datasets:
        raise InvalidInput("a campaign trains on at least one dataset: pass --dataset BOUNTY_ID "
                           "(`ape run bounty list` shows them)")
    for bounty_id in datasets:
        if not 1 <= bounty_id <= bounties.bounty_count():
            raise InvalidInput(f"--dataset {bounty_id}: no such bounty on this chain (there are "
                               f"{bounties.bounty_count()}; `ape run bounty list` shows them)")
    deadline = chain.pending_timestamp + funding_s
    tx = fund.open_campaign(spec_uri, list(datasets), goal_wei, deadline, delivery_s, sender=sender)
    console.print(f"campaign {tx.decode_logs(fund.CampaignOpened)[0].campaign_id} opened: funding until "
                  f"{fmt_time(deadline)}")


def _days(days: int | None, what: str, default: int) -> int:
    if days is None:
        return default * DAY
    if days <= 0:
        raise InvalidInput(f"{what} must be positive, got {days}")
    return days * DAY


@chain_command(
    cli,
    click.argument("campaign_id", type=int),
    click.option("--eth", required=True, help="What you put in: '1.5 ether', '500 gwei', or 1.5."),
)
def back(provider, account, campaign_id, eth):
    """Fund a campaign (all or nothing)."""
    sender = resolve_account(account, provider)
    wei = parse_amount(eth, "--eth")
    fund = deployment_of(provider).TrainingFund
    if not 1 <= campaign_id <= fund.campaign_count():
        raise InvalidInput(f"no campaign {campaign_id} on this chain: `ape run campaign list` shows them")
    if provider.get_balance(sender.address) < wei:
        raise InvalidInput(f"--eth {eth} is more than your balance of {fmt_eth(provider.get_balance(sender.address))}")
    tx = fund.back(campaign_id, sender=sender, value=wei)
    console.print(f"raised {fmt_eth(tx.decode_logs(fund.Backed)[0].raised)} ETH")


@chain_command(cli, click.argument("campaign_id", type=int))
def close(provider, account, campaign_id):
    """After the deadline: queue a funded campaign, or fail an underfunded one."""
    sender = resolve_account(account, provider)
    fund = deployment_of(provider).TrainingFund
    fund.close_funding(campaign_id, sender=sender)
    console.print(f"campaign {campaign_id}: {STATE[fund.campaigns(campaign_id).state]}")


@chain_command(cli, click.argument("campaign_id", type=int))
def refund(provider, account, campaign_id):
    """Take back what you paid into a failed campaign (then `withdraw`)."""
    sender = resolve_account(account, provider)
    fund = deployment_of(provider).TrainingFund
    fund.refund(campaign_id, sender=sender)
    console.print(f"refund credited: {fmt_eth(fund.owed(sender))} ETH owed to you")


@chain_command(
    cli,
    click.option("--out", type=click.Path(path_type=Path), default=Path(".cache/trained"), show_default=True),
    click.option("--data-root", type=click.Path(path_type=Path), default=None,
                 help="Folder that file:// contribution URIs may read from."),
    click.option("--resume", type=int, default=None, metavar="CAMPAIGN_ID",
                 help="Retry a training you already claimed, instead of claiming the head of the queue."),
)
def train(provider, account, out, data_root, resume):
    """Check the head of the queue's datasets, claim it, train, deliver.

    Data that cannot be used is refused before the claim. A training that fails
    after the claim can be retried with --resume until its delivery deadline;
    after that `campaign miss` returns it to the queue."""
    sender = resolve_account(account, provider)
    d = deployment_of(provider)
    start = time.monotonic()
    trainer = Trainer(d.TrainingFund, d.DataBounties, sender, ContentStore(out / "store"), out,
                      file_root=data_root or Path("/"))
    delivery = trainer.run(resume=resume)
    console.print(f"campaign {delivery.campaign_id}: trained on {delivery.samples} items in "
                  f"{time.monotonic() - start:.1f} s, held-out accuracy {delivery.accuracy:.2%}, "
                  f"delivered {delivery.spec.folder}")


@chain_command(cli, click.argument("campaign_id", type=int))
def miss(provider, account, campaign_id):
    """After a training's delivery deadline: return the campaign to the queue (the trainer is penalised)."""
    _penalise(provider, account, campaign_id, "report_missed", lambda state, penalty: (
        f"campaign {campaign_id}: {state} again; trainer {penalty.trainer} penalised {fmt_eth(penalty.slashed)} NCOM"))


@chain_command(cli, click.argument("campaign_id", type=int))
def release(provider, account, campaign_id):
    """Trainers: give up a training you claimed, before its deadline (the same penalty as a miss, at once)."""
    _penalise(provider, account, campaign_id, "release", lambda state, penalty: (
        f"campaign {campaign_id}: {state}; released, penalised {fmt_eth(penalty.slashed)} NCOM"))


def _penalise(provider, account, campaign_id: int, method: str, line) -> None:
    """A TrainingFund call that penalises the trainer (`report_missed`, `release`): sent, then one line,
    `line(state name, TrainerPenalised event)`."""
    sender = resolve_account(account, provider)
    fund = deployment_of(provider).TrainingFund
    tx = getattr(fund, method)(campaign_id, sender=sender)
    penalty = tx.decode_logs(fund.TrainerPenalised)[0]
    console.print(line(STATE[fund.campaigns(campaign_id).state], penalty))


@chain_command(cli, click.argument("campaign_id", type=int))
def expire(provider, account, campaign_id):
    """End a campaign that waited in the queue past the queue timeout, or a delivery never reviewed (refunds)."""
    sender = resolve_account(account, provider)
    fund = deployment_of(provider).TrainingFund
    fund.expire(campaign_id, sender=sender)
    console.print(f"campaign {campaign_id}: {STATE[fund.campaigns(campaign_id).state]}; backers run "
                  f"`ape run campaign refund {campaign_id}`")


@chain_command(
    cli,
    click.argument("campaign_id", type=int),
    click.option("--to", "receiver", default=None, help="Address to receive the shares (default: your account)."),
    name="claim-shares",
)
def claim_shares(provider, account, campaign_id, receiver):
    """Take your shares of an accepted campaign's model, with the revenue they earned meanwhile."""
    sender = resolve_account(account, provider)
    fund = deployment_of(provider).TrainingFund
    tx = fund.claim_shares(campaign_id, receiver or sender.address, sender=sender)
    claimed = tx.decode_logs(fund.SharesClaimed)[0]
    console.print(f"campaign {campaign_id}: {claimed.amount:,} shares of model {fund.campaigns(campaign_id).model_id} "
                  f"to {claimed.to}; {fmt_eth(claimed.revenue)} ETH of their revenue credited "
                  f"(`ape run campaign withdraw`)")


@chain_command(cli)
def withdraw(provider, account):
    """Collect refunds and training payments."""
    sender = resolve_account(account, provider)
    fund = deployment_of(provider).TrainingFund
    tx = fund.withdraw(sender=sender)
    console.print(f"withdrew {fmt_eth(tx.decode_logs(fund.Withdrawn)[0].amount)} ETH")
