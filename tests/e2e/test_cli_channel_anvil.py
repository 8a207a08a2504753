"""`ape run channel` against a real node and the worker's API in its own process: open, call four times from
the terminal (each continuing from the kept voucher; the third pays three calls ahead, the fourth spends that
credit), status, request the close, close, withdraw."""

import os
import re
import subprocess
import sys

from ape import chain

import offchain.deploy
from offchain.demos.inference import WORKER_ACCOUNTS, prepare, stake
from offchain.models import load_spec
from tests.e2e.anvil import ROOT
from tests.e2e.test_channels_anvil import PORT, start_server, stop_server

PAYER = 6


def ape_run(tmp_path, *args: str, status: int = 0) -> str:
    env = {**os.environ, "NC_PAYER_STATE": str(tmp_path / "payer"),
           "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["ape", "run", *args, "--network", "ethereum:local:foundry", "--account",
                             f"TEST::{PAYER}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == status, output
    assert "Traceback" not in output
    return output


def test_channel_cli__open_call_status_close_withdraw(anvil, project, accounts, tmp_path):
    d, model_id = prepare(project, accounts, load_spec("digits"))
    worker, payer = accounts[WORKER_ACCOUNTS[0]], accounts[PAYER]
    stake(d, accounts[0], worker, f"http://127.0.0.1:{PORT}")
    offchain.deploy.save_deployment(d)
    channels = d.PaymentChannels
    out = ape_run(tmp_path, "channel", "open", worker.address, str(model_id), "--deposit", "0.01 ether")
    channel_id = re.search(r"channel (0x[0-9a-f]{64}) open", out).group(1)
    raw = bytes.fromhex(channel_id[2:])
    assert channels.channels(raw).deposit == 10**16
    server, log = start_server(tmp_path, "cli")
    try:
        first = ape_run(tmp_path, "channel", "call", channel_id, "--input", "models/digits/sample.json")
        assert re.search(r"predicted class\s*│\s*4\s", first), first
        assert re.search(r"paid so far \(ETH\)\s*│\s*0\.001000\s", first), first
        second = ape_run(tmp_path, "channel", "call", channel_id, "--input", "models/digits/sample.json")
        assert re.search(r"paid so far \(ETH\)\s*│\s*0\.002000\s", second) and "Call 2" in second, second
        # A voucher for three calls; the next call spends its credit without a signature (a later process:
        # the session token came from the payer's state folder).
        third = ape_run(tmp_path, "channel", "call", channel_id, "--input", "models/digits/sample.json",
                        "--credit", "3")
        assert re.search(r"paid so far \(ETH\)\s*│\s*0\.005000\s", third) and "Call 3" in third, third
        assert re.search(r"prepaid credit left \(ETH\)\s*│\s*0\.002000\s", third), third
        fourth = ape_run(tmp_path, "channel", "call", channel_id, "--input", "models/digits/sample.json")
        assert re.search(r"paid so far \(ETH\)\s*│\s*0\.005000\s", fourth) and "Call 4" in fourth, fourth
        assert re.search(r"prepaid credit left \(ETH\)\s*│\s*0\.001000\s", fourth), fourth
        status = ape_run(tmp_path, "channel", "status", channel_id)
        assert re.search(r"signed by you \(ETH\)\s*│\s*0\.005000\s", status), status
        assert re.search(r"of which paid ahead, not yet used \(ETH\)\s*│\s*0\.001000\s", status), status
        (kept,) = (tmp_path / "payer").glob("*.json")
        assert kept.stat().st_mode & 0o777 == 0o600  # its session token spends the credit
        assert "close requested" in ape_run(tmp_path, "channel", "close", channel_id)
    finally:
        stop_server(server)  # settles the latest voucher on shutdown, the call paid ahead included
    assert channels.channels(raw).settled == 5 * 10**15, log.read_text()
    error = ape_run(tmp_path, "channel", "close", channel_id, status=1)
    assert "error: the close delay ends" in error
    chain.mine(timestamp=chain.pending_timestamp + channels.params().close_delay + 1)
    assert "closed: 0.005000 ETH credited" in ape_run(tmp_path, "channel", "close", channel_id)
    assert "withdrew 0.005000 ETH" in ape_run(tmp_path, "channel", "withdraw")
    assert channels.owed(payer) == 0
