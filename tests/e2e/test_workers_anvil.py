"""Worker bots as separate processes on a real anvil node: the multi-process
paths, with crashes and bad inputs."""

import json
import time

import pytest
from ape import chain

import offchain.deploy
from offchain import inputs
from offchain.client import InferenceClient
from offchain.demos import inference
from offchain.demos.inference import WORKER_ACCOUNTS, WORKER_PORT, held_out_digits, prepare, stake
from offchain.errors import NeuralCommonsError
from offchain.localnet import BotProcess
from offchain.models import load_spec
from offchain.runtime import load_runtime
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.worker import InferenceWorker, StepReport

FULFILLED, FINALIZED = 3, 5


@pytest.fixture(scope="module")
def spec():
    return load_spec("digits")


@pytest.fixture
def economy(anvil, project, accounts, spec):
    """A fresh deployment with the digits model listed and two staked workers."""
    d, model_id = prepare(project, accounts, spec)
    for i in range(2):
        stake(d, accounts[0], accounts[WORKER_ACCOUNTS[i]], f"http://127.0.0.1:{WORKER_PORT + i}")
    offchain.deploy.save_deployment(d)
    return d, model_id


def wait_until(market, ids, states, timeout=120):
    deadline = time.monotonic() + timeout
    while any(market.get_request(i).state not in states for i in ids):
        assert time.monotonic() < deadline, "requests not done in time"
        time.sleep(0.3)
        chain.mine()


def fulfilments(market, request_id):
    return list(market.InferenceFulfilled.range(0, None, search_topics={"request_id": request_id}))


def test_two_worker_bots__every_request_computed_once(anvil, project, accounts):
    summary = inference.run_live(project, accounts, count=12, workers=2)
    assert summary.verified == 12
    assert sum(summary.fulfilled_by.values()) == 12  # run_live also fails if any request is fulfilled twice
    assert summary.received["treasury"] > 0


def test_worker_crashed_after_claim__restarted_bot_completes_each_once(economy, accounts, spec, tmp_path):
    d, model_id = economy
    market, worker = d.InferenceMarket, accounts[WORKER_ACCOUNTS[0]]
    client = InferenceClient(market, accounts[6])
    ids = [client.request(model_id, inputs.encode_pixels(p)) for p, _ in held_out_digits(spec, 20)]
    workdir = tmp_path / "worker"
    workdir.mkdir()
    # The worker process claims the batch, then dies before fulfilling it.
    store = ContentStore(workdir / "results")
    server = ResultServer(store, port=WORKER_PORT).start()
    doomed = InferenceWorker(market, worker, worker.private_key, {model_id: load_runtime(spec)}, store,
                             workdir / "worker-state.json", server.result_url)
    doomed._discover()
    doomed._claim(StepReport())
    server.stop()
    assert all(market.get_request(i).state == 2 for i in ids)
    # A new process with the same state folder resumes from the chain.
    bot = BotProcess(WORKER_ACCOUNTS[0], WORKER_PORT, workdir).start()
    try:
        bot.wait_ready()
        wait_until(market, ids, (FULFILLED,))
        for i in ids:
            assert len(fulfilments(market, i)) == 1
            client.fetch(i, spec)
    finally:
        bot.stop()


def test_worker_killed_mid_batch__restart_completes_everything_once(economy, accounts, spec, tmp_path):
    d, model_id = economy
    market = d.InferenceMarket
    client = InferenceClient(market, accounts[6])
    bot = BotProcess(WORKER_ACCOUNTS[0], WORKER_PORT, tmp_path / "worker").start()
    try:
        bot.wait_ready()
        ids = [client.request(model_id, inputs.encode_pixels(p)) for p, _ in held_out_digits(spec, 60)]
        deadline = time.monotonic() + 60
        while all(market.get_request(i).state == 1 for i in ids) and time.monotonic() < deadline:
            time.sleep(0.02)
        bot.kill()  # SIGKILL somewhere in the middle of the work
        bot.start()
        bot.wait_ready()
        wait_until(market, ids, (FULFILLED,))
        for i in ids:
            assert len(fulfilments(market, i)) == 1
    finally:
        bot.stop()


def test_tampered_artifact__bot_refuses_to_start(economy, spec, tmp_path):
    workdir = tmp_path / "worker"
    ContentStore(workdir / "models")  # the bot's model cache...
    (workdir / "models" / ("0x" + spec.artifact_hash.hex())).write_bytes(b"tampered model bytes")  # ...poisoned
    bot = BotProcess(WORKER_ACCOUNTS[0], WORKER_PORT, workdir).start()
    try:
        with pytest.raises(NeuralCommonsError, match="worker bot exited"):
            bot.wait_ready()
        assert "refusing to use these bytes" in bot.log_path.read_text()
    finally:
        bot.stop()


def test_malformed_input__rejected_by_bot__refunded_in_full(economy, accounts, tmp_path):
    d, model_id = economy
    market, app_builder = d.InferenceMarket, accounts[6]
    client = InferenceClient(market, app_builder)
    bot = BotProcess(WORKER_ACCOUNTS[0], WORKER_PORT, tmp_path / "worker").start()
    try:
        bot.wait_ready()
        request_id = client.request(model_id, json.dumps({"pixels": [3] * 7}).encode(), ttl=60)
        deadline = time.monotonic() + 30
        state = {"rejected": {}}
        while time.monotonic() < deadline:
            chain.mine()
            path = tmp_path / "worker" / "worker-state.json"
            state = json.loads(path.read_text()) if path.exists() else {"rejected": {}}
            if str(request_id) in state["rejected"]:
                break
            time.sleep(0.3)
        assert "must hold 64 numbers, got 7" in state["rejected"][str(request_id)]
        assert market.get_request(request_id).state == 1  # never claimed
    finally:
        bot.stop()
    chain.mine(timestamp=chain.pending_timestamp + 61)
    market.refund(request_id, sender=app_builder)
    assert market.owed(app_builder) == market.quote(model_id)


def test_infer_cli__pays_waits_and_prints_verified_output(economy, tmp_path):
    import os
    import subprocess
    import sys

    from tests.e2e.anvil import ROOT

    bot = BotProcess(WORKER_ACCOUNTS[0], WORKER_PORT, tmp_path / "worker").start()
    try:
        bot.wait_ready()
        env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
        result = subprocess.run(
            ["ape", "run", "infer", "--model", "digits", "--input", "models/digits/sample.json",
             "--network", "ethereum:local:foundry", "--account", "TEST::6"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )
    finally:
        bot.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "verified" in output and "yes" in output
    import re

    assert re.search(r"predicted class\s*│\s*4\s", output), output
