"""Assembles a worker for a deployed system: the adapter shared by the
silverback bot (`bots/worker.py`), `ape run worker` and the anvil demo; and
the bot's block follower, which waits out quiet chains and RPC outages."""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from pathlib import Path

from offchain.deploy import load_deployment
from offchain.errors import ModelNotFound
from offchain.models import all_specs, load_spec
from offchain.runtime import load_runtime
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.tamper import Tamper
from offchain.verifier import Verifier
from offchain.worker import InferenceWorker


ACTIVE = 2  # ModelRegistry status of a listed model

log = logging.getLogger("neural_commons.worker")


class BlockFollower:
    """Follows the chain head for a long-running worker, and never gives up.

    `poll()` makes one RPC call and returns the head block when it has moved,
    or again every `idle_step_s` while it has not (so a quiet chain still gets
    steps: inputs that arrived, windows that passed); otherwise None. A quiet
    chain is not an error, however long. An RPC failure is logged once per
    outage and retried with exponential backoff up to `max_backoff_s`, and its
    end is logged too. `wait_s` says how long to wait before the next poll.

    The head is read with a plain JSON-RPC call bounded by `rpc_timeout_s` and
    no retries: ape's own calls retry with a 30 s timeout each, so a hung node
    would hold the follower for minutes before it noticed."""

    def __init__(self, provider, *, poll_s: float = 0.1, idle_step_s: float = 10.0, max_backoff_s: float = 30.0,
                 rpc_timeout_s: float = 5.0):
        self.provider = provider
        self.poll_s, self.idle_step_s, self.max_backoff_s = poll_s, idle_step_s, max_backoff_s
        self.rpc_timeout_s = rpc_timeout_s
        self.wait_s = poll_s
        self.outage_since: float | None = None
        self._last_number: int | None = None
        self._last_yield = 0.0

    def _head(self):
        uri = getattr(self.provider, "http_uri", None)
        if not uri:
            return self.provider.get_block("latest")
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber",
                           "params": ["latest", False]}).encode()
        request = urllib.request.Request(uri, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.rpc_timeout_s) as response:
            reply = json.load(response)
        if not isinstance(reply.get("result"), dict):
            raise ConnectionError(f"no head block in the node's reply: {str(reply)[:200]}")
        return self.provider.network.ecosystem.decode_block(reply["result"])

    def poll(self):
        try:
            block = self._head()
        except Exception as exc:  # noqa: BLE001 (whatever the RPC did, the worker waits it out)
            if self.outage_since is None:
                self.outage_since = time.monotonic()
                self.wait_s = 1.0
                log.warning("RPC error while following blocks (%s); retrying with backoff up to %g s, "
                            "results are still served", str(exc).splitlines()[0][:200] if str(exc) else
                            type(exc).__name__, self.max_backoff_s)
            else:
                self.wait_s = min(self.wait_s * 2, self.max_backoff_s)
            return None
        if self.outage_since is not None:
            log.warning("RPC answering again after %.0f s, at block %s", time.monotonic() - self.outage_since,
                        block.number)
            self.outage_since = None
        self.wait_s = self.poll_s
        now = time.monotonic()
        if block.number != self._last_number or now - self._last_yield >= self.idle_step_s:
            self._last_number, self._last_yield = block.number, now
            return block
        return None


def find_model_ids(registry, artifact_hash: bytes) -> list[int]:
    """Every listed (active) model whose artifact is these bytes, oldest first.

    Anyone may register the same bytes again; such a registration stays pending
    until governance lists it, and until then it is not served or paid for."""
    found = [e.model_id for e in registry.ModelRegistered.range(0, None) if bytes(e.artifact_hash) == artifact_hash]
    if not found:
        raise ModelNotFound(f"no model with artifact 0x{artifact_hash.hex()} is registered on this chain")
    active = sorted(model_id for model_id in found if registry.models(model_id).status == ACTIVE)
    if not active:
        raise ModelNotFound(f"no active model with artifact 0x{artifact_hash.hex()}: registrations "
                            f"{', '.join(map(str, sorted(found)))} are pending, suspended or retired")
    return active


def find_model_id(registry, artifact_hash: bytes) -> int:
    """The listed (active) model whose artifact is these bytes; the oldest listing if there are several."""
    return find_model_ids(registry, artifact_hash)[0]


def build_worker(project, provider, account, signer_key, model_names: list[str], workdir: Path, *,
                 port: int = 0, backend: str = "onnxruntime", batch_size: int = 32,
                 file_root: Path | None = None, tamper: str | None = None) -> tuple[InferenceWorker, ResultServer]:
    """A worker serving `model_names` for `account`, with its result server started.

    Each artifact is checked against the hash registered on-chain before it is loaded, and
    served under every active model id registered with that hash (pending duplicates are not).
    `["all"]`: every model under models/ that has an active registration on this chain
    (the others are skipped, with a log line). `tamper` (tests only, `offchain.tamper`) makes it cheat.
    """
    deployment = load_deployment(project, provider)
    workdir = Path(workdir)
    runtimes = load_runtimes(deployment.ModelRegistry, model_names, workdir, backend)
    results = ContentStore(workdir / "results")
    server = ResultServer(results, port=port).start()
    agent = InferenceWorker(deployment.InferenceMarket, account, signer_key, runtimes, results,
                            workdir / "worker-state.json", server.result_url, batch_size=batch_size,
                            file_root=file_root, tamper=Tamper.parse(tamper) if tamper else None)
    return agent, server


def load_runtimes(registry, model_names: list[str], workdir: Path, backend: str = "onnxruntime") -> dict:
    """model id -> Runtime for `model_names` (see `build_worker`), each artifact checked against the
    hash registered on-chain."""
    runtimes = {}
    every = list(model_names) == ["all"]
    for spec in (all_specs() if every else [load_spec(name) for name in model_names]):
        try:
            model_ids = find_model_ids(registry, spec.artifact_hash)
        except ModelNotFound as exc:
            if not every:
                raise
            log.info("not serving %s: %s", spec.name, exc)
            continue
        onchain = bytes(registry.models(model_ids[0]).artifact_hash)
        runtime = load_runtime(spec, backend, ContentStore(workdir / "models"), onchain)
        for model_id in model_ids:
            runtimes[model_id] = runtime
    return runtimes


def build_verifier(project, provider, account, model_names: list[str], workdir: Path, *, port: int = 0,
                   backend: str = "onnxruntime", file_root: Path | None = None) -> tuple[Verifier, ResultServer]:
    """A verifier for `account` (an active worker) re-executing and judging `model_names`, with the
    result server that serves its own results (the hash it challenges with) started."""
    deployment = load_deployment(project, provider)
    workdir = Path(workdir)
    runtimes = load_runtimes(deployment.ModelRegistry, model_names, workdir, backend)
    results = ContentStore(workdir / "results")
    server = ResultServer(results, port=port).start()
    agent = Verifier(deployment.InferenceMarket, deployment.DisputeCourt, account, runtimes, results,
                     workdir / "verifier-state.json", file_root=file_root, channels=deployment.PaymentChannels)
    return agent, server
