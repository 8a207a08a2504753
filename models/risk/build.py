"""Builds the contract-risk model: a labelled set compiled here, training, ONNX export, manifest.

    python models/risk/build.py            (or: make models)     ~3 min on 2 cores, ~10 s when cached

1. The data set: `templates.py` assembles Vyper 0.4.3 token contracts from parts
   (snekmate erc20 / ownable / ownable_2step / access_control / pausable, and
   hand-written tokens), risky patterns and safe look-alikes, with a fixed seed;
   each is compiled with the installed vyper at one of three optimisation modes
   and labelled by construction. Compiled runtime code is cached in
   `.cache/risk/` (keyed by source, mode and compiler version).
2. Features: `offchain.bytecode.features` of the runtime bytecode.
3. The model: `model.RiskMLP` (777 -> 64 -> 6, sigmoid), trained with a fixed
   seed on one thread (bit-reproducible on the same toolchain) on three
   families; the two held-out families (`templates.HELD_OUT_FAMILIES`, their
   function names drawn from a separate pool) give precision and recall.
4. Measured: ONNX Runtime vs PyTorch on every contract, raw and through the
   canonical encoding; the verification bound is chosen from it.
5. Writes model.onnx, weights.pt, dataset.jsonl (every contract: family,
   features, mode, labels, code hash) and manifest.json.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from eth_utils import keccak

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from offchain import bytecode  # noqa: E402


def _sibling(name: str):
    """models/risk/<name>.py under its own module name (`model` is also digits' module name)."""
    key = f"nc_risk_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
    return sys.modules[key]


templates = _sibling("templates")
_model = _sibling("model")
N_FEATURES, OUTPUTS, RiskMLP = _model.N_FEATURES, _model.OUTPUTS, _model.RiskMLP

SEED = 11
PER_FAMILY = 80
EPOCHS = 300
OPSET = 17
SCALE = 10_000  # fixed point: scores in basis points
CACHE = ROOT / ".cache" / "risk"


def dataset(per_family: int = PER_FAMILY, seed: int = SEED) -> list[templates.Contract]:
    """The contracts, in a fixed order (families interleaved), before compilation."""
    rng = random.Random(seed)
    return [templates.sample(rng, family) for _ in range(per_family) for family in templates.FAMILIES]


_compile = templates.compile_source  # in a module registered by name, so a process pool can pickle it


def compile_all(contracts: list[templates.Contract], workers: int = 2) -> list[bytes]:
    """Runtime bytecode of each contract (cached in .cache/risk/)."""
    import vyper

    CACHE.mkdir(parents=True, exist_ok=True)
    keys = [keccak(f"{vyper.__version__}|{c.optimize}|{c.source}".encode()).hex() for c in contracts]
    todo = [(i, c) for i, (c, k) in enumerate(zip(contracts, keys, strict=True)) if not (CACHE / k).exists()]
    if todo:
        print(f"compiling {len(todo)} contracts with vyper {vyper.__version__} ({workers} processes)", flush=True)
        with ProcessPoolExecutor(workers) as pool:
            for (i, _), code in zip(todo, pool.map(_compile, [(c.source, c.optimize) for _, c in todo]), strict=True):
                (CACHE / keys[i]).write_text(code)
    return [bytes.fromhex((CACHE / k).read_text().removeprefix("0x")) for k in keys]


def labels_of(contracts) -> np.ndarray:
    """[n, 6] float32: overall risk (any label), then each label."""
    rows = [[c.labels[label] for label in templates.LABELS] for c in contracts]
    y = np.asarray(rows, dtype=np.float32)
    return np.concatenate([y.max(axis=1, keepdims=True), y], axis=1)


def split(contracts) -> np.ndarray:
    """Boolean mask of the held-out contracts (whole families)."""
    return np.asarray([c.family in templates.HELD_OUT_FAMILIES for c in contracts])


def train(x: np.ndarray, y: np.ndarray) -> RiskMLP:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    model = RiskMLP()
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    model.mean.copy_(torch.from_numpy(mean))
    model.std.copy_(torch.from_numpy(np.where(std > 1e-6, std, 1.0).astype(np.float32)))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-3)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.BCELoss()
    generator = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(xs), generator=generator)
        for start in range(0, len(xs), 32):
            batch = order[start : start + 32]
            optimiser.zero_grad()
            loss_fn(model(xs[batch])[:, 1:], ys[batch, 1:]).backward()  # overall = max of labels
            optimiser.step()
    return model.eval()


def metrics(predicted: np.ndarray, y: np.ndarray) -> dict:
    """Precision, recall and support per output at threshold 0.5."""
    out = {}
    for j, name in enumerate(OUTPUTS):
        p, t = predicted[:, j] >= 0.5, y[:, j] >= 0.5
        tp, fp, fn = int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())
        out[name] = {"precision": round(tp / (tp + fp), 4) if tp + fp else None,
                     "recall": round(tp / (tp + fn), 4) if tp + fn else None,
                     "positives": int(t.sum()), "of": int(len(t))}
    return out


def export_onnx(model: RiskMLP, path: Path) -> None:
    torch.onnx.export(model, torch.zeros(1, N_FEATURES), str(path), input_names=["features"],
                      output_names=["scores"], dynamic_axes={"features": {0: "batch"}, "scores": {0: "batch"}},
                      opset_version=OPSET, dynamo=False)


