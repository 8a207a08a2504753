"""NFT mints on a real anvil node: `ape run mint` in its own process pays, a worker bot in its own
process draws the image, the market's settlement mints the token, `ape run mint show` writes the
image file; and an unserved mint reclaimed from the terminal."""

import os
import re
import subprocess
import sys
import time

import pytest
from ape import chain
from eth_utils import keccak

import offchain.deploy
from offchain.demos import nft
from offchain.demos.inference import WORKER_ACCOUNTS, WORKER_PORT, stake
from offchain.images import decode_png
from offchain.localnet import BotProcess, running
from offchain.market import RequestState
from tests.e2e.anvil import ROOT

NETWORK = "ethereum:local:foundry"


@pytest.fixture
def collection(anvil, project, accounts):
    """A fresh deployment with the pixels model listed, its collection deployed, one staked worker."""
    d, model_id, minter = nft.prepare(project, accounts)
    stake(d, accounts[0], accounts[WORKER_ACCOUNTS[0]], f"http://127.0.0.1:{WORKER_PORT}")
    offchain.deploy.save_deployment(d)
    return d, minter


def ape_run(*args: str) -> str:
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["ape", "run", *args, "--network", NETWORK], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output, output
    return output


def wait_for(condition, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.5)
        chain.mine()


def test_mint__cli_pays_worker_bot_draws__token_minted_and_image_written(collection, accounts, tmp_path):
    d, minter = collection
    market = d.InferenceMarket
    with running(BotProcess(WORKER_ACCOUNTS[0], WORKER_PORT, tmp_path / "worker", models="pixels")):
        out = ape_run("mint", "--digit", "4", "--seed", "9", "--account", "TEST::6")
        request_id = int(re.search(r"request (\d+): paid", out).group(1))
        assert minter.orders(request_id).buyer == accounts[6].address
        wait_for(lambda: market.get_request(request_id).state & 0x7F == RequestState.FULFILLED, "fulfilment")
        chain.mine(timestamp=chain.pending_timestamp + market.params().challenge_window + 1)
        wait_for(lambda: minter.orders(request_id).token_id != 0, "the mint at settlement")
    token_id = minter.orders(request_id).token_id
    assert minter.ownerOf(token_id) == accounts[6].address
    fulfilled = list(market.InferenceFulfilled.range(0, None, search_topics={"request_id": request_id}))
    assert len(fulfilled) == 1 and fulfilled[0].worker == accounts[WORKER_ACCOUNTS[0]].address
    assert bytes(minter.image_hash(token_id)) == bytes(fulfilled[0].result_hash)

    shown = ape_run("mint", "show", str(token_id), "--out", str(tmp_path / "images"))
    path = tmp_path / "images" / f"pixels-{token_id}.png"
    assert str(path) in shown.replace("\n", "").replace("│", "").replace(" ", "") or path.name in shown
    assert path.exists()
    assert keccak(path.read_bytes()) == bytes(minter.image_hash(token_id))
    assert decode_png(path.read_bytes()).shape == (16, 16)
    # The model's shareholders earned from the mint.
    assert d.ModelShares.withdrawable_revenue(accounts[nft.AUTHOR], [minter.model_id()]) > 0


def test_mint__no_worker__reclaimed_from_the_terminal(collection, accounts):
    d, minter = collection
    out = ape_run("mint", "--digit", "1", "--seed", "77", "--account", "TEST::6")
    request_id = int(re.search(r"request (\d+): paid", out).group(1))
    paid = minter.orders(request_id).paid
    early = subprocess.run(["ape", "run", "mint", "reclaim", str(request_id), "--account", "TEST::6", "--network",
                            NETWORK], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert early.returncode != 0 and "may still be served until" in early.stdout + early.stderr
    chain.mine(timestamp=d.InferenceMarket.get_request(request_id).deadline + 1)
    before = accounts[6].balance
    out = ape_run("mint", "reclaim", str(request_id), "--account", "TEST::6")
    assert f"request {request_id} reclaimed" in out
    assert minter.orders(request_id).status == 3
    assert accounts[6].balance > before + paid * 9 // 10  # the payment back, less the reclaim's gas
