"""The dispute-gas measurement the verification benchmark prints: real transactions, every step counted."""

from offchain.demos.verification import dispute_gas


def test_dispute_gas__committee_of_three__every_step_and_total(project, accounts):
    rows = dispute_gas(project, accounts)
    labels = [label for label, _ in rows]
    assert labels[:2] == ["challenge (opens the dispute)", "draw"]
    assert labels[2:8] == ["commit 1", "commit 2", "commit 3", "reveal 1", "reveal 2", "reveal 3"]
    assert labels[8:] == ["settle (pays, releases, calls the market)", "total",
                          "total, first dispute of fresh members"]
    assert all(gas > 21_000 for _, gas in rows)
    assert rows[-2][1] == sum(gas for _, gas in rows[:-2])
    assert rows[-1][1] > rows[-2][1]  # fresh storage costs more
    print("\n".join(f"{label:45} {gas:>10,}" for label, gas in rows))
