"""Running models: ONNX Runtime (CUDA when present, else CPU) or PyTorch (GPU
when present), batched, with canonical outputs so both give the same hashes
(classifiers) or outputs within the manifest's tolerance (embeddings).

Contract models (`input.kind == "contract"`) take runtime bytecode (the
worker fetched it and checked its hash): the runtime computes its features
(`offchain.bytecode`) and feeds them to the graph.

Text models (`input.kind == "text"`) take strings: the runtime tokenizes them
with the model's tokenizer.json (`tokenizers`, its hash checked against the
manifest), truncates to `max_tokens`, sorts a batch by length and pads each
chunk to its longest text, then feeds ids and attention mask to the graph.

Image generators (`input.kind == "image-seed"`) take {"seed", "digit"}
inputs: the graph predicts noise and the runtime steps DDIM around it
(`offchain.diffusion`, the manifest's `sampler` block), a batch of requests
in one graph call per step, then encodes each image as canonical PNG."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

from offchain import canonical, diffusion
from offchain.errors import UnknownBackend
from offchain.models import ModelSpec
from offchain.store import ContentStore, verified
from offchain.verification import Policy, policy_from


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

    def run_text(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    def denoise(self, sample: np.ndarray, timestep: np.ndarray, label: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"sample": sample, "timestep": timestep, "label": label})[0]


class TextTokenizer:
    """A text model's tokenizer: its committed tokenizer.json, checked against the manifest."""

    def __init__(self, spec: ModelSpec):
        from tokenizers import Tokenizer

        info = spec.manifest["tokenizer"]
        data = verified((spec.folder / info["file"]).read_bytes(), info["keccak256"], what=info["file"])
        self.tokenizer = Tokenizer.from_str(data.decode())
        self.tokenizer.enable_truncation(int(spec.input_schema["max_tokens"]))
        self.tokenizer.no_padding()

    def lengths_and_ids(self, texts: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]

    @staticmethod
    def pad(token_ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, attention_mask), int64, padded with 0 to the longest."""
        width = max(len(ids) for ids in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        return ids, mask


class TorchTextBackend:
    """A text model in PyTorch, built from its package by the folder's model.py (a reference backend)."""

    name = "torch"

    def __init__(self, spec: ModelSpec):
        import torch

        info = spec.manifest["torch"]
        module_spec = importlib.util.spec_from_file_location(f"nc_model_{spec.name}", spec.folder / info["module"])
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = getattr(module, info["loader"])(spec.build_module().package_zip()).to(self.device)
        self._torch = torch

    def run_text(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with self._torch.no_grad():
            return self.model(self._torch.from_numpy(ids).to(self.device),
                              self._torch.from_numpy(mask).to(self.device)).cpu().numpy()


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

    def denoise(self, sample: np.ndarray, timestep: np.ndarray, label: np.ndarray) -> np.ndarray:
        with self._torch.no_grad():
            args = (self._torch.from_numpy(a).to(self.device) for a in (sample, timestep, label))
            return self.model(*args).cpu().numpy()


@dataclass
class Runtime:
    """A model ready to answer: parsed inputs in, canonical result bytes out."""

    spec: ModelSpec
    backend: OnnxBackend | TorchBackend | TorchTextBackend
    tokenizer: TextTokenizer | None = None
    text_chunk: int = 64  # texts per graph call (sorted by length, so padding stays small)

    def infer(self, inputs: list) -> list[bytes]:
        """Runs one batch (arrays, or strings for a text model) and returns each input's
        canonical result bytes."""
        if not inputs:
            return []
        kind, scale = self.spec.encoding
        if self.tokenizer is not None:
            return canonical.encode(kind, scale, self.embed(list(inputs)))
        if self.spec.input_kind == "contract":  # runtime bytecode in, its features to the graph
            from offchain import bytecode

            return canonical.encode(kind, scale, self.backend.run(np.stack([bytecode.features(c) for c in inputs])))
        if self.spec.input_kind == "image-seed":
            return canonical.encode(kind, scale, self.generate(list(inputs)))
        outputs = self.backend.run(np.stack(inputs))
        return canonical.encode(kind, scale, outputs)

    def check(self, parsed_input, result: bytes) -> tuple[bool, float]:
        """Recomputes `parsed_input` here and judges a worker's `result` under the manifest's
        verification policy: `exact` (the same canonical bytes; distance 0 or inf) or `tolerance`
        (decoded outputs within the bound). Returns (honest, distance)."""
        (mine,) = self.infer([parsed_input])
        return self.policy.judge(result, mine)

    @property
    def policy(self) -> Policy:
        """The model's verification policy (`offchain.verification`), from its manifest."""
        return policy_from(self.spec.manifest)

    def generate(self, requests: list[dict]) -> np.ndarray:
        """An image generator's uint8 [b, size, size] pixels, one image per {"seed", "digit"}."""
        sampler = diffusion.Sampler.from_manifest(self.spec.manifest["sampler"])
        images = diffusion.sample(self.backend.denoise, sampler, [int(r["seed"]) for r in requests],
                                  [int(r["digit"]) for r in requests])
        return diffusion.to_pixels(images)

    def embed(self, texts: list[str]) -> np.ndarray:
        """A text model's raw float32 outputs, one row per text, in input order."""
        token_ids = self.tokenizer.lengths_and_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
        rows: list[np.ndarray | None] = [None] * len(texts)
        for start in range(0, len(order), self.text_chunk):
            chunk = order[start : start + self.text_chunk]
            out = self.backend.run_text(*TextTokenizer.pad([token_ids[i] for i in chunk]))
            for i, row in zip(chunk, out, strict=True):
                rows[i] = row
        return np.stack(rows)


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
        artifact = verified(spec.read_artifact(), expected, what=str(spec.artifact_path))
        if store is not None:
            store.put(artifact)
    tokenizer = TextTokenizer(spec) if spec.input_kind == "text" else None
    if backend == "torch":
        return Runtime(spec, TorchTextBackend(spec) if tokenizer else TorchBackend(spec), tokenizer)
    return Runtime(spec, OnnxBackend(artifact), tokenizer)
