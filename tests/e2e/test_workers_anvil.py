"""Worker bots as separate processes on a real anvil node: the multi-process
paths, with crashes and bad inputs."""

import json
import time
from contextlib import contextmanager

import pytest
from ape import chain
from eth_utils import keccak

import offchain.deploy
from offchain import inputs
from offchain.client import InferenceClient
from offchain.demos import inference
from offchain.demos.inference import WORKER_ACCOUNTS, WORKER_PORT, held_out_digits, prepare, stake
from offchain.errors import NeuralCommonsError
from offchain.localnet import BotProcess, running
from offchain.market import RequestState
from offchain.models import load_spec
from offchain.runtime import load_runtime
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.worker import InferenceWorker, StepReport

REQUESTED, CLAIMED, FULFILLED = RequestState.REQUESTED, RequestState.CLAIMED, RequestState.FULFILLED


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


def market_and_client(economy, accounts):
    """The economy's market, its model id, and the app builder's client."""
    d, model_id = economy
    return d.InferenceMarket, model_id, InferenceClient(d.InferenceMarket, accounts[6])


@contextmanager
def running_bot(workdir, account=WORKER_ACCOUNTS[0]):
    """A worker bot process, ready (its result server answers); stopped (SIGTERM) on the way out."""
    with running(BotProcess(account, WORKER_PORT, workdir)) as (bot,):
        yield bot


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
    market, model_id, client = market_and_client(economy, accounts)
    worker = accounts[WORKER_ACCOUNTS[0]]
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
    assert all(market.get_request(i).state == CLAIMED for i in ids)
    # A new process with the same state folder resumes from the chain.
    with running_bot(workdir):
        wait_until(market, ids, (FULFILLED,))
        for i in ids:
            assert len(fulfilments(market, i)) == 1
            client.fetch(i, spec)


def test_worker_killed_mid_batch__restart_completes_everything_once(economy, accounts, spec, tmp_path):
    market, model_id, client = market_and_client(economy, accounts)
    with running_bot(tmp_path / "worker") as bot:
        ids = [client.request(model_id, inputs.encode_pixels(p)) for p, _ in held_out_digits(spec, 60)]
        deadline = time.monotonic() + 60
        while all(market.get_request(i).state == REQUESTED for i in ids) and time.monotonic() < deadline:
            time.sleep(0.02)
        bot.kill()  # SIGKILL somewhere in the middle of the work
        bot.start()
        bot.wait_ready()
        wait_until(market, ids, (FULFILLED,))
        for i in ids:
            assert len(fulfilments(market, i)) == 1


def test_tampered_artifact__bot_refuses_to_start(economy, spec, tmp_path):
    workdir = tmp_path / "worker"
    ContentStore(workdir / "models")  # the bot's model cache...
    (workdir / "models" / ("0x" + spec.artifact_hash.hex())).write_bytes(b"tampered model bytes")  # ...poisoned
    bot = BotProcess(WORKER_ACCOUNTS[0], WORKER_PORT, workdir).start()
    try:
        with pytest.raises(NeuralCommonsError, match="worker bot exited with 1"):  # a real failure: non-zero
            bot.wait_ready()
        assert "refusing to use these bytes" in bot.log_path.read_text()
    finally:
        bot.stop()


def test_malformed_input__rejected_by_bot__refunded_in_full(economy, accounts, tmp_path):
    market, model_id, client = market_and_client(economy, accounts)
    app_builder = client.account
    with running_bot(tmp_path / "worker"):
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
        assert market.get_request(request_id).state == REQUESTED  # never claimed
    chain.mine(timestamp=chain.pending_timestamp + 61)
    market.refund(request_id, sender=app_builder)
    assert market.owed(app_builder) == market.quote(model_id)


