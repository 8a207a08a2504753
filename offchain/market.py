"""The InferenceMarket's request states and batch bound, in one place.

`RequestState` mirrors the contract's `REQUESTED` … `REFUNDED` constants
(`contracts/market/InferenceMarket.vy`); `MARKET_BATCH` is its `MAX_BATCH`.
Worker, client, demos and tests read them from here.
"""

from __future__ import annotations

from enum import IntEnum


class RequestState(IntEnum):
    """A request's state as `get_request(...).state` reports it (0: no such request)."""

    NONE = 0
    REQUESTED = 1
    CLAIMED = 2
    FULFILLED = 3
    CHALLENGED = 4
    FINALIZED = 5
    REFUNDED = 6

    @property
    def delivered(self) -> bool:
        """A result was attested and is not (or no longer) disputed away."""
        return self in (RequestState.FULFILLED, RequestState.FINALIZED)


MARKET_BATCH = 100  # the market's MAX_BATCH: most requests one batched call takes
MAX_CALLBACK_GAS = 2_000_000  # the market's bound on a request's callback gas
OPEN_STATES = (RequestState.REQUESTED, RequestState.CLAIMED, RequestState.FULFILLED, RequestState.CHALLENGED)


def request_views(market, request_ids) -> dict[int, object]:
    """The chain's view of many requests, one `get_requests` call per
    `MARKET_BATCH` of them: one RPC round trip instead of one per request."""
    ids = [int(i) for i in request_ids]
    views: dict[int, object] = {}
    for start in range(0, len(ids), MARKET_BATCH):
        chunk = ids[start : start + MARKET_BATCH]
        views.update(zip(chunk, market.get_requests(chunk), strict=True))
    return views
