"""A content-addressed store of model artifacts and results, keyed by keccak256.

Bytes go in under the hash of what they are, and come out only if they
still hash to it: a tampered artifact is refused with a clear error rather
than run.
"""

from __future__ import annotations

from pathlib import Path

from eth_utils import keccak

from offchain.errors import ArtifactMismatch, ModelNotFound


def hex_hash(data: bytes) -> str:
    return "0x" + keccak(data).hex()


def normalise(digest: bytes | str) -> str:
    text = digest.hex() if isinstance(digest, (bytes, bytearray)) else str(digest)
    text = text.lower().removeprefix("0x")
    if len(text) != 64:
        raise ArtifactMismatch(f"'{digest}' is not a keccak256 hash")
    return "0x" + text


class ContentStore:
    """Files named by their keccak256 under one folder."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: bytes | str) -> Path:
        return self.root / normalise(digest)

    def put(self, data: bytes) -> str:
        digest = hex_hash(data)
        path = self.path(digest)
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a reader never sees half a file
        return digest

    def has(self, digest: bytes | str) -> bool:
        return self.path(digest).exists()

    def get(self, digest: bytes | str) -> bytes:
        """The bytes stored under `digest`, verified."""
        path = self.path(digest)
        if not path.exists():
            raise ModelNotFound(f"nothing stored under {normalise(digest)} in {self.root}")
        return verified(path.read_bytes(), digest, what=str(path))


def verified(data: bytes, expected: bytes | str, *, what: str) -> bytes:
    """Returns `data` if its keccak256 is `expected`, else raises ArtifactMismatch."""
    actual = hex_hash(data)
    if actual != normalise(expected):
        raise ArtifactMismatch(
            f"{what}: keccak256 is {actual}, expected {normalise(expected)}; refusing to use these bytes"
        )
    return data