def test_infer_cli__pays_waits_and_prints_verified_output(economy, tmp_path):
    import os
    import subprocess
    import sys

    from tests.e2e.anvil import ROOT

    with running_bot(tmp_path / "worker"):
        env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
        result = subprocess.run(
            ["ape", "run", "infer", "--model", "digits", "--input", "models/digits/sample.json",
             "--network", "ethereum:local:foundry", "--account", "TEST::6"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "verified" in output and "yes" in output
    import re

    assert re.search(r"predicted class\s*│\s*4\s", output), output


def result_server_answers(port: int) -> bool:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
    except urllib.error.HTTPError as exc:
        return exc.code == 404  # the server's answer for anything but /results/0x...
    except OSError:
        return False
    return False


def test_quiet_chain__bot_stays_up_and_serves__then_serves_the_next_request(economy, accounts, spec, tmp_path):
    market, model_id, client = market_and_client(economy, accounts)
    with running_bot(tmp_path / "worker") as bot:
        first = client.request(model_id, inputs.encode_pixels(held_out_digits(spec, 1)[0][0]))
        wait_until(market, [first], (FULFILLED,))
        # Anvil mines only on a transaction: no block at all for 20 s (silverback's poller gave up after 10).
        quiet_from = chain.blocks.head.number
        time.sleep(20)
        assert chain.blocks.head.number == quiet_from  # the chain really was quiet
        assert bot.process.poll() is None  # the bot is still running...
        assert result_server_answers(WORKER_PORT)  # ...its result server answers...
        client.fetch(first, spec)  # ...and serves the result it attested
        second = client.request(model_id, inputs.encode_pixels(held_out_digits(spec, 2)[1][0]))
        wait_until(market, [second], (FULFILLED,))
        client.fetch(second, spec)
        assert "Timed out waiting for next block" not in bot.log_path.read_text()
    assert bot.process.returncode == 0  # a requested stop is not a failure


def anvil_pid(port: int = 8545) -> int:
    """The anvil this module's fixture started (the only node on the port while the e2e lock is held)."""
    import os

    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"/anvil") and str(port).encode() in argv:
                return int(entry)
    raise RuntimeError(f"no anvil on port {port}")


def wait_for_log(bot, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while text not in bot.log_path.read_text():
        assert bot.process.poll() is None, bot.log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no '{text}' in the bot's log"
        time.sleep(0.5)


def test_rpc_outage__bot_waits_it_out_serving_results__then_serves_the_next_request(economy, accounts, spec,
                                                                                    tmp_path):
    import os
    import signal
    import urllib.request

    market, model_id, client = market_and_client(economy, accounts)
    node = anvil_pid()
    with running_bot(tmp_path / "worker") as bot:
        first = client.request(model_id, inputs.encode_pixels(held_out_digits(spec, 1)[0][0]))
        wait_until(market, [first], (FULFILLED,))
        result_uri = client.result_uri(first)
        expected = bytes(market.get_request(first).hash)
        # The node stops answering (frozen, connections open): an RPC outage, as a hung or overloaded node gives.
        os.kill(node, signal.SIGSTOP)
        try:
            # Up to ape's own retries: the node may freeze in the middle of a call of the bot's (30 s a try).
            wait_for_log(bot, "RPC error while following blocks", timeout=300)
            assert bot.process.poll() is None
            with urllib.request.urlopen(result_uri, timeout=5) as response:  # results are still served
                assert keccak(response.read()) == expected
        finally:
            os.kill(node, signal.SIGCONT)
        wait_for_log(bot, "RPC answering again", timeout=300)
        second = client.request(model_id, inputs.encode_pixels(held_out_digits(spec, 2)[1][0]))
        wait_until(market, [second], (FULFILLED,))
        client.fetch(second, spec)
    assert bot.process.returncode == 0


def test_bot_without_worker_runner__refuses_to_start_with_nonzero_status(economy, tmp_path):
    import os
    import subprocess
    import sys

    from tests.e2e.anvil import ROOT

    env = {**os.environ, "NC_WORKER_DIR": str(tmp_path), "NC_RESULT_PORT": str(WORKER_PORT)}
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "silverback"), "run", "bots.worker:bot",
         "--network", "ethereum:local:foundry", "--account", f"TEST::{WORKER_ACCOUNTS[0]}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode != 0
    assert "run the worker bot with `--runner bots.runner:WorkerRunner`" in result.stdout + result.stderr


def test_bot_of_an_unstaked_account__steps_keep_failing__exits_with_status_1(economy, accounts, spec, tmp_path):
    _, model_id, client = market_and_client(economy, accounts)
    unstaked = WORKER_ACCOUNTS[2]  # a worker account this economy never staked: every claim reverts
    with running_bot(tmp_path / "worker", unstaked) as bot:
        client.request(model_id, inputs.encode_pixels(held_out_digits(spec, 1)[0][0]))
        deadline = time.monotonic() + 120
        while bot.process.poll() is None and time.monotonic() < deadline:
            chain.mine()  # a block, a step, a failed claim
            time.sleep(1)
        assert bot.process.returncode == 1, bot.log_path.read_text()[-3000:]  # a real failure, not a quiet stop
        log = bot.log_path.read_text()
        assert "InferenceMarket: caller is not an active worker" in log
        assert "exiting with status 1" in log


def test_bot_with_bad_setting__refuses_to_start_naming_the_variable(economy, tmp_path):
    import os
    import subprocess
    import sys

    from tests.e2e.anvil import ROOT

    env = {**os.environ, "NC_WORKER_DIR": str(tmp_path), "NC_RESULT_PORT": "99999"}
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "silverback"), "run", "bots.worker:bot",
         "--runner", "bots.runner:WorkerRunner",
         "--network", "ethereum:local:foundry", "--account", f"TEST::{WORKER_ACCOUNTS[0]}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NC_RESULT_PORT: Input should be less than or equal to 65535 (got '99999')" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()  # stopped before anything was built
