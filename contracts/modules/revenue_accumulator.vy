# pragma version ~=0.4.3
"""
@title Revenue accumulator
@license MIT
@notice Pro-rata ETH revenue for holders of a balance, per revenue stream
        `id`, through a running per-unit accumulator: no epochs, no loops
        over holders, exact across balance changes as long as the owner
        module settles an account before changing its eligible balance.

        Used by GovernanceToken (one stream, id 0) and ModelShares (one
        stream per model id). Settled revenue (`owed`) is kept per account
        across streams, since ETH is the same whatever stream it came from.
@custom:security Rounding is always down: the contract holding the ETH keeps
        the dust; holders can never withdraw more than was deposited.
"""

PRECISION: constant(uint256) = 10**36  # scale of revenue_per_unit


revenue_per_unit: public(HashMap[uint256, uint256])  # wei per unit of stream `id`, scaled by PRECISION
_paid_per_unit: HashMap[uint256, HashMap[address, uint256]]
owed: HashMap[address, uint256]  # settled, not yet withdrawn, all streams


@deploy
def __init__():
    pass


@internal
def _distribute(id: uint256, amount: uint256, eligible_supply: uint256) -> uint256:
    """
    @dev Spreads `amount` over `eligible_supply` units. The caller makes
         sure `eligible_supply > 0`. Returns the new per-unit value.
    """
    per_unit: uint256 = self.revenue_per_unit[id] + amount * PRECISION // eligible_supply
    self.revenue_per_unit[id] = per_unit
    return per_unit


@internal
@view
def _pending(id: uint256, account: address, eligible_balance: uint256) -> uint256:
    return eligible_balance * (self.revenue_per_unit[id] - self._paid_per_unit[id][account]) // PRECISION


@internal
def _settle(id: uint256, account: address, eligible_balance: uint256):
    """
    @dev Moves what `account` earned on `eligible_balance` into `owed`.
         Call before every change of the account's eligible balance.
    """
    per_unit: uint256 = self.revenue_per_unit[id]
    paid: uint256 = self._paid_per_unit[id][account]
    if paid == per_unit:
        return
    pending: uint256 = eligible_balance * (per_unit - paid) // PRECISION
    if pending > 0:
        self.owed[account] += pending
    self._paid_per_unit[id][account] = per_unit


@internal
def _take_owed(account: address) -> uint256:
    """
    @dev Zeroes and returns the account's settled revenue; the caller pays it.
    """
    amount: uint256 = self.owed[account]
    self.owed[account] = 0
    return amount
