"""Near-duplicate screening with real minilm embeddings."""

import pytest

from offchain.dedup import THRESHOLD, DuplicateIndex, runtime_embedder, split_items
from offchain.errors import BadInput

ACCEPTED = [
    "The river flooded the village after three days of heavy rain.",
    "A cat is sitting on the windowsill in the sun.",
    "Validators vote on each contribution before the bounty pays its reward.",
]


@pytest.fixture(scope="module")
def index(minilm):
    index = DuplicateIndex(runtime_embedder(minilm))
    index.add(((7, i), text) for i, text in enumerate(ACCEPTED))
    return index


def test_screen__paraphrase__flagged_with_nearest_match(index):
    (match,) = index.screen(["After three days of heavy rain, the river flooded the village."])
    assert match.duplicate and match.similarity >= THRESHOLD
    assert match.source == (7, 0) and match.source_text == ACCEPTED[0]


def test_screen__reworded_paraphrase__flagged(index):
    (match,) = index.screen(["A cat sits in the sunshine on the window ledge."])
    assert match.duplicate and match.source == (7, 1)


def test_screen__unrelated_text__not_flagged(index):
    matches = index.screen(["Quarterly revenue grew by twelve percent.", "Ethereum gas fees spiked during the mint."])
    assert not any(m.duplicate for m in matches)
    assert all(m.similarity < 0.5 for m in matches)


def test_screen__exact_copy__similarity_one(index):
    (match,) = index.screen([ACCEPTED[2]])
    assert match.duplicate and match.similarity > 0.9999 and match.source == (7, 2)


def test_screen__nothing_accepted__nothing_flagged(minilm):
    (match,) = DuplicateIndex(runtime_embedder(minilm)).screen([ACCEPTED[0]])
    assert not match.duplicate and match.source is None


def test_index__threshold_not_a_cosine__refused(minilm):
    with pytest.raises(ValueError, match="is not a cosine similarity"):
        DuplicateIndex(runtime_embedder(minilm), threshold=1.5)


def test_split_items__json_list_or_lines():
    assert split_items(b'["a", " ", "b"]') == ["a", "b"]
    assert split_items(b"first\n\n  second  \n") == ["first", "second"]


@pytest.mark.parametrize("data,reason", [
    (b"[1, 2]", "a JSON contribution must be a list of strings"),
    (b"[broken", "contribution looks like JSON but is not"),
    (b"\xff\xfe", "contribution is not UTF-8 text"),
])
def test_split_items__malformed__bad_input(data, reason):
    with pytest.raises(BadInput, match=reason):
        split_items(data)
