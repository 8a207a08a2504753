# pragma version ~=0.4.3
"""
@title Test helper: a contract that holds governance tokens
@license MIT
@notice Makes two transfers in one transaction (same timestamp) and, when
        armed, re-enters `withdraw_revenue` from its ETH receive hook.
"""

interface IToken:
    def transfer(to: address, amount: uint256) -> bool: nonpayable
    def withdraw_revenue() -> uint256: nonpayable


token: public(IToken)
reenter: public(bool)
received: public(uint256)


@deploy
def __init__(token_: IToken):
    self.token = token_


@external
def transfer_twice(to: address, amount: uint256):
    """
    @param to Receiver.
    @param amount Token wei per transfer.
    """
    extcall self.token.transfer(to, amount)
    extcall self.token.transfer(to, amount)


@external
def withdraw_revenue(reenter_: bool):
    """
    @notice Withdraws the token revenue this contract earned.
    @param reenter_ Whether the receive hook withdraws again.
    """
    self.reenter = reenter_
    extcall self.token.withdraw_revenue()


@external
@payable
def __default__():
    self.received += msg.value
    if self.reenter:
        self.reenter = False
        extcall self.token.withdraw_revenue()
