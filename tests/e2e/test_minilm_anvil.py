"""The minilm demo section on a real anvil node: the worker is a silverback bot in its own process
(NC_MODELS=minilm) that loads the model by its registered hash; the app builder pays, waits,
verifies every embedding under the tolerance policy and answers a query from the paid vectors;
the bot finalizes on its own and every party withdraws what the requests paid."""

from offchain.demos import embeddings
from offchain.models import load_spec


def test_minilm_section__worker_bot_process__verified_and_revenue_adds_up(anvil, project, accounts, tmp_path):
    count = embeddings.DEMO_TEXTS
    summary = embeddings.run_live(project, accounts, workdir=tmp_path)
    assert summary.requests == summary.verified == count
    assert summary.max_gap <= summary.bound
    paid = summary.paid_to_market
    assert paid == count * load_spec("minilm").manifest["price_wei"] * 105 // 100
    received = summary.received
    assert received["worker"] == paid * 70 // 100  # the bot fulfilled and finalized every request
    assert received["author (70 % of shares)"] + received["dave (30 % of shares)"] == paid * 20 // 100
    assert paid - 3 <= sum(received.values()) <= paid  # the token holders' accumulator: a wei of dust each
    assert summary.answer.startswith("By default, os.walk does not follow symbolic links")  # from the paid vectors
