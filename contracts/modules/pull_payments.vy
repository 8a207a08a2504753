# pragma version ~=0.4.3
"""
@title Pull payments
@license MIT
@notice The one ledger of ETH a contract owes: `_credit` records a debt,
        its owner takes it with `withdraw` (or `withdraw_to` another
        address), and anyone sends the treasury's debt to the treasury with
        `sweep_treasury`. Used by InferenceMarket, PaymentChannels,
        TrainingFund and DataBounties; each exports the externals it needs
        (the commons contracts do not export `sweep_treasury`: they never
        credit the treasury).
@custom:security Checks, effects, then the transfer, under the contract's
        one reentrancy lock (Vyper 0.4's `@nonreentrant` is global per
        contract, so a payee cannot re-enter any `@nonreentrant` function of
        the contract that pays it). Reasons are prefixed `pull_payments:`,
        as snekmate's modules prefix theirs.
"""

# The treasury: the timelock of the contract that initializes this module.
treasury: immutable(address)

owed: public(HashMap[address, uint256])  # wei each account may withdraw


event Withdrawn:
    account: indexed(address)
    to: indexed(address)
    amount: uint256


@deploy
def __init__(treasury_: address):
    """
    @param treasury_ Where `sweep_treasury` sends the treasury's debt.
    """
    treasury = treasury_


@external
@nonreentrant
def withdraw() -> uint256:
    """
    @notice Sends the caller everything this contract owes it.
    @return The wei sent.
    """
    return self._pay(msg.sender, msg.sender)


@external
@nonreentrant
def withdraw_to(to: address) -> uint256:
    """
    @notice As `withdraw`, but sends to `to`: for an account (a contract
            wallet) that cannot take ETH itself.
    @param to The receiver of the caller's debt.
    @return The wei sent.
    """
    assert to != empty(address), "pull_payments: receiver is the zero address"
    return self._pay(msg.sender, to)


@external
@nonreentrant
def sweep_treasury() -> uint256:
    """
    @notice Sends the treasury's share to the treasury; callable by anyone.
    @return The wei sent.
    """
    return self._pay(treasury, treasury)


@internal
def _credit(account: address, amount: uint256):
    """
    @dev Adds `amount` to what `account` may withdraw.
    """
    self.owed[account] += amount


@internal
def _credit_treasury(amount: uint256):
    """
    @dev Adds `amount` to the treasury's debt.
    """
    self.owed[treasury] += amount


@internal
def _pay(account: address, to: address) -> uint256:
    amount: uint256 = self.owed[account]
    assert amount > 0, "pull_payments: nothing to withdraw"
    self.owed[account] = 0
    log Withdrawn(account=account, to=to, amount=amount)
    raw_call(to, b"", value=amount)
    return amount
