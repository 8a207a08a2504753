"""Submitting a data contribution: commit, then submit in a later block.

DataBounties gives a content hash to its first submitter. A hash sent in
the clear could be copied from a pending `submit` by anyone watching the
mempool; the contract therefore accepts a hash only from an account that
committed to it (keccak256 of the hash and the account) in an earlier
block. The CLI, the demos and the tests all submit through `submit`.
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak


def commitment(content_hash: bytes, contributor: str) -> bytes:
    """What `contributor` commits to before submitting `content_hash` (the contract's `commitment_of`)."""
    return keccak(encode(["bytes32", "address"], [content_hash, contributor]))


def submit(bounties, bounty_id: int, content_hash: bytes, uri: str, items: int, *, sender) -> tuple[int, list]:
    """Commits (unless `sender` already did, e.g. before a rejection freed the hash) and submits.
    Returns the contribution id and the receipts, commit first. Ape waits for the commit's receipt,
    so the submission goes in a later block, as the contract requires."""
    receipts = []
    value = commitment(content_hash, sender.address)
    if bounties.commitments(value) == 0:
        receipts.append(bounties.commit(value, sender=sender))
    receipts.append(bounties.submit(bounty_id, content_hash, uri, items, sender=sender))
    return receipts[-1].decode_logs(bounties.ContributionSubmitted)[0].contribution_id, receipts
