"""The trainer: fetches and checks the accepted contributions of the
campaign at the head of the compute queue (each verified against its
on-chain content hash and parsed) *before* claiming it, then claims, trains
with PyTorch (GPU when present), exports ONNX with a manifest, publishes the
artifact to the model store and delivers its hash. A worker then serves the
new model like any other.

A claimed training that fails is not left without a way out: the trainer
may retry it (`run(resume=ID)`) until its delivery deadline, and after the
deadline anyone reports the miss (`report_missed`), which returns the
campaign to the queue and costs the trainer the miss penalty. The contract
has no earlier release."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np

from offchain import inputs
from offchain.errors import BadInput, NeuralCommonsError
from offchain.models import MODELS_DIR, ModelSpec, load_spec
from offchain.store import ContentStore



class CampaignState(IntEnum):
    """A TrainingFund campaign's state (the contract's FUNDING … ACCEPTED constants)."""

    FUNDING = 1
    FAILED = 2  # refundable
    QUEUED = 3
    TRAINING = 4
    DELIVERED = 5
    ACCEPTED = 6


REWARDED = 5  # DataBounties contribution status: reward minted, part of the dataset
MAX_CONTRIBUTION_BYTES = 8 * 1024 * 1024
CONTRIBUTION_DEADLINE = 120.0  # seconds to fetch one http(s) contribution, whole


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


class TrainingStuck(NeuralCommonsError):
    """A claimed training that failed: the message says how to retry or end the claim."""


def parse_contribution(contribution_id: int, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The pixels and labels of a contribution document, or BadInput saying what is wrong."""
    try:
        document = json.loads(data)
        pixels = np.asarray(document["pixels"], dtype=np.float32)
        labels = np.asarray(document["labels"], dtype=np.int64)
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"contribution {contribution_id} is not a labelled-digits document "
                       f"({type(exc).__name__}: {str(exc)[:80]})") from exc
    if pixels.ndim != 2 or pixels.shape[1] != 64 or labels.ndim != 1 or len(labels) != len(pixels):
        raise BadInput(f"contribution {contribution_id} is not labelled 8x8 digits")
    if not np.isfinite(pixels).all() or len(labels) == 0 or labels.min() < 0 or labels.max() > 9:
        raise BadInput(f"contribution {contribution_id} has pixels that are not finite or labels outside 0-9")
    return pixels, labels


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
            data = inputs.fetch(event.uri, bytes(event.content_hash), MAX_CONTRIBUTION_BYTES, self.file_root,
                                deadline_s=CONTRIBUTION_DEADLINE)
            pixels, labels = parse_contribution(event.contribution_id, data)
            xs.append(pixels)
            ys.append(labels)
        if not xs:
            raise BadInput(f"bounty {bounty_id} has no rewarded contributions")
        return np.concatenate(xs), np.concatenate(ys)

    def fetch_campaign_data(self, campaign_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Every dataset of a campaign, fetched, verified and parsed, or BadInput."""
        parts = [self.fetch_dataset(b) for b in self.fund.datasets(campaign_id)]
        if not parts:
            raise BadInput(f"campaign {campaign_id} names no dataset")
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def run(self, resume: int | None = None) -> Delivery:
        """Claims the first campaign of the queue whose data can be used (the head, unless no trainer can
        serve it: then the next, so that one campaign cannot stop the queue), trains, publishes and delivers.

        With `resume`, retries a training this account has already claimed instead.
        Data that cannot be used is refused before anything is claimed; a failure after
        the claim raises TrainingStuck, which says how the claim ends."""
        gas = {}
        if resume is None:
            queue = list(self.fund.queue())
            if not queue:
                raise NeuralCommonsError("the compute queue is empty: nothing to train")
            refused = []
            for candidate in queue:
                if self.fund.missed_by(candidate, self.account.address):
                    refused.append(f"campaign {candidate} not claimed: this trainer missed it before")
                    continue
                try:
                    x, y = self.fetch_campaign_data(candidate)
                    break
                except BadInput as exc:
                    refused.append(f"campaign {candidate} not claimed: its data cannot be used: {exc}")
            else:
                raise BadInput("; ".join(refused))
            from ape.exceptions import ContractLogicError

            # By id, not `claim_head`: had the queue moved since the check, the head would be a campaign whose
            # data was never checked (a claim that could only end in a miss).
            try:
                receipt = self.fund.claim(candidate, sender=self.account)
            except ContractLogicError as exc:
                raise NeuralCommonsError(f"campaign {candidate} not claimed: {exc}") from exc
            gas["claim a queued campaign" if candidate == queue[0] else
                "claim a campaign behind an unusable head"] = receipt.gas_used
            campaign_id = candidate
        else:
            campaign_id = resume
            c = self.fund.campaigns(campaign_id)
            if c.state != CampaignState.TRAINING or c.trainer != self.account.address:
                raise NeuralCommonsError(f"campaign {campaign_id} is not a training claimed by {self.account.address}")
            x, y = self._after_claim(campaign_id, self.fetch_campaign_data, campaign_id)
        return self._after_claim(campaign_id, self._train_and_deliver, campaign_id, x, y, gas)

    def _after_claim(self, campaign_id: int, step, *args):
        """Runs one step of a claimed training; any failure becomes TrainingStuck with the way out."""
        try:
            return step(*args)
        except Exception as exc:  # noqa: BLE001 (whatever broke, the claim needs its exit)
            c = self.fund.campaigns(campaign_id)
            raise TrainingStuck(
                f"campaign {campaign_id} is claimed but not delivered: {type(exc).__name__}: {exc}. "
                f"Retry with `ape run campaign train --resume {campaign_id}` until the delivery deadline "
                f"(timestamp {c.delivery_deadline}), or give it up now with `ape run campaign release "
                f"{campaign_id}`; after the deadline anyone runs `ape run campaign miss {campaign_id}`. Both return "
                f"the campaign to the queue and take the trainer's miss penalty, locked since the claim "
                f"({self.fund.policy().miss_slash / 10**18:g} NCOM)"
            ) from exc

    def report_missed(self, campaign_id: int):
        """After a missed delivery deadline: returns the campaign to the queue (anyone may call)."""
        return self.fund.report_missed(campaign_id, sender=self.account)

    def _train_and_deliver(self, campaign_id: int, x: np.ndarray, y: np.ndarray, gas: dict) -> Delivery:
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
        gas["deliver"] = delivered.gas_used
        return Delivery(campaign_id, spec, int(len(y)), accuracy, gas)
