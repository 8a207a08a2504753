"""The InferenceMarket's request states, batch bound and claim capacity, in one place.

`RequestState` mirrors the contract's `REQUESTED` … `REFUNDED` constants
(`contracts/market/InferenceMarket.vy`); `MARKET_BATCH` is its `MAX_BATCH`;
`claim_lock` and `claim_room` are the stake a claim needs, as the contract
counts it. Worker, client, demos and tests read them from here.
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


def claim_lock(market, params=None) -> int:
    """Token wei of stake a claimed request locks until it is settled: max(miss_slash, challenge_slash)
    (`params`: the market's parameters when the caller has just read them)."""
    params = params or market.params()
    return max(params.miss_slash, params.challenge_slash)


def claim_room(market, workers, worker, params=None) -> int | None:
    """How many more requests `worker`'s stake lets it claim beside the market's locks for its requests in
    flight, as the contract counts it (it refuses the rest); None when a claim locks nothing."""
    lock = claim_lock(market, params)
    if lock == 0:
        return None
    stake, (_, held) = workers.stake_of(worker), market.exposure(worker)
    return (stake - min(stake, held)) // lock


def stake_for(market, workers, in_flight: int) -> int:
    """The stake a worker needs to hold `in_flight` requests claimed at once (at least the minimum)."""
    return max(workers.min_stake(), in_flight * claim_lock(market))
