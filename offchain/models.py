"""Model specs from `models/<name>/manifest.json`: one folder per model, no code per model.

A model's artifact either lies in its folder (digits: small, committed) or is
built from an installed package by the folder's `build.py` (minilm: the
manifest's `artifact.build`; ~90 MB, not committed). `read_artifact` returns
the bytes either way; the caller checks them against the registered hash."""

from __future__ import annotations

import importlib.util
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
    def result_size(self) -> int:
        """Bytes of each canonical result (what a callback request must receive on-chain)."""
        from offchain import canonical

        return canonical.result_size(*self.encoding, self.manifest["output"]["shape"])

    @property
    def input_schema(self) -> dict:
        return self.manifest["input"]

    @property
    def input_kind(self) -> str:
        """`text` (a JSON {"text": ...} document, tokenized by the runtime) or `vector` (numbers)."""
        return self.manifest["input"].get("kind", "vector")

    @property
    def verification(self) -> dict:
        """How a result is checked: `{"policy": "exact"}` (the canonical bytes' hash) unless the
        manifest declares a tolerance policy (metric and bound on the decoded output)."""
        return self.manifest.get("verification", {"policy": "exact"})

    @property
    def built(self) -> bool:
        """Whether the artifact is built from a package on first use rather than committed."""
        return "build" in self.manifest["artifact"] and not self.artifact_path.exists()

    def read_artifact(self) -> bytes:
        """The artifact's bytes: the committed file, or the package build's cached output (built
        now if absent; the build refuses a result whose hash is not the manifest's)."""
        if self.artifact_path.exists() or "build" not in self.manifest["artifact"]:
            return self.artifact_path.read_bytes()
        return self.build_module().ensure_artifact(self.manifest["artifact"]["keccak256"]).read_bytes()

    def build_module(self):
        """The folder's build.py as a module (for `ensure_artifact`, `package_zip`)."""
        path = self.folder / "build.py"
        module_spec = importlib.util.spec_from_file_location(f"nc_build_{self.name}", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        return module


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


def all_specs(models_dir: Path = MODELS_DIR) -> list[ModelSpec]:
    """Every model with a manifest under `models_dir`, by name."""
    return [load_spec(path.parent, models_dir) for path in sorted(models_dir.glob("*/manifest.json"))]
