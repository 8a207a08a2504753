"""Bounty and dataset helpers for the commons tests (DataBounties, TrainingFund, the trainer)."""

from __future__ import annotations

import itertools

from ape import chain
from eth_utils import keccak

from offchain.contributions import submit as submit_contribution
from tests.utils.constants import DAY

_hashes = itertools.count(1)


def fresh_hash() -> bytes:
    """A content hash never submitted before (DataBounties refuses repeats)."""
    return keccak(b"test content %d" % next(_hashes))


def accepted_bounty(bounties, govern, validators, contributions, *, reward, budget, spec: str = "spec") -> int:
    """A bounty opened through governance (60 days, one vote to accept, one day to review) whose
    dataset holds exactly `contributions`, each (contributor, content hash, uri, items): accepted
    by the first validator, past the review period, every reward claimed by its contributor."""
    govern((bounties, "open_bounty", spec, reward, budget, chain.pending_timestamp + 60 * DAY, validators, 1, DAY))
    bounty = bounties.bounty_count()
    submitted = []
    for who, content, uri, items in contributions:
        submitted.append((submit_contribution(bounties, bounty, content, uri, items, sender=who)[0], who))
        bounties.vote(submitted[-1][0], True, sender=validators[0])
    chain.mine(timestamp=chain.pending_timestamp + DAY + 1)
    for contribution_id, who in submitted:
        bounties.claim_reward(contribution_id, sender=who)
    return bounty
