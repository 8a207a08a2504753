"""The contract-risk model on a real anvil node with a separate worker bot process (NC_MODELS=risk):
the listing registry lists the safe token only, a swapped contract is refused by the bot, and
`ape run risk score` pays, waits, verifies and prints in its own process."""

import os
import subprocess
import sys
import time

import pytest
from ape import chain
from eth_utils import keccak

import offchain.deploy
from offchain import inputs
from offchain.client import InferenceClient
from offchain.demos import risk
from offchain.demos.inference import WORKER_ACCOUNTS, WORKER_PORT, stake
from offchain.localnet import BotProcess, running
from offchain.market import RequestState
from offchain.runtime import load_runtime
from offchain.worker import WorkerState
from tests.e2e.anvil import ROOT

REQUESTED, FULFILLED, FINALIZED = RequestState.REQUESTED, RequestState.FULFILLED, RequestState.FINALIZED


@pytest.fixture(scope="module")
def economy(anvil, project, accounts):
    """The risk model listed, a TokenListing, one staked worker; the deployment saved for the bot."""
    economy = risk.setup(project, accounts)
    stake(economy.deployment, accounts[0], accounts[WORKER_ACCOUNTS[0]], f"http://127.0.0.1:{WORKER_PORT}")
    offchain.deploy.save_deployment(economy.deployment)
    return economy


@pytest.fixture
def bot(economy, tmp_path):
    """A fresh bot per test: ape reverts the chain after each test, and a bot's cursor must not outlive it."""
    with running(BotProcess(WORKER_ACCOUNTS[0], WORKER_PORT, tmp_path / "risk-bot", models="risk")) as (bot,):
        yield bot


def wait_until(market, ids, states, timeout=120):
    deadline = time.monotonic() + timeout
    while any(market.get_request(i).state & 0x7F not in states for i in ids):
        assert time.monotonic() < deadline, "requests not done in time"
        time.sleep(0.3)
        chain.mine()


def test_listing__bot_scores_both__only_the_safe_token_is_listed(economy, bot, project, accounts):
    d, listing, spec = economy.deployment, economy.listing, economy.spec
    market, applicant = d.InferenceMarket, accounts[6]
    tokens = risk.deploy_tokens(project, accounts[3])
    requested, _ = risk.apply_all(listing, tokens, applicant)
    wait_until(market, requested.values(), (FULFILLED,))

    client, runtime = InferenceClient(market, applicant), load_runtime(spec)
    for name, rid in requested.items():
        verified = client.fetch(rid, spec)  # from the bot's result server, checked against the chain
        code = bytes(chain.provider.get_code(tokens[name].address))
        assert runtime.check(code, verified.result)[0]

    chain.mine(timestamp=chain.pending_timestamp + market.params().challenge_window + 1)
    wait_until(market, requested.values(), (FINALIZED,))  # the bot finalizes; the market calls the registry
    assert listing.listed(tokens["safe"]) and not listing.listed(tokens["risky"])
    assert listing.score_of(tokens["safe"]) < listing.threshold_bps() < listing.score_of(tokens["risky"])
    assert listing.pending_request(tokens["safe"]) == listing.pending_request(tokens["risky"]) == 0
    assert market.owed(accounts[WORKER_ACCOUNTS[0]]) > 0


def test_swapped_contract__bot_refuses_and_the_request_takes_the_refund_path(economy, bot, project, accounts):
    d = economy.deployment
    market, client = d.InferenceMarket, InferenceClient(d.InferenceMarket, accounts[6])
    tokens = risk.deploy_tokens(project, accounts[3])
    head = chain.blocks.head.number
    safe_hash = keccak(bytes(chain.provider.get_code(tokens["safe"].address)))
    swapped = inputs.encode_contract(chain.chain_id, tokens["risky"].address, head, safe_hash)
    rid = client.request(economy.model_id, swapped, ttl=600)
    state_path = bot.workdir / "worker-state.json"
    deadline = time.monotonic() + 60
    while str(rid) not in (WorkerState.load(state_path).rejected if state_path.exists() else {}):
        assert time.monotonic() < deadline, "the bot did not judge the swapped input in time"
        time.sleep(0.3)
        chain.mine()
    assert "hashes to" in WorkerState.load(state_path).rejected[str(rid)]
    assert market.get_request(rid).state == REQUESTED  # never claimed: refundable after the deadline
    chain.mine(timestamp=market.get_request(rid).deadline + 1)
    market.refund(rid, sender=accounts[6])
    assert market.owed(accounts[6]) == market.quote(economy.model_id)


def test_cli_score__own_process__pays_waits_verifies(economy, bot, project, accounts):
    token = risk.deploy_tokens(project, accounts[3])["risky"]
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    ran = subprocess.run(["ape", "run", "risk", "score", "--address", token.address, "--network",
                          "ethereum:local:foundry", "--timeout", "90s"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=240)
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output
    assert "within the model's tolerance" in output and "fee_on_transfer" in output, output
    assert "error:" not in output and "Traceback" not in output, output


def test_cli_prepare_local__models_digits_and_risk__both_listed(anvil, project):
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    ran = subprocess.run(["ape", "run", "prepare_local", "--network", "ethereum:local:foundry", "--workers", "1",
                          "--models", "digits,risk"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0 and "error:" not in output, output
    assert "(risk) listed" in output, output
    registry = offchain.deploy.load_deployment(project, chain.provider).ModelRegistry
    listed = {e.metadata_uri for e in registry.ModelRegistered.range(0, None)
              if registry.models(e.model_id).status == 2}
    assert {"models/digits", "models/risk"} <= listed
