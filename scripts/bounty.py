"""Data bounties from a terminal: for contributors and validators.

    ape run bounty list
    ape run bounty submit BOUNTY_ID FILE [--uri URI] --items N     # contributors
    ape run bounty vote CONTRIBUTION_ID accept|reject              # validators
    ape run bounty screen CONTRIBUTION_ID [--threshold 0.8]       # validators: near-duplicates of accepted items
    ape run bounty claim CONTRIBUTION_ID                           # after the challenge window
    ape run bounty challenge CONTRIBUTION_ID --reason URI          # anyone, with the bond
    ape run bounty expire CONTRIBUTION_ID                          # anyone, after the review period

Bounties themselves are opened by the DAO (`ape run dao propose ... --action
"DataBounties.open_bounty(...)"`). Every command takes --network and --account.
"""

from pathlib import Path

import click
from eth_utils import keccak

from offchain.cli import (
    chain_command,
    Group, console, deployment_of, fmt_time, fmt_tokens, parse_count, resolve_account, table,
)
from offchain import contributions
from offchain.errors import InvalidInput

STATUS = {1: "pending", 2: "accepted (window open)", 3: "rejected", 4: "challenged", 5: "rewarded"}


@click.group(cls=Group)
def cli():
    """Contribute data to bounties and validate contributions."""


@chain_command(cli, name="list")
def list_command(provider, account):
    """Bounties and their contributions."""
    bounties = deployment_of(provider).DataBounties
    rows = []
    for bounty_id in range(1, bounties.bounty_count() + 1):
        b = bounties.bounties(bounty_id)
        rows.append((bounty_id, b.spec_uri, fmt_tokens(b.reward_per_item), f"{fmt_tokens(b.reserved)} / "
                     f"{fmt_tokens(b.budget)}", fmt_time(b.deadline), bounties.dataset_total_weight(bounty_id)))
    console.print(table("Bounties", ["id", "spec", "reward per item", "reserved / budget", "deadline",
                                     "dataset items"], rows))
    rows = []
    for cid in range(1, bounties.contribution_count() + 1):
        c = bounties.contributions(cid)
        rows.append((cid, c.bounty_id, c.contributor, c.item_count, STATUS[c.status], f"{c.accepts}/{c.rejects}"))
    console.print(table("Contributions", ["id", "bounty", "contributor", "items", "status", "accept/reject"], rows))


@chain_command(
    cli,
    click.argument("bounty_id", type=int),
    click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    click.option("--items", required=True, help="How many data items the file holds (a positive number)."),
    click.option("--uri", default=None, help="Where validators and trainers fetch it (default: file://<path>)."),
)
def submit(provider, account, bounty_id, file, items, uri):
    """Submit a contribution: its keccak256 goes on-chain, the bytes stay where --uri says. Two
    transactions: a commitment, then the submission in a later block (so no one can copy the hash from
    the mempool and take its place); publish the bytes after it."""
    sender = resolve_account(account, provider)
    items = parse_count(items, "--items")
    bounties = deployment_of(provider).DataBounties
    if not 1 <= bounty_id <= bounties.bounty_count():
        raise InvalidInput(f"no bounty {bounty_id} on this chain: `ape run bounty list` shows them")
    digest = keccak(file.read_bytes())
    cid, _ = contributions.submit(bounties, bounty_id, digest, uri or f"file://{file.resolve()}", items,
                                  sender=sender)
    console.print(f"contribution {cid}: {items} items, content hash 0x{digest.hex()}")


@chain_command(
    cli,
    click.argument("contribution_id", type=int),
    click.argument("decision", type=click.Choice(["accept", "reject"])),
)
def vote(provider, account, contribution_id, decision):
    """A validator's vote."""
    sender = resolve_account(account, provider)
    bounties = deployment_of(provider).DataBounties
    bounties.vote(contribution_id, decision == "accept", sender=sender)
    console.print(f"contribution {contribution_id}: {STATUS[bounties.contributions(contribution_id).status]}")


@chain_command(cli, click.argument("contribution_id", type=int))
def claim(provider, account, contribution_id):
    """Mint the reward of an accepted contribution whose window has passed."""
    sender = resolve_account(account, provider)
    bounties = deployment_of(provider).DataBounties
    tx = bounties.claim_reward(contribution_id, sender=sender)
    console.print(f"rewarded {fmt_tokens(tx.decode_logs(bounties.RewardClaimed)[0].amount)} NCOM")


@chain_command(
    cli,
    click.argument("contribution_id", type=int),
    click.option("--reason", default="", help="A URI explaining the dispute."),
)
def challenge(provider, account, contribution_id, reason):
    """Dispute an accepted contribution inside its window, posting the bond."""
    sender = resolve_account(account, provider)
    bounties = deployment_of(provider).DataBounties
    bounties.challenge(contribution_id, reason, sender=sender, value=bounties.challenge_bond())
    console.print(f"contribution {contribution_id} challenged; governance resolves it")


@chain_command(cli, click.argument("contribution_id", type=int))
def expire(provider, account, contribution_id):
    """End a contribution left undecided (or a challenge left unresolved) past the review period."""
    sender = resolve_account(account, provider)
    bounties = deployment_of(provider).DataBounties
    tx = bounties.expire(contribution_id, sender=sender)
    lapsed = tx.decode_logs(bounties.ChallengeLapsed)
    if lapsed:
        console.print(f"contribution {contribution_id}: the challenge lapsed; the acceptance stands and the "
                      f"challenger's bond is withdrawable")
    else:
        console.print(f"contribution {contribution_id}: expired undecided")


@chain_command(
    cli,
    click.argument("contribution_id", type=int),
    click.option("--threshold", default=0.80, show_default=True, help="Cosine similarity that flags an item."),
    click.option("--files", default=".", type=click.Path(file_okay=False, path_type=Path),
                 help="Folder that file:// contribution URIs may point into."),
)
def screen(provider, account, contribution_id, threshold, files):
    """Near-duplicate screening: each item's nearest accepted item of the same bounty (minilm embeddings)."""
    from offchain.dedup import runtime_embedder, screen_contribution
    from offchain.models import load_spec
    from offchain.runtime import load_runtime

    bounties = deployment_of(provider).DataBounties
    embed = runtime_embedder(load_runtime(load_spec("minilm")))
    matches = screen_contribution(bounties, contribution_id, embed, threshold=threshold, file_root=files)
    rows = [(m.item, m.text[:60], f"{m.similarity:.3f}", "-" if m.source is None else f"{m.source[0]}#{m.source[1]}",
             (m.source_text or "")[:60], "DUPLICATE" if m.duplicate else "") for m in matches]
    console.print(table(f"Contribution {contribution_id}: nearest accepted items", ["item", "text", "cosine",
                        "match", "matched text", "flag"], rows))
    flagged = sum(m.duplicate for m in matches)
    console.print(f"{flagged} of {len(matches)} items at or above {threshold} similarity to an accepted item")
