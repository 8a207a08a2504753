"""Near-duplicate screening of text contributions to data bounties.

A validator about to vote on a contribution asks: is any of its items (nearly)
the same text as an item of a contribution the bounty already accepted? Each
item is embedded with the network's sentence-embedding model (minilm: the
same bytes a worker serves, so the vectors are those a paid call returns) and
compared by cosine similarity with every accepted item; an item whose nearest
accepted item is at least `threshold` similar is flagged, with that match.

A contribution's file is text items: a JSON list of strings, or one item per
non-empty line. Its bytes are fetched from the contribution's URI and checked
against the content hash on-chain before anything is embedded.

The default threshold (0.80) comes from measurement (docs/models.md):
paraphrases of the same sentence score 0.80-0.99 with this model (a loose
rewording can fall just below, at 0.79), unrelated
sentences 0.0-0.15. It flags, it does not decide: the
validator votes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offchain import canonical, inputs
from offchain.errors import BadInput

THRESHOLD = 0.80  # cosine similarity at or above which an item is flagged
ACCEPTED, REWARDED = 2, 5  # DataBounties statuses whose items count as accepted
MAX_CONTRIBUTION_BYTES = 4 << 20  # a contribution file larger than this is not screened

Embedder = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Match:
    """An item and its nearest accepted item."""

    item: int  # index of the item in the screened contribution
    text: str
    similarity: float  # cosine, in [-1, 1]
    source: object | None  # the accepted item's key (contribution id, item index), None if nothing accepted yet
    source_text: str | None
    duplicate: bool  # similarity >= threshold


def runtime_embedder(runtime) -> Embedder:
    """Embeddings through a text model's runtime, as canonical bytes decoded (what a worker serves)."""
    kind, scale = runtime.spec.encoding

    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([canonical.decode_embedding(scale, data) for data in runtime.infer(texts)]) if texts \
            else np.zeros((0, runtime.spec.manifest["output"]["shape"][0]))

    return embed


class DuplicateIndex:
    """Accepted items and their unit vectors; `screen` finds each new item's nearest one."""

    def __init__(self, embed: Embedder, threshold: float = THRESHOLD):
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"threshold {threshold} is not a cosine similarity")
        self.embed = embed
        self.threshold = threshold
        self.keys: list[object] = []
        self.texts: list[str] = []
        self._vectors: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, items: Iterable[tuple[object, str]]) -> None:
        """Accepted items, as (key, text)."""
        items = list(items)
        if not items:
            return
        vectors = _unit(self.embed([text for _, text in items]))
        self.keys += [key for key, _ in items]
        self.texts += [text for _, text in items]
        self._vectors.append(vectors)

    def screen(self, texts: list[str]) -> list[Match]:
        """Each text's nearest accepted item, flagged when at least `threshold` similar."""
        if not texts:
            return []
        queries = _unit(self.embed(texts))
        if not self.keys:
            return [Match(i, t, -1.0, None, None, False) for i, t in enumerate(texts)]
        similarities = queries @ np.concatenate(self._vectors).T
        nearest = similarities.argmax(axis=1)
        out = []
        for i, (text, j) in enumerate(zip(texts, nearest, strict=True)):
            score = float(similarities[i, j])
            out.append(Match(i, text, score, self.keys[j], self.texts[j], score >= self.threshold))
        return out


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def split_items(data: bytes) -> list[str]:
    """A contribution file's text items: a JSON list of strings, else its non-empty lines."""
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise BadInput(f"contribution is not UTF-8 text: {exc}") from exc
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"contribution looks like JSON but is not: {exc}") from exc
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise BadInput("a JSON contribution must be a list of strings")
        return [item for item in items if item.strip()]
    return [line.strip() for line in text.splitlines() if line.strip()]


def contribution_items(bounties, contribution_id: int, file_root: Path | None = None) -> list[str]:
    """The text items of a contribution, fetched from its URI and checked against its on-chain hash."""
    c = bounties.contributions(contribution_id)
    data = inputs.fetch(c.uri, bytes(c.content_hash), MAX_CONTRIBUTION_BYTES, file_root)
    return split_items(data)


def screen_contribution(bounties, contribution_id: int, embed: Embedder, *, threshold: float = THRESHOLD,
                        file_root: Path | None = None) -> list[Match]:
    """Screens a contribution against every accepted (or rewarded) contribution of its bounty.

    Returns one Match per item; a match's `source` is (contribution id, item index). An accepted
    contribution whose bytes cannot be fetched or do not match its hash is skipped (its
    contributor answers for that), the screened one raises BadInput."""
    bounty_id = bounties.contributions(contribution_id).bounty_id
    index = DuplicateIndex(embed, threshold)
    for other in range(1, bounties.contribution_count() + 1):
        if other == contribution_id:
            continue
        c = bounties.contributions(other)
        if c.bounty_id != bounty_id or c.status not in (ACCEPTED, REWARDED):
            continue
        try:
            items = contribution_items(bounties, other, file_root)
        except BadInput:
            continue
        index.add(((other, i), text) for i, text in enumerate(items))
    return index.screen(contribution_items(bounties, contribution_id, file_root))
