"""Model specs from `models/<name>/manifest.json`: one folder per model, no code per model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import keccak

from offchain.errors import ModelNotFound

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class ModelSpec:
    """A model's manifest and where its files lie."""

    name: str
    folder: Path
    manifest: dict = field(repr=False)
    manifest_hash: bytes = field(repr=False)  # keccak256 of manifest.json, as registered on-chain

    @property
    def artifact_path(self) -> Path:
        return self.folder / self.manifest["artifact"]["file"]

    @property
    def artifact_hash(self) -> bytes:
        return bytes.fromhex(self.manifest["artifact"]["keccak256"].removeprefix("0x"))

    @property
    def encoding(self) -> tuple[str, int]:
        enc = self.manifest["canonical_encoding"]
        return enc["kind"], int(enc["scale"])

    @property
    def input_schema(self) -> dict:
        return self.manifest["input"]


def load_spec(name_or_folder: str | Path, models_dir: Path = MODELS_DIR) -> ModelSpec:
    """`digits` (a folder under models/) or a path to a model folder."""
    folder = Path(name_or_folder)
    if not (folder / "manifest.json").exists():
        folder = models_dir / str(name_or_folder)
    path = folder / "manifest.json"
    if not path.exists():
        known = sorted(p.parent.name for p in models_dir.glob("*/manifest.json"))
        raise ModelNotFound(f"no model '{name_or_folder}': known models are {', '.join(known) or 'none'}")
    raw = path.read_bytes()
    manifest = json.loads(raw)
    return ModelSpec(name=manifest["name"], folder=folder, manifest=manifest, manifest_hash=keccak(raw))
