# pragma version ~=0.4.3
"""
@title Fee split
@license MIT
@notice How every payment for inference is divided and where each part
        goes, for the per-request market and the real-time channels alike.
        Governed basis points (`FeeSplit`, owned by the market's
        parameters) give the worker, the model's shareholders and the token
        holders their parts; the treasury gets the rest, so the four parts
        always add up to the payment exactly (rounding dust goes to the
        treasury). The shareholders' part is credited to ModelShares, the
        holders' part deposited as GovernanceToken revenue, and the
        treasury's part (like the worker's) is a pull payment that the
        user credits with the pull_payments module (this module stays free
        of `uses:` so that it compiles on its own).
@custom:security The routing makes the external calls (ModelShares,
        GovernanceToken) of the contract that uses it: call it after that
        contract's own state is settled, under its reentrancy lock.
"""

from ..interfaces import IModelShares
from ..interfaces import IRevenueToken


BPS: constant(uint256) = 10_000  # basis points in one


# The governed split: the one type both payment paths read it as.
struct FeeSplit:
    worker_bps: uint256
    shareholders_bps: uint256
    holders_bps: uint256


# One payment divided.
struct Split:
    worker: uint256
    shareholders: uint256
    holders: uint256
    treasury: uint256


shares: public(immutable(IModelShares))
token: public(immutable(IRevenueToken))


@deploy
def __init__(shares_: IModelShares, token_: IRevenueToken):
    """
    @param shares_ ModelShares (shareholder revenue).
    @param token_ GovernanceToken (holder revenue).
    """
    shares = shares_
    token = token_


@internal
@pure
def _split(amount: uint256, bps: FeeSplit) -> Split:
    worker: uint256 = amount * bps.worker_bps // BPS
    shareholders: uint256 = amount * bps.shareholders_bps // BPS
    holders: uint256 = amount * bps.holders_bps // BPS
    return Split(
        worker=worker, shareholders=shareholders, holders=holders, treasury=amount - worker - shareholders - holders
    )


@internal
@pure
def _is_valid(bps: FeeSplit) -> bool:
    return bps.worker_bps + bps.shareholders_bps + bps.holders_bps <= BPS


@internal
def _pay_shareholders(model_id: uint256, amount: uint256):
    """
    @dev Credits `amount` to the shareholders of `model_id` (a run of
         payments for one model, summed by the caller).
    """
    if amount > 0:
        extcall shares.credit_revenue(model_id, value=amount)


@internal
def _pay_holders(amount: uint256):
    """
    @dev Deposits the holders' part of a batch, summed by the caller: one
         deposit per batch.
    """
    if amount > 0:
        extcall token.deposit_revenue(value=amount)
