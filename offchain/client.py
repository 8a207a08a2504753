"""The app builder's SDK: quote, request, wait, fetch, verify."""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass

from eth_utils import keccak

from offchain import canonical, inputs
from offchain.errors import BadInput, RequestRefunded, RequestTimedOut, ResultMismatch, ResultUnavailable
from offchain.market import MARKET_BATCH, RequestState, request_views
from offchain.models import ModelSpec

__all__ = ["MARKET_BATCH", "InferenceClient", "VerifiedResult", "request_views"]  # re-exported for older imports

MAX_RESULT_BYTES = 1 << 20  # a result larger than this is not fetched
MAX_BATCH_INPUT_URI = 256  # the market's MAX_BATCH_INPUT_URI: bytes of each input URI of a batched request


@dataclass
class VerifiedResult:
    request_id: int
    result: bytes
    result_hash: bytes
    decoded: dict


class InferenceClient:
    """Pays for inferences on the market and checks what comes back."""

    def __init__(self, market, account):
        self.market = market
        self.account = account
        self.gas_used = 0  # by this client's transactions

    def quote(self, model_id: int) -> int:
        """Wei a request for `model_id` costs now."""
        return self.market.quote(model_id)

    def request(self, model_id: int, input_bytes: bytes, *, input_uri: str | None = None, ttl: int = 600,
                value: int | None = None) -> int:
        """Pays for one inference on `input_bytes` (sent inline as a data: URI unless a URI is given);
        `value` is the price to send (quoted now unless given: a caller sending many quotes once)."""
        from ape import chain

        receipt = self.market.request_inference(
            model_id,
            keccak(input_bytes),
            input_uri or inputs.data_uri(input_bytes),
            chain.pending_timestamp + ttl,
            sender=self.account,
            value=self.quote(model_id) if value is None else value,
        )
        self.gas_used += receipt.gas_used
        return receipt.decode_logs(self.market.InferenceRequested)[0].request_id

    def request_many(self, model_id: int, documents, *, input_uris=None, ttl: int = 600,
                     value_each: int | None = None) -> list[int]:
        """Pays for one inference per input document with `request_inference_batch`: one transaction
        per `MARKET_BATCH` inputs, one payment for each transaction (the excess comes back), the same
        deadline for all. Each input goes inline as a data: URI unless `input_uris` gives its URI
        (a batch bounds each URI at `MAX_BATCH_INPUT_URI` bytes: host a larger input, or `request` it).
        Returns the request ids in input order."""
        from ape import chain

        documents = list(documents)
        uris = [inputs.data_uri(d) for d in documents] if input_uris is None else list(input_uris)
        if len(uris) != len(documents):
            raise BadInput(f"{len(documents)} inputs but {len(uris)} input URIs")
        for uri in uris:
            if len(uri.encode()) > MAX_BATCH_INPUT_URI:
                raise BadInput(f"an input URI of {len(uri.encode())} bytes is above the batch bound of "
                               f"{MAX_BATCH_INPUT_URI}: host the input and pass its URL, or request it alone")
        price = self.quote(model_id) if value_each is None else value_each
        deadline = chain.pending_timestamp + ttl
        ids: list[int] = []
        for start in range(0, len(documents), MARKET_BATCH):
            chunk = documents[start : start + MARKET_BATCH]
            receipt = self.market.request_inference_batch(
                model_id, [keccak(d) for d in chunk], uris[start : start + MARKET_BATCH], deadline,
                sender=self.account, value=price * len(chunk))
            self.gas_used += receipt.gas_used
            ids.extend(log.request_id for log in receipt.decode_logs(self.market.InferenceRequested))
        return ids

    def wait(self, request_id: int, *, timeout: float = 120, poll: float = 1.0):
        """Blocks until the request is fulfilled (or settled); returns its chain view.

        Raises `RequestRefunded` when it ended refunded, `RequestTimedOut` when `timeout`
        seconds pass first."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.market.get_request(request_id)
            if RequestState(view.state).delivered:
                return view
            if view.state == RequestState.REFUNDED:
                raise RequestRefunded(request_id, view.state)
            if time.monotonic() > deadline:
                raise RequestTimedOut(request_id, timeout)
            time.sleep(poll)

    def result_uri(self, request_id: int) -> str:
        for event in self.market.InferenceFulfilled.range(0, None, search_topics={"request_id": request_id}):
            return event.result_uri
        raise ResultUnavailable(f"request {request_id} has no fulfilment on this chain")

    def result_uris(self, request_ids) -> dict[int, str]:
        """The result URI of each fulfilled request among `request_ids`, from one log query (where
        `result_uri` makes one per request, each over the whole chain)."""
        wanted = {int(i) for i in request_ids}
        uris: dict[int, str] = {}
        for event in self.market.InferenceFulfilled.range(0, None):
            if event.request_id in wanted and event.request_id not in uris:
                uris[event.request_id] = event.result_uri
        return uris

    def fetch_all(self, request_ids, spec: ModelSpec) -> dict[int, VerifiedResult]:
        """`fetch` for many requests: one log query for their URIs and one batched read of their on-chain
        hashes, then each result downloaded and checked. Raises like `fetch` on the first that fails."""
        ids = [int(i) for i in request_ids]
        uris = self.result_uris(ids)
        views = request_views(self.market, ids)
        results = {}
        for request_id in ids:
            if request_id not in uris:
                raise ResultUnavailable(f"request {request_id} has no fulfilment on this chain")
            results[request_id] = self.fetch(request_id, spec, uri=uris[request_id],
                                             onchain_hash=bytes(views[request_id].hash))
        return results

    def fetch(self, request_id: int, spec: ModelSpec, *, uri: str | None = None,
              onchain_hash: bytes | None = None) -> VerifiedResult:
        """Downloads the full result from the worker and checks it against the on-chain hash (read here
        unless given, with the URI)."""
        onchain = onchain_hash if onchain_hash is not None else bytes(self.market.get_request(request_id).hash)
        uri = uri or self.result_uri(request_id)
        try:
            with urllib.request.urlopen(uri, timeout=10) as response:
                data = response.read(MAX_RESULT_BYTES + 1)
        except OSError as exc:
            raise ResultUnavailable(f"cannot fetch the result of request {request_id} from {uri}: {exc}") from exc
        return self.verify(request_id, data, onchain, spec)

    @staticmethod
    def verify(request_id: int, data: bytes, onchain_hash: bytes, spec: ModelSpec) -> VerifiedResult:
        if keccak(data) != onchain_hash:
            raise ResultMismatch(
                f"result of request {request_id} hashes to 0x{keccak(data).hex()}, "
                f"but the worker attested 0x{onchain_hash.hex()} on-chain"
            )
        kind, scale = spec.encoding
        return VerifiedResult(request_id, data, onchain_hash, canonical.decode(kind, scale, data))
