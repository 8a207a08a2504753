"""What verification costs and what it catches: honest disagreement between
backends, tampered outputs caught, dispute time and gas from real transactions,
and the compute a sampling rate adds (docs/verification.md has the figures).

    ape run bench_verification                      # 1,000 inputs per model, 100 tampered per kind
    ape run bench_verification --inputs 3000 --tampered 500
    ape run bench_verification --network ethereum:local:foundry   # the disputes on anvil

Model runs: MiniLM (tolerance policy) and digits (exact policy), PyTorch as the
reference against ONNX Runtime at 1/2 threads with graph optimisation on/off
(`offchain.demos.verification_bench`). Disputes: a fresh deployment with the
default parameters, a tampering worker, a sampling verifier and a committee of
the default size, all driven by the real verifier code.
"""

import tempfile

import click
from ape import accounts, project

from offchain.cli import console, local_command, table
from offchain.demos import verification_bench as vb


def _pct(caught: int, total: int) -> str:
    return f"{100 * caught / total:.1f} % ({caught:,} of {total:,})" if total else "-"


@local_command(
    "the benchmark (it advances time)",
    click.option("--inputs", "count", default=1000, show_default=True, type=click.IntRange(10, 20_000),
                 help="Inputs per model for the honest-disagreement runs."),
    click.option("--tampered", default=100, show_default=True, type=click.IntRange(10, 5000),
                 help="MiniLM inputs per tampering kind."),
    click.option("--verifiers", default=3, show_default=True, type=click.IntRange(1, 64),
                 help="Sampling verifiers per model, for the cost and the chance a cheat is caught."),
)
def cli(provider, count, tampered, verifiers):
    quiet = lambda *_: None  # noqa: E731
    console.print(f"running digits (exact) and MiniLM (tolerance) on {count:,} inputs each ...")
    digits = vb.measure_digits(count, progress=quiet)
    minilm = vb.measure_minilm(count, tampered, progress=quiet)
    console.print("running two disputes from real transactions ...")
    with tempfile.TemporaryDirectory() as tmp:
        disputes, params = vb.dispute_measures(project, accounts.test_accounts, tmp)
    court, market = params["court"], params["market"]
    prompt, worst = disputes
    bps = int(court.sample_bps)
    price = load_price("minilm")
    economics = vb.cheat_economics(bps, verifiers, 0, price, price)
    p_caught = economics["p_caught"]
    # The slash's value in ETH at which cheating stops paying: P(caught) * (slash + price) > price.
    break_even = price * (1 - p_caught) / p_caught
    reexec_ms = minilm.infer_s_per_input * 1000
    # k = 2 costs one more price per request; it saves the expected loss of an undetected cheat:
    # q * (1 - P(caught)) * value at risk, q the share of cheated results.
    redundancy_break_even = 1 / (0.01 * (1 - p_caught))

    for m in (digits, minilm):
        console.print(table(f"{m.model}: honest results under '{m.policy}' (reference: torch fp32)",
                            ["setting", "results", "disputes upheld", "worst distance"],
                            [(a, b, c, f"{d:.2e}") for a, b, c, d in m.honest]))
        console.print(table(f"{m.model}: tampered results", ["tampering", "results", "caught", "mildest distance"],
                            [(a, b, c, f"{d:.2e}") for a, b, c, d in m.tampered]))
    console.print(table("Disputes (default parameters, committee of "
                        f"{court.committee_size}, from real transactions)",
                        ["case", "chain seconds", "blocks", "gas", "outcome"],
                        [(d.label, f"{d.seconds:,}", d.blocks, f"{d.total_gas:,}", d.outcome) for d in disputes]))
    console.print(table("Dispute gas by step (prompt case)", ["step", "gas"],
                        [(k, f"{v:,}") for k, v in prompt.gas.items()]))
    prompt_blocks = int(court.draw_delay) + 4  # challenge, draw after the delay, commits, reveals, settle
    honest_total = digits.honest_results + minilm.honest_results
    caught = [a + b for a, b in zip(digits.caught, minilm.caught, strict=True)]
    rows = [
        ("honest disagreement",
         f"{digits.upheld + minilm.upheld} disputes upheld of {honest_total:,} honest results "
         f"(digits exact {digits.upheld} of {digits.honest_results:,}; MiniLM max_abs worst "
         f"{max(r[3] for r in minilm.honest):.1e} vs bound {load_bound():g}: {minilm.upheld} of "
         f"{minilm.honest_results:,})"),
        ("tampered detected", f"{_pct(*caught)}: digits {_pct(*digits.caught)}, MiniLM {_pct(*minilm.caught)}"),
        ("dispute resolution time",
         f"prompt members: {prompt_blocks} blocks = {prompt_blocks * vb.BLOCK_S} s on 12 s blocks "
         f"({prompt.blocks} one-transaction blocks here); worst case (every member commits at the deadline, one never reveals): "
         f"{worst.seconds:,} s = {worst.seconds / 3600:.2f} h (draw delay {court.draw_delay} blocks + commit "
         f"{court.commit_period} s + reveal {court.reveal_period} s); was >= 8 days"),
        ("dispute gas", f"{prompt.total_gas:,} gas in all, committee of {court.committee_size} (challenge "
                        f"{prompt.gas['challenge (sampling verifier)']:,}); worst case {worst.total_gas:,}"),
        ("verifier cost",
         f"sample_bps {bps} = {bps / 100:g} % more compute per verifier ({verifiers} verifiers: "
         f"{verifiers * bps / 100:g} %; MiniLM re-execution {reexec_ms:.0f} ms/input here); P(caught) per "
         f"cheated result {100 * p_caught:.1f} %; cheating stops paying once the slash is worth > "
         f"{break_even / 10**18:.6f} ETH = {break_even / price:.1f} x the MiniLM price ({price / 10**18:g} ETH); "
         f"slash {market.challenge_slash // 10**18} NCOM + the refunded payment"),
        ("k-redundancy (k=2)",
         f"+100 % compute (the requester pays 2 x price) and catches a lone cheat every time; sampling costs "
         f"{verifiers * bps / 100:g} % and leaves {100 * (1 - p_caught):.1f} % of cheated results uncaught, so "
         f"redundancy pays for itself only when the value at risk exceeds {redundancy_break_even:,.0f} x the price "
         f"(if 1 % of results were cheated): sampling by default, redundancy for high-value requests"),
    ]
    console.print(table("Verification (issue 13)", ["measure", "result"], rows))
    if digits.upheld or minilm.upheld or caught[0] != caught[1]:
        raise SystemExit("verification policy failed its bar: honest disputes upheld or tampering missed")


def load_price(name: str) -> int:
    from offchain.models import load_spec

    return int(load_spec(name).manifest["price_wei"])


def load_bound() -> float:
    from offchain.models import load_spec

    return float(load_spec("minilm").verification["bound"])
