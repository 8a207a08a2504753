"""Fetching and parsing inference inputs: `data:` URIs, local files, http(s),
always with a size limit and a hash check. Anything wrong raises BadInput
with a reason a person can act on.

An http(s) input has an overall deadline as well as a byte budget: a socket
timeout alone bounds each read, and a host that trickles one byte every
second never trips it. `InputFetcher` runs http(s) fetches in a thread pool,
so one slow host holds up nobody else."""

from __future__ import annotations

import base64
import http.client
import json
import re
import ssl
import time
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from eth_utils import keccak

from offchain.errors import BadInput

INPUT_DEADLINE = 10.0  # seconds: the whole fetch of one http(s) input, connect to last byte
READ_CHUNK = 16_384  # bytes per read


def encode_pixels(pixels) -> bytes:
    """The canonical input document of a pixel-vector model: compact JSON."""
    return json.dumps({"pixels": [int(v) if float(v).is_integer() else float(v) for v in pixels]},
                      separators=(",", ":")).encode()


def encode_contract(chain_id: int, address: str, block: int, code_hash: bytes | str) -> bytes:
    """The canonical input document of a contract model: an on-chain reference that binds the
    exact runtime code. Compact JSON, keys sorted, address and code hash lower-case 0x-hex.
    `contracts/apps/TokenListing.vy` builds the same bytes on-chain."""
    if isinstance(code_hash, (bytes, bytearray)):
        code_hash = "0x" + bytes(code_hash).hex()
    return json.dumps({"address": str(address).lower(), "block": int(block), "chain_id": int(chain_id),
                       "code_hash": code_hash.lower()}, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class ContractRef:
    """A contract model's parsed input: whose code, on which chain, at which block, hashing to what."""

    chain_id: int
    address: str
    block: int
    code_hash: bytes


def contract_code(ref: ContractRef, chain_id: int, get_code, max_code_bytes: int) -> bytes:
    """The runtime code `ref` names, fetched with `get_code(address, block)` (the worker's own node),
    refused unless it is on this chain and hashes to the reference's code hash: nobody can swap
    the contract under the score."""
    if ref.chain_id != chain_id:
        raise BadInput(f"the input names chain {ref.chain_id}; this worker is on chain {chain_id}")
    code = bytes(get_code(ref.address, ref.block) or b"")
    if not code:
        raise BadInput(f"no code at {ref.address} at block {ref.block}")
    if len(code) > max_code_bytes:
        raise BadInput(f"code at {ref.address} is {len(code)} bytes; the model accepts at most {max_code_bytes}")
    if keccak(code) != ref.code_hash:
        raise BadInput(f"code at {ref.address} at block {ref.block} hashes to 0x{keccak(code).hex()}, the input "
                       f"says 0x{ref.code_hash.hex()}: refused")
    return code


def encode_image_seed(seed: int, digit: int) -> bytes:
    """The canonical input document of an image generator: {"digit":d,"seed":n}, compact, keys sorted
    (the same bytes the NFTMinter contract builds on-chain)."""
    return json.dumps({"digit": int(digit), "seed": int(seed)}, separators=(",", ":")).encode()


def encode_text(text: str) -> bytes:
    """The canonical input document of a text model: compact JSON, UTF-8 as is."""
    return json.dumps({"text": text}, separators=(",", ":"), ensure_ascii=False).encode()


MAX_INLINE_URI = 1_024  # the market's bound on an input URI


def data_uri(data: bytes) -> str:
    """The input inline: `data:` with percent-encoding (shorter than base64 for JSON)."""
    uri = "data:application/json," + urllib.parse.quote(data, safe=":,[]")
    if len(uri) > MAX_INLINE_URI:
        raise BadInput(f"input of {len(data)} bytes is too large to send inline: host it and pass its URL")
    return uri


def fetch(uri: str, expected_hash: bytes, max_bytes: int, file_root: Path | None = None, *,
          deadline_s: float = INPUT_DEADLINE) -> bytes:
    """The input bytes behind `uri`, checked against the request's input hash.

    An http(s) input must arrive whole, at most `max_bytes` of it, within `deadline_s`."""
    data = _read(uri, max_bytes, file_root, deadline_s)
    if len(data) > max_bytes:
        raise BadInput(f"input is over {max_bytes} bytes")
    if keccak(data) != bytes(expected_hash):
        raise BadInput(f"input hash mismatch: {uri[:60]} hashes to 0x{keccak(data).hex()}, "
                       f"the request says 0x{bytes(expected_hash).hex()}")
    return data


def _read(uri: str, max_bytes: int, file_root: Path | None, deadline_s: float) -> bytes:
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
        return _read_http(uri, max_bytes, deadline_s)
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


def _read_http(uri: str, max_bytes: int, deadline_s: float) -> bytes:
    """At most `max_bytes + 1` bytes of the body, all of it within `deadline_s` or BadInput.

    Every socket operation waits only for what is left of the deadline, and the
    deadline is checked after every read, so a trickling host is cut off on time.
    Redirects are not followed: the request names the URL its hash was made for."""
    deadline = time.monotonic() + deadline_s

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BadInput(f"input at {uri[:80]} did not arrive within {deadline_s:g} s")
        return remaining

    try:  # a malformed URL (bad IPv6 brackets, a port out of range) is bad input, not a crash
        parts = urllib.parse.urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"cannot fetch {uri[:80]}: {exc}") from exc
    if not parts.hostname:
        raise BadInput(f"cannot fetch {uri}: no host")
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, port, timeout=left(),
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=left())
    sock = response = None
    try:
        connection.request("GET", urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")))
        sock = connection.sock  # kept: the connection lets go of it once the response is read
        sock.settimeout(left())
        response = connection.getresponse()
        if response.status != 200:
            raise BadInput(f"cannot fetch {uri}: HTTP {response.status} {response.reason}")
        declared = response.getheader("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise BadInput(f"input is over {max_bytes} bytes (the host declares {declared})")
        body = bytearray()
        while len(body) <= max_bytes:
            sock.settimeout(left())
            chunk = response.read1(min(READ_CHUNK, max_bytes + 1 - len(body)))
            if not chunk:
                break
            body += chunk
            left()
        return bytes(body)
    except TimeoutError as exc:
        raise BadInput(f"input at {uri[:80]} did not arrive within {deadline_s:g} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise BadInput(f"cannot fetch {uri}: {exc}") from exc
    finally:  # hang up now, whatever happened: the response, not the connection, may hold the socket
        if response is not None:
            response.close()
        if sock is not None:
            sock.close()
        connection.close()


class InputFetcher:
    """Fetches http(s) inputs in the background, each under its own deadline and
    byte budget; `data:` and file inputs, which cannot stall, are read inline.

    `submit(key, ...)` starts a fetch (once per key); `result(key)` is the bytes,
    raises its BadInput, or is None while it is still on its way."""

    def __init__(self, threads: int = 8, deadline_s: float = INPUT_DEADLINE):
        self.deadline_s = deadline_s
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nc-input")
        self._futures: dict[object, Future] = {}

    def submit(self, key, uri: str, expected_hash: bytes, max_bytes: int, file_root: Path | None = None) -> Future:
        if key not in self._futures:
            if uri.startswith(("http://", "https://")):
                future = self._pool.submit(fetch, uri, expected_hash, max_bytes, file_root,
                                           deadline_s=self.deadline_s)
            else:
                future = Future()
                try:
                    future.set_result(fetch(uri, expected_hash, max_bytes, file_root))
                except BadInput as exc:
                    future.set_exception(exc)
            self._futures[key] = future
        return self._futures[key]

    def pending(self, key) -> bool:
        return key in self._futures and not self._futures[key].done()

    def result(self, key) -> bytes | None:
        """The fetched bytes, None while still fetching; raises the fetch's BadInput (once)."""
        future = self._futures.get(key)
        if future is None or not future.done():
            return None
        del self._futures[key]
        return future.result()

    def discard(self, key) -> None:
        """Forgets a fetch nobody needs any more (it still ends by its deadline)."""
        self._futures.pop(key, None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def parse(schema: dict, data: bytes) -> np.ndarray | str:
    """The model input array (or text, for a text model) from an input document, validated
    against the manifest's schema."""
    if len(data) > schema["max_bytes"]:
        raise BadInput(f"input is {len(data)} bytes; the model accepts at most {schema['max_bytes']}")
    if schema.get("kind") == "text":
        return parse_text(schema, data)
    if schema.get("kind") == "contract":
        return parse_contract(data)
    if schema.get("kind") == "image-seed":
        return parse_image_seed(data)
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


def parse_text(schema: dict, data: bytes) -> str:
    """A text model's input: a JSON object whose `field` is a non-empty string of at most
    `max_chars` characters (the runtime truncates it to `max_tokens` tokens)."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"input is not JSON: {exc}") from exc
    field = schema["field"]
    if not isinstance(document, dict) or not isinstance(document.get(field), str):
        raise BadInput(f"input must be a JSON object with a '{field}' string")
    text = document[field]
    if not text.strip():
        raise BadInput(f"'{field}' must not be empty")
    if len(text) > schema["max_chars"]:
        raise BadInput(f"'{field}' is {len(text)} characters; the model accepts at most {schema['max_chars']}")
    return text


_ADDRESS = re.compile(r"0x[0-9a-f]{40}")
_HASH = re.compile(r"0x[0-9a-f]{64}")


def parse_contract(data: bytes) -> ContractRef:
    """A contract model's input: exactly the canonical document of `encode_contract` (so one
    reference has one input hash)."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"input is not JSON: {exc}") from exc
    fields = ("address", "block", "chain_id", "code_hash")
    if not isinstance(document, dict) or sorted(document) != list(fields):
        raise BadInput(f"input must be a JSON object with exactly {', '.join(fields)}")
    address, block, chain_id, code_hash = (document[f] for f in fields)
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise BadInput("'address' must be a lower-case 0x-hex address")
    if not isinstance(code_hash, str) or not _HASH.fullmatch(code_hash):
        raise BadInput("'code_hash' must be a lower-case 0x-hex keccak256")
    for name, value in (("block", block), ("chain_id", chain_id)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadInput(f"'{name}' must be a non-negative integer")
    if encode_contract(chain_id, address, block, code_hash) != bytes(data):
        raise BadInput("input is not in canonical form (compact JSON, keys sorted)")
    return ContractRef(chain_id, address, block, bytes.fromhex(code_hash[2:]))


MAX_SEED = 2**256 - 1
DIGITS = 10


def parse_image_seed(data: bytes) -> dict:
    """An image generator's input: a JSON object with exactly `digit` (an integer 0..9) and
    `seed` (an integer 0..2**256-1)."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"input is not JSON: {exc}") from exc
    if not isinstance(document, dict) or set(document) != {"digit", "seed"}:
        raise BadInput("input must be a JSON object with exactly 'digit' and 'seed'")
    digit, seed = document["digit"], document["seed"]
    if not isinstance(digit, int) or isinstance(digit, bool) or not 0 <= digit < DIGITS:
        raise BadInput(f"'digit' must be an integer from 0 to {DIGITS - 1}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise BadInput("'seed' must be an integer from 0 to 2**256-1")
    return {"digit": digit, "seed": seed}
