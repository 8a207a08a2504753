"""Wrong inputs to the `ape run` commands, as a user types them: each ends with exactly one line
`error: <what is wrong and what to do>`, a non-zero exit status, no traceback, and nothing done.

Driven in-process against the embedded chain (see conftest.py: digits listed as model 1, accounts[5]
a staked worker, the deployer the default account)."""

import json

import pytest

from tests.unit.cli.conftest import SCRIPTS

SAMPLE = str(SCRIPTS.parent / "models" / "digits" / "sample.json")
WORKER = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"  # accounts[5], staked in the fixture
DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # accounts[0], not a worker
NO_CHANNEL = "0x" + "00" * 32

# (command line, exit status, what the one error line says)
CASES = [
    # dao
    (["dao", "propose", "x", "--send-eth", WORKER, "-1"], 1, "'-1' is negative"),
    (["dao", "propose", "x", "--send-eth", WORKER, "lots"], 1, "'lots' is not a number"),
    (["dao", "propose", "x", "--send-eth", WORKER, "2 bananas"], 1, "unknown unit 'bananas'"),
    (["dao", "propose", "x", "--send-eth", WORKER, "5"], 1, "the treasury holds 0.000000 ETH"),
    (["dao", "propose", "x", "--send-eth", "bob", "1"], 1, "neither an address"),
    (["dao", "propose", "x", "--action", "Governor.setVotingPeriod(0)"], 1,
     "would revert when the timelock executes it: Governor: voting period is zero"),
    (["dao", "propose", "x", "--action", "Treasury.pay(1)"], 1, "unknown contract 'Treasury'"),
    (["dao", "propose", "x", "--action", "Governor.setVotingPeriod([1, 2)"], 1, "unclosed"),
    (["dao", "propose", "x", "--action", "Governor.setVotingPeriod('soon')"], 1, "do not fit setVotingPeriod's ABI"),
    (["dao", "propose", "x", "--action", "Governor.nope(1)"], 1, "Governor has no method 'nope'"),
    (["dao", "propose", "x"], 1, "needs at least one --action or --send-eth"),
    (["dao", "vote", "zz", "for"], 1, "'zz' is not a proposal id"),
    (["dao", "vote", "abcdef1234", "for"], 1, "no proposal whose id starts with abcdef1234"),
    (["dao", "vote", "abcdef1234", "maybe"], 2, "Invalid value for '{abstain|against|for}'"),
    (["dao", "vote"], 2, "Missing argument 'PROPOSAL'"),
    (["dao", "advance", "soon"], 1, "'soon' is not a duration"),
    (["dao", "advance", "-5"], 1, "'-5' is negative"),
    (["dao", "adjourn"], 2, "No such command 'adjourn'"),
    # campaign and bounty
    (["campaign", "back", "1", "--eth", "-1"], 1, "'-1' is negative"),
    (["campaign", "back", "1", "--eth", "lots"], 1, "'lots' is not a number"),
    (["campaign", "back", "99", "--eth", "1"], 1, "no campaign 99"),
    (["campaign", "open", "nc://spec", "--dataset", "99", "--goal", "1"], 1, "--dataset 99: no such bounty"),
    (["campaign", "open", "nc://spec", "--dataset", "1", "--goal", "-3"], 1, "'-3' is negative"),
    (["campaign", "open", "nc://spec", "--dataset", "1", "--goal", "1", "--funding", "7 days"], 1,
     "is not a duration"),
    (["bounty", "submit", "1", SAMPLE, "--items", "-5"], 1, "--items must be positive"),
    (["bounty", "submit", "1", SAMPLE, "--items", "many"], 1, "'many' is not a whole number"),
    (["bounty", "submit", "99", SAMPLE, "--items", "5"], 1, "no bounty 99"),
    (["bounty", "submit", "1", "/no/such/file", "--items", "5"], 2, "does not exist"),
    # infer
    (["infer", "--model", "99", "--input", SAMPLE], 1, "no model 99 on this chain"),
    (["infer", "--model", "nope", "--input", SAMPLE], 1, "no model 'nope'"),
    (["infer", "--model", "digits", "--input", "{bad_input}"], 1, "'pixels' must hold 64 numbers, got 3"),
    (["infer", "--model", "digits", "--input", "{not_json}"], 1, "input is not JSON"),
    (["infer", "--model", "digits", "--input", "/no/such.json"], 1, "--input /no/such.json is not a file"),
    (["infer", "--model", "digits", "--input", SAMPLE, "--ttl", "forever"], 1, "'forever' is not a duration"),
    (["infer", "--model", "digits", "--input", SAMPLE, "--url", "ftp://host/x"], 1, "must start with http://"),
    (["infer", "--model", "digits", "--input", SAMPLE, "--input", SAMPLE, "--url", "https://host/x"], 1,
     "--url names one input: pass one --input with it"),
    (["infer", "fetch", "999"], 1, "no request 999"),
    (["infer", "refund", "abc"], 1, "'abc' is not a whole number"),
    (["infer", "withdraw"], 1, "the market owes you nothing"),
    # serve_channels
    (["serve_channels", "--settle-eth", "abc"], 1, "--settle-eth 'abc' is not a number"),
    (["serve_channels"], 1, f"{DEPLOYER} is not an active staked worker"),
    (["serve_channels", "--tick", "often"], 2, "'often' is not a valid float"),
    # token, treasury
    (["token", "transfer", WORKER, "-1"], 1, "'-1' is negative"),
    (["token", "transfer", "nobody", "1"], 1, "receiver 'nobody' is neither an address"),
    (["token", "transfer", WORKER, "1e12"], 1, "less than the 1,000,000,000,000 to send"),
    (["token", "withdraw"], 1, "no revenue is owed to you yet"),
    (["treasury", "sweep"], 1, "nothing to sweep"),
    (["treasury", "deposit", "lots"], 1, "'lots' is not a number"),
    (["treasury", "deposit", "1000000 ether"], 1, "is below 1000000 ether"),
    # model
    (["model", "show", "99"], 1, "no model 99 on this chain"),
    (["model", "show", "first"], 1, "MODEL_ID 'first' is not a whole number"),
    (["model", "price", "1", "-2"], 1, "'-2' is negative"),
    (["model", "price", "1", "0.002"], 1, "pass its --account"),
    (["model", "register", "models/nope"], 1, "no model 'models/nope'"),
    (["model", "register", "models/digits", "--shareholder", WORKER], 1, "write it as ADDRESS=SHARES"),
    (["model", "register", "models/digits", "--price", "free"], 1, "'free' is not a number"),
    # worker
    (["worker", "register", "--stake", "1"], 1, "below the minimum"),
    (["worker", "register", "--stake", "2000", "--endpoint", "http://x", "--signer", "0x12"], 1, "neither an address"),
    (["worker", "status"], 1, f"{DEPLOYER} is not a registered worker"),
    (["worker", "withdraw", "--account", "TEST::5"], 1, "you are not unbonding"),
    (["worker", "endpoint", "worker.example", "--account", "TEST::5"], 1, "is not an http(s) URL"),
    (["worker", "start", "--account", "TEST::5"], 1, "the embedded chain ends with this command"),
    # channel
    (["channel", "status", "0x1234"], 1, "'0x1234' is not 0x + 64 hex digits"),
    (["channel", "status", NO_CHANNEL], 1, f"no channel {NO_CHANNEL}"),
    (["channel", "open", WORKER, "1", "--deposit", "-1"], 1, "'-1' is negative"),
    (["channel", "open", WORKER, "99", "--deposit", "0.1"], 1, "model 99 is not active"),
    (["channel", "open", DEPLOYER, "1", "--deposit", "0.1"], 1, f"{DEPLOYER} is not an active worker"),
    (["channel", "call", NO_CHANNEL, "--input", "{bad_input}"], 1, "'pixels' must hold 64 numbers"),
    (["channel", "call", NO_CHANNEL, "--input", SAMPLE], 1, f"no channel {NO_CHANNEL}"),
    (["channel", "call", NO_CHANNEL, "--input", SAMPLE, "--credit", "0"], 2,
     "Invalid value for '--credit': 0 is not in the range x>=1"),
    (["channel", "withdraw"], 1, "the channels owe you nothing"),
    # benchmarks (one client is the latency figure: the throughput one needs two or more)
    (["bench_channels", "--clients", "1"], 2, "Invalid value for '--clients': 1 is not in the range 2<=x<=8"),
    (["bench_channels", "--rounds", "0"], 2, "Invalid value for '--rounds': 0 is not in the range x>=1"),
    (["bench_channels", "--model", "risk"], 2, "Invalid value for '--model': 'risk' is not one of 'digits', 'minilm'"),
    (["bench_channels", "--credit", "0"], 2, "Invalid value for '--credit': 0 is not in the range x>=1"),
    # mint
    (["mint", "deploy", "--callback-gas", "2000001"], 1, "--callback-gas 2,000,001 is above the market's bound"),
    # deploy
    (["deploy", "--voting-period", "0"], 1, "--voting-period '0' is not positive"),
    (["deploy", "--timelock-delay", "two days"], 1, "'two days' is not a duration"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "bad.json").write_text(json.dumps({"pixels": [1, 2, 3]}))
    (folder / "not.json").write_text("pixels: 1, 2, 3")
    return {"bad_input": str(folder / "bad.json"), "not_json": str(folder / "not.json")}


def test_wrong_inputs__table_is_large_enough():
    assert len(CASES) >= 25


@pytest.mark.parametrize("argv, code, says", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_wrong_input__one_line_error__nonzero_exit(cli_system, run_cli, files, argv, code, says):
    from ape import chain

    block = chain.blocks.height
    ran = run_cli(*[arg.format(**files) for arg in argv])
    errors = ran.error_lines()
    assert ran.code == code, ran.out
    assert len(errors) == 1, ran.out
    assert says in errors[0], ran.out
    assert "Traceback" not in ran.out
    assert chain.blocks.height == block, "a wrong input must not send a transaction"
