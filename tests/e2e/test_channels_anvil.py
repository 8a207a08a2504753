"""Real-time paid inference on anvil: the worker's API in its own process, a
client making hundreds of paid calls, one settlement paying everyone; the
server restarted on the same books refuses the old voucher and goes on
counting, and refuses calls once the payer asked to close."""

import os
import subprocess
import sys
import time

import httpx
import pytest
from ape import chain

import offchain.deploy
from offchain.channels import CallRejected, ChannelClient, input_document
from offchain.demos.inference import WORKER_ACCOUNTS, held_out_digits, prepare, stake
from offchain.models import load_spec
from tests.e2e.anvil import ROOT

CALLS = 300
PORT = 8711


def start_server(tmp_path, name):
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    log = tmp_path / f"{name}.log"
    server = subprocess.Popen(
        ["ape", "run", "serve_channels", "--network", "ethereum:local:foundry", "--account",
         f"TEST::{WORKER_ACCOUNTS[0]}", "--port", str(PORT), "--settle-eth", "1000",
         "--state-dir", str(tmp_path / "books"), "--refresh-after", "0"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{PORT}/openapi.json", timeout=1)
            return server, log
        except httpx.HTTPError:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)


def stop_server(server) -> None:
    server.terminate()
    server.wait(timeout=30)


def test_hundreds_of_paid_calls__one_settlement_pays_everyone(anvil, project, accounts, tmp_path):
    spec = load_spec("digits")
    d, model_id = prepare(project, accounts, spec)
    worker, payer, author, dave = accounts[WORKER_ACCOUNTS[0]], accounts[6], accounts[8], accounts[9]
    stake(d, accounts[0], worker, f"http://127.0.0.1:{PORT}")
    offchain.deploy.save_deployment(d)
    server, _ = start_server(tmp_path, "first")
    try:
        channels = d.PaymentChannels
        client = ChannelClient(channels, d.ModelRegistry, d.WorkerRegistry, payer, chain_id=chain.chain_id)
        client.open(worker, model_id, 6 * 10**17)  # the URL comes from the worker's registered endpoint
        client.fund(4 * 10**17)
        documents = [input_document(p) for p, _ in held_out_digits(spec, 360)]
        block_before = chain.blocks.head.number
        with httpx.Client() as http:
            results = [client.call(documents[i % len(documents)], http) for i in range(CALLS)]
            assert chain.blocks.head.number == block_before  # no transaction per call
            assert http.post(f"http://127.0.0.1:{PORT}/v1/settle", timeout=30).json()["settled_wei"] == CALLS * 10**15
        assert [r.seq for r in results] == list(range(1, CALLS + 1))
    finally:
        stop_server(server)

    paid = CALLS * 10**15
    worker_cut, share_cut, holder_cut = paid * 70 // 100, paid * 20 // 100, paid * 5 // 100
    assert channels.channels(client.channel_id).settled == paid
    assert channels.owed(worker) == worker_cut
    assert channels.owed(d.Timelock) == paid - worker_cut - share_cut - holder_cut
    shares = d.ModelShares
    assert shares.withdrawable_revenue(author, [model_id]) == share_cut * 7 // 10
    assert shares.withdrawable_revenue(dave, [model_id]) == share_cut * 3 // 10
    holders = sum(d.GovernanceToken.withdrawable_revenue(a) for a in (accounts[0], accounts[1], accounts[2]))
    assert holder_cut - 3 <= holders <= holder_cut

    # A new process on the same books: the settled voucher buys nothing, seqs go on.
    server, log = start_server(tmp_path, "second")
    try:
        with httpx.Client() as http:
            client.spent, client.used = paid - client.price, None  # replays the last voucher
            with pytest.raises(CallRejected) as replay:
                client.call(documents[0], http)
            assert replay.value.status == 409
            client.spent = paid
            assert client.call(documents[0], http).seq == CALLS + 1
            client.request_close()
            with pytest.raises(CallRejected) as closing:
                client.call(documents[1], http)
            assert (closing.value.status, str(closing.value)) == (
                409, "channel closing (its payer asked to close): open a new one")
    finally:
        stop_server(server)
    assert "settled 1000000000000000 wei on shutdown in 1 transaction(s)" in log.read_text()

    paid += 10**15
    assert channels.channels(client.channel_id).settled == paid
    chain.mine(timestamp=chain.pending_timestamp + channels.params().close_delay + 1)
    assert client.close() == 10**18 - paid
    assert channels.owed(payer) == 10**18 - paid
