"""Running models: ONNX Runtime (CUDA when present, else CPU) or PyTorch (GPU
when present), batched, with canonical outputs so both give the same hashes."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

from offchain import canonical
from offchain.errors import UnknownBackend
from offchain.models import ModelSpec
from offchain.store import ContentStore, verified


class OnnxBackend:
    name = "onnxruntime"

    def __init__(self, artifact: bytes):
        import onnxruntime as ort

        available = ort.get_available_providers()
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(artifact, sess_options=options, providers=providers)
        self.device = "cuda" if self.session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
        self.input_name = self.session.get_inputs()[0].name

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch.astype(np.float32)})[0]


class TorchBackend:
    name = "torch"

    def __init__(self, spec: ModelSpec):
        import torch

        info = spec.manifest["torch"]
        module_path = spec.folder / info["module"]
        module_spec = importlib.util.spec_from_file_location(f"nc_model_{spec.name}", module_path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        weights = verified((spec.folder / info["file"]).read_bytes(), info["keccak256"], what=info["file"])
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        model = getattr(module, info["class"])()
        import io

        model.load_state_dict(torch.load(io.BytesIO(weights), map_location=self.device, weights_only=True))
        self.model = model.to(self.device).eval()
        self._torch = torch

    def run(self, batch: np.ndarray) -> np.ndarray:
        with self._torch.no_grad():
            tensor = self._torch.from_numpy(batch.astype(np.float32)).to(self.device)
            return self.model(tensor).cpu().numpy()


@dataclass
class Runtime:
    """A model ready to answer: parsed inputs in, canonical result bytes out."""

    spec: ModelSpec
    backend: OnnxBackend | TorchBackend

    def infer(self, inputs: list[np.ndarray]) -> list[bytes]:
        """Runs one batch and returns each input's canonical result bytes."""
        if not inputs:
            return []
        outputs = self.backend.run(np.stack(inputs))
        kind, scale = self.spec.encoding
        return canonical.encode(kind, scale, outputs)


BACKENDS = ("onnxruntime", "torch")


def load_runtime(spec: ModelSpec, backend: str = "onnxruntime", store: ContentStore | None = None,
                 expected_hash: bytes | None = None) -> Runtime:
    """Loads a model, refusing artifact bytes whose keccak256 is not `expected_hash`
    (the registry's; the manifest's when not given). Raises `UnknownBackend` for a
    backend other than those in `BACKENDS`, before reading anything."""
    if backend not in BACKENDS:
        raise UnknownBackend(f"unknown backend '{backend}': use {' or '.join(BACKENDS)}")
    expected = expected_hash or spec.artifact_hash
    if store is not None and store.has(expected):
        artifact = store.get(expected)
    else:
        artifact = verified(spec.artifact_path.read_bytes(), expected, what=str(spec.artifact_path))
        if store is not None:
            store.put(artifact)
    if backend == "torch":
        return Runtime(spec, TorchBackend(spec))
    return Runtime(spec, OnnxBackend(artifact))