def measure_backends(onnx_bytes: bytes, model: RiskMLP, x: np.ndarray) -> dict:
    """ORT (batch 1 and batched) vs PyTorch: raw max |diff| and canonical disagreements at SCALE."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"])
    batched = session.run(None, {"features": x})[0]
    single = np.concatenate([session.run(None, {"features": x[i : i + 1]})[0] for i in range(len(x))])
    with torch.no_grad():
        reference = model(torch.from_numpy(x)).numpy()
    out = {}
    for name, got in (("onnxruntime batched", batched), ("onnxruntime batch 1", single)):
        diff = np.abs(got.astype(np.float64) - reference)
        steps = np.abs(np.rint(got.astype(np.float64) * SCALE) - np.rint(reference.astype(np.float64) * SCALE))
        out[name] = {"max_abs_raw": float(diff.max()), "canonical_values_differing": int((steps > 0).sum()),
                     "max_canonical_steps": int(steps.max()), "values": int(steps.size)}
    return out


def main() -> None:
    started = time.monotonic()
    contracts = dataset()
    codes = compile_all(contracts)
    x = np.stack([bytecode.features(code) for code in codes])
    y = labels_of(contracts)
    held = split(contracts)
    model = train(x[~held], y[~held])
    with torch.no_grad():
        predicted = model(torch.from_numpy(x)).numpy()

    onnx_path, weights_path = HERE / "model.onnx", HERE / "weights.pt"
    export_onnx(model, onnx_path)
    torch.save(model.state_dict(), weights_path)
    measured = measure_backends(onnx_path.read_bytes(), model, x)
    with (HERE / "dataset.jsonl").open("w") as out:
        for c, code in zip(contracts, codes, strict=True):
            out.write(json.dumps({"family": c.family, "held_out": c.family in templates.HELD_OUT_FAMILIES,
                                  "features": c.features, "names": c.names, "optimize": c.optimize,
                                  "labels": c.labels, "code_bytes": len(code),
                                  "code_keccak256": "0x" + keccak(code).hex()}, sort_keys=True) + "\n")
    import vyper

    manifest = {
        "name": "risk",
        "description": "contract-risk scores of EVM runtime bytecode (MLP 777-64-5 on opcode and bigram counts): "
                       "overall risk (the highest label) and five risky patterns, trained on Vyper token variants compiled here",
        "artifact": {"file": "model.onnx", "keccak256": "0x" + keccak(onnx_path.read_bytes()).hex(),
                     "bytes": onnx_path.stat().st_size},
        "torch": {"file": "weights.pt", "keccak256": "0x" + keccak(weights_path.read_bytes()).hex(),
                  "module": "model.py", "class": "RiskMLP"},
        "runtime": {"onnx_opset": OPSET, "backends": ["onnxruntime", "torch"]},
        "features": {"extractor": "offchain.bytecode", "version": bytecode.VERSION, "dim": bytecode.DIM},
        "input": {
            "kind": "contract",
            "format": "json",
            "fields": ["address", "block", "chain_id", "code_hash"],
            "document": "compact JSON, keys sorted, address and code_hash lower-case 0x-hex (inputs.encode_contract)",
            "max_bytes": 256,
            "max_code_bytes": 24_576,
        },
        "output": {"name": "scores", "shape": [len(OUTPUTS)], "dtype": "float32", "labels": list(OUTPUTS)},
        "canonical_encoding": {"kind": "scores-uint256", "scale": SCALE, "labels": list(OUTPUTS)},
        "verification": {
            "policy": "tolerance", "metric": "max_abs", "bound": 1.5 / SCALE,
            "compare": "decoded scores (uint256 / scale) of the same code, element by element: one fixed-point "
                       "step (with room for float64 rounding of the difference), for a float that lands on a "
                       "rounding boundary",
            "measured": measured,
        },
        "evaluation": {
            "split": "by template family",
            "held_out_families": list(templates.HELD_OUT_FAMILIES),
            "held_out_contracts": int(held.sum()),
            "training_contracts": int((~held).sum()),
            "threshold": 0.5,
            "held_out": metrics(predicted[held], y[held]),
            "training": metrics(predicted[~held], y[~held]),
        },
        "dataset": {"file": "dataset.jsonl", "contracts": len(contracts), "families": list(templates.FAMILIES),
                    "labels": list(templates.LABELS), "seed": SEED, "compiler": f"vyper {vyper.__version__}",
                    "optimize": list(templates.OPTIMIZE)},
        "training": {"seed": SEED, "epochs": EPOCHS, "optimiser": "adam", "learning_rate": 1e-3,
                     "weight_decay": 1e-3, "batch": 32, "threads": 1,
                     "toolchain": {"torch": torch.__version__, "python": platform.python_version()}},
        "listing_threshold_bps": 5_000,
        "price_wei": 5 * 10**14,
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    ev = manifest["evaluation"]["held_out"]
    print(f"{len(contracts)} contracts, {int(held.sum())} held out; {time.monotonic() - started:.0f} s")
    for name in OUTPUTS:
        print(f"  {name:24s} precision {ev[name]['precision']}  recall {ev[name]['recall']}  "
              f"({ev[name]['positives']} of {ev[name]['of']})")
    print(f"backends: {json.dumps(measured)}")
    print(f"artifact {manifest['artifact']['keccak256']}")


if __name__ == "__main__":
    main()
