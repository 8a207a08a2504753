# pragma version ~=0.4.3
"""
@title Owner-controlled token (risk-demo example)
@license MIT
@notice An ERC-20 whose owner can mint at will, pause every transfer and set
        a transfer fee paid to itself: the patterns the risk model flags. The
        risk demo's high-risk token. Do not use.
"""

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)
owner: public(address)
paused: public(bool)
fee_bps: public(uint256)
name: public(constant(String[16])) = "Rug Token"
symbol: public(constant(String[8])) = "RUG"
decimals: public(constant(uint8)) = 18


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256


event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


@deploy
def __init__(supply: uint256):
    self.owner = msg.sender
    self.fee_bps = 100
    self.balanceOf[msg.sender] = supply
    self.totalSupply = supply
    log Transfer(sender=empty(address), receiver=msg.sender, value=supply)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from the caller to `receiver`, less the fee.
    """
    self._move(msg.sender, receiver, amount)
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from `sender` to `receiver` within the caller's allowance, less the fee.
    """
    self.allowance[sender][msg.sender] -= amount
    self._move(sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Lets `spender` move up to `amount` of the caller's tokens.
    """
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint_to(receiver: address, amount: uint256):
    """
    @notice The owner creates tokens at will.
    """
    assert msg.sender == self.owner, "RiskyToken: caller is not the owner"
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@external
def set_paused(flag: bool):
    """
    @notice The owner stops or resumes every transfer.
    """
    assert msg.sender == self.owner, "RiskyToken: caller is not the owner"
    self.paused = flag


@external
def set_fee(bps: uint256):
    """
    @notice The owner sets the transfer fee it receives.
    """
    assert msg.sender == self.owner, "RiskyToken: caller is not the owner"
    self.fee_bps = bps


@internal
def _move(sender: address, receiver: address, amount: uint256):
    assert not self.paused, "RiskyToken: transfers are paused"
    fee: uint256 = amount * self.fee_bps // 10_000
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount - fee
    self.balanceOf[self.owner] += fee
    log Transfer(sender=sender, receiver=receiver, value=amount - fee)
