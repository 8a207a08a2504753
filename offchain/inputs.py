"""Fetching and parsing inference inputs: `data:` URIs, local files, http(s),
always with a size limit and a hash check. Anything wrong raises BadInput
with a reason a person can act on."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
from eth_utils import keccak

from offchain.errors import BadInput

HTTP_TIMEOUT = 10  # seconds


def encode_pixels(pixels) -> bytes:
    """The canonical input document of a pixel-vector model: compact JSON."""
    return json.dumps({"pixels": [int(v) if float(v).is_integer() else float(v) for v in pixels]},
                      separators=(",", ":")).encode()


MAX_INLINE_URI = 1_024  # the market's bound on an input URI


def data_uri(data: bytes) -> str:
    """The input inline: `data:` with percent-encoding (shorter than base64 for JSON)."""
    uri = "data:application/json," + urllib.parse.quote(data, safe=":,[]")
    if len(uri) > MAX_INLINE_URI:
        raise BadInput(f"input of {len(data)} bytes is too large to send inline: host it and pass its URL")
    return uri


def fetch(uri: str, expected_hash: bytes, max_bytes: int, file_root: Path | None = None) -> bytes:
    """The input bytes behind `uri`, checked against the request's input hash."""
    data = _read(uri, max_bytes, file_root)
    if len(data) > max_bytes:
        raise BadInput(f"input is over {max_bytes} bytes")
    if keccak(data) != bytes(expected_hash):
        raise BadInput(f"input hash mismatch: {uri[:60]} hashes to 0x{keccak(data).hex()}, "
                       f"the request says 0x{bytes(expected_hash).hex()}")
    return data


def _read(uri: str, max_bytes: int, file_root: Path | None) -> bytes:
    if uri.startswith("data:"):
        header, _, payload = uri.partition(",")
        if len(payload) > 2 * max_bytes + 16:
            raise BadInput(f"input is over {max_bytes} bytes")
        try:
            return base64.b64decode(payload, validate=True) if header.endswith(";base64") else \
                urllib.parse.unquote_to_bytes(payload)
        except ValueError as exc:
            raise BadInput(f"malformed data URI: {exc}") from exc
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri, timeout=HTTP_TIMEOUT) as response:
                return response.read(max_bytes + 1)
        except OSError as exc:
            raise BadInput(f"cannot fetch {uri}: {exc}") from exc
    path_text = uri.removeprefix("file://")
    if file_root is None:
        raise BadInput(f"file inputs are disabled on this worker: {uri}")
    path = (file_root / path_text).resolve() if not Path(path_text).is_absolute() else Path(path_text).resolve()
    if not path.is_relative_to(file_root.resolve()):
        raise BadInput(f"{uri} is outside the worker's input folder")
    try:
        with path.open("rb") as handle:
            return handle.read(max_bytes + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {uri}: {exc}") from exc


def parse(schema: dict, data: bytes) -> np.ndarray:
    """The model input array from an input document, validated against the manifest's schema."""
    if len(data) > schema["max_bytes"]:
        raise BadInput(f"input is {len(data)} bytes; the model accepts at most {schema['max_bytes']}")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"input is not JSON: {exc}") from exc
    field = schema["field"]
    if not isinstance(document, dict) or field not in document:
        raise BadInput(f"input must be a JSON object with a '{field}' list")
    values = document[field]
    (size,) = schema["shape"]
    if not isinstance(values, list) or len(values) != size:
        got = len(values) if isinstance(values, list) else type(values).__name__
        raise BadInput(f"'{field}' must hold {size} numbers, got {got}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise BadInput(f"'{field}' values must be numbers")
    array = np.asarray(values, dtype=schema["dtype"])
    if not np.isfinite(array).all() or array.min() < schema["min"] or array.max() > schema["max"]:
        raise BadInput(f"'{field}' values must lie in [{schema['min']}, {schema['max']}]")
    return array
