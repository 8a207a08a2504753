"""The trainer: takes the head of the compute queue, fetches the accepted
contributions of the campaign's datasets (each verified against its
on-chain content hash), trains with PyTorch (GPU when present), exports
ONNX with a manifest, publishes the artifact to the model store and
delivers its hash. A worker then serves the new model like any other."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offchain import inputs
from offchain.errors import BadInput
from offchain.models import MODELS_DIR, ModelSpec, load_spec
from offchain.store import ContentStore

REWARDED = 5
MAX_CONTRIBUTION_BYTES = 8 * 1024 * 1024


def dataset_document(pixels: np.ndarray, labels: np.ndarray) -> bytes:
    """A data contribution: labelled 8x8 digits as compact JSON."""
    return json.dumps({"pixels": pixels.astype(int).tolist(), "labels": labels.astype(int).tolist()},
                      separators=(",", ":")).encode()


def _build_module(template: str = "digits"):
    """The template model's build script (architecture, training, export)."""
    folder = MODELS_DIR / template
    spec = importlib.util.spec_from_file_location(f"nc_build_{template}", folder / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


@dataclass
class Delivery:
    campaign_id: int
    spec: ModelSpec
    samples: int
    accuracy: float
    gas: dict[str, int]


class Trainer:
    def __init__(self, fund, bounties, account, store: ContentStore, workdir: Path, *, file_root: Path | None = None):
        self.fund = fund
        self.bounties = bounties
        self.account = account
        self.store = store
        self.workdir = Path(workdir)
        self.file_root = file_root

    def fetch_dataset(self, bounty_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Every rewarded contribution of a bounty, each checked against its content hash."""
        xs, ys = [], []
        for event in self.bounties.ContributionSubmitted.range(0, None, search_topics={"bounty_id": bounty_id}):
            if self.bounties.contributions(event.contribution_id).status != REWARDED:
                continue
            data = inputs.fetch(event.uri, bytes(event.content_hash), MAX_CONTRIBUTION_BYTES, self.file_root)
            document = json.loads(data)
            pixels = np.asarray(document["pixels"], dtype=np.float32)
            labels = np.asarray(document["labels"], dtype=np.int64)
            if pixels.ndim != 2 or pixels.shape[1] != 64 or len(labels) != len(pixels):
                raise BadInput(f"contribution {event.contribution_id} is not labelled 8x8 digits")
            xs.append(pixels)
            ys.append(labels)
        if not xs:
            raise BadInput(f"bounty {bounty_id} has no rewarded contributions")
        return np.concatenate(xs), np.concatenate(ys)

    def run(self) -> Delivery:
        """Claims the head of the queue, trains, publishes and delivers."""
        receipt = self.fund.claim_head(sender=self.account)
        campaign_id = receipt.decode_logs(self.fund.TrainingClaimed)[0].campaign_id
        parts = [self.fetch_dataset(b) for b in self.fund.datasets(campaign_id)]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        build = _build_module()
        model = build.train(x, y)
        _, x_test, _, y_test = build.held_out_split()
        accuracy = build.accuracy_of(model, x_test, y_test)
        folder = self.workdir / f"campaign-{campaign_id}"
        build.export(model, folder, accuracy, len(y_test), name=f"campaign-{campaign_id}",
                     description=f"digits classifier trained by crowdfunded campaign {campaign_id} on community data",
                     training={"samples": int(len(y)), "epochs": build.EPOCHS, "seed": build.SEED})
        spec = load_spec(folder)
        self.store.put(spec.artifact_path.read_bytes())  # published, content-addressed
        metrics = json.dumps({"held_out_accuracy": round(accuracy, 4), "samples": int(len(y))})
        delivered = self.fund.deliver(campaign_id, spec.artifact_hash, spec.manifest_hash, str(folder),
                                      "data:," + metrics, sender=self.account)
        gas = {"claim head of queue": receipt.gas_used, "deliver": delivered.gas_used}
        return Delivery(campaign_id, spec, int(len(y)), accuracy, gas)
