"""Assembles a worker for a deployed system: the adapter shared by the
silverback bot (`bots/worker.py`), `ape run worker` and the anvil demo."""

from __future__ import annotations

from pathlib import Path

from offchain.deploy import load_deployment
from offchain.errors import ModelNotFound
from offchain.models import load_spec
from offchain.runtime import load_runtime
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.worker import InferenceWorker


ACTIVE = 2  # ModelRegistry status of a listed model


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
                 file_root: Path | None = None) -> tuple[InferenceWorker, ResultServer]:
    """A worker serving `model_names` for `account`, with its result server started.

    Each artifact is checked against the hash registered on-chain before it is loaded, and
    served under every active model id registered with that hash (pending duplicates are not).
    """
    deployment = load_deployment(project, provider)
    registry = deployment.ModelRegistry
    workdir = Path(workdir)
    runtimes = {}
    for name in model_names:
        spec = load_spec(name)
        model_ids = find_model_ids(registry, spec.artifact_hash)
        onchain = bytes(registry.models(model_ids[0]).artifact_hash)
        runtime = load_runtime(spec, backend, ContentStore(workdir / "models"), onchain)
        for model_id in model_ids:
            runtimes[model_id] = runtime
    results = ContentStore(workdir / "results")
    server = ResultServer(results, port=port).start()
    agent = InferenceWorker(deployment.InferenceMarket, account, signer_key, runtimes, results,
                            workdir / "worker-state.json", server.result_url, batch_size=batch_size,
                            file_root=file_root)
    return agent, server
