"""`ape run demo --models all` on the embedded chain, checked rather than printed: the four model
sections (digits, minilm, nft, risk) one after the other in one process, as the demo runs them,
each on its own deployment, with the same test accounts and the chain's clock moved forward by
each section's challenge window. Per section: every paid request is verified, and what the
parties withdraw adds up to what was paid into the market."""

import pytest

from offchain.demos import embeddings, inference, nft, risk
from offchain.errors import NeuralCommonsError
from offchain.models import load_spec

HOLDER_DUST = 3  # the token holders' revenue accumulator may keep at most a wei per holder


def _split_sums_to(received: dict[str, int], paid: int) -> bool:
    return paid - HOLDER_DUST <= sum(received.values()) <= paid


def test_demo_all__four_sections_in_one_process__verified_and_revenue_adds_up(project, accounts, tmp_path):
    digits = inference.run(project, accounts, count=6, workdir=tmp_path / "digits")
    minilm = embeddings.run(project, accounts, workdir=tmp_path / "minilm")  # the demo's 20 texts
    pixels = nft.run(project, accounts, mints=nft.DEMO_MINTS[:2], workdir=tmp_path / "nft")
    scores = risk.run(project, accounts, workdir=tmp_path / "risk")

    assert digits.requests == digits.verified == 6
    assert digits.paid_to_market == 6 * load_spec("digits").manifest["price_wei"] * 105 // 100
    assert _split_sums_to(digits.received, digits.paid_to_market)
    assert digits.received["worker"] == digits.paid_to_market * 70 // 100

    assert minilm.requests == minilm.verified == embeddings.DEMO_TEXTS
    assert minilm.max_gap <= minilm.bound
    assert minilm.served_models == [f"minilm ({minilm.model_id})"]
    assert minilm.paid_to_market == embeddings.DEMO_TEXTS * load_spec("minilm").manifest["price_wei"] * 105 // 100
    assert _split_sums_to(minilm.received, minilm.paid_to_market)
    assert minilm.received["worker"] == minilm.paid_to_market * 70 // 100
    assert minilm.received["author (70 % of shares)"] + minilm.received["dave (30 % of shares)"] == \
        minilm.paid_to_market * 20 // 100
    # the query ("walk a directory tree without following symbolic links") answered from the paid vectors
    assert minilm.answer.startswith("By default, os.walk does not follow symbolic links") and minilm.similarity > 0.5

    assert pixels.requests == pixels.verified == len(pixels.minted) == 2
    assert _split_sums_to(pixels.received, 2 * pixels.price)  # the price carries the callback gas, paid to the worker

    assert scores.requests == scores.verified == 2
    assert [listed for *_, listed in scores.tokens] == [True, False]  # safe listed, risky rejected
    assert _split_sums_to(scores.received, scores.paid_to_market)


def test_minilm_section__one_text__refused_before_deploying(project, accounts, tmp_path):
    with pytest.raises(NeuralCommonsError) as refused:
        embeddings.run(project, accounts, count=1, workdir=tmp_path)
    assert str(refused.value) == "the embeddings demo needs at least 2 texts (a corpus and a query), not 1"
    assert not any(tmp_path.iterdir())  # nothing written: refused before anything ran
