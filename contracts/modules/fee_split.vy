# pragma version ~=0.4.3
"""
@title Fee split
@notice How every payment for inference is divided: governed basis points
        for the worker, the model's shareholders and the token holders; the
        treasury gets the rest, so the four parts always add up to the
        payment exactly (rounding dust goes to the treasury). Shared by the
        per-request market and the real-time channels.
"""

BPS: constant(uint256) = 10_000  # basis points in one


struct Split:
    worker: uint256
    shareholders: uint256
    holders: uint256
    treasury: uint256


@internal
@pure
def _split(amount: uint256, worker_bps: uint256, shareholders_bps: uint256, holders_bps: uint256) -> Split:
    worker: uint256 = amount * worker_bps // BPS
    shareholders: uint256 = amount * shareholders_bps // BPS
    holders: uint256 = amount * holders_bps // BPS
    return Split(
        worker=worker, shareholders=shareholders, holders=holders, treasury=amount - worker - shareholders - holders
    )


@internal
@pure
def _check_bps(worker_bps: uint256, shareholders_bps: uint256, holders_bps: uint256) -> bool:
    return worker_bps + shareholders_bps + holders_bps <= BPS
