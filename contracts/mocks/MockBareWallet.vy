# pragma version ~=0.4.3
"""
@title Test helper: a contract wallet without the ERC-1155 receiver hook
@license MIT
@notice Makes calls on its owner's behalf, like a minimal multisig or smart
        account, but implements neither `onERC1155Received` nor
        `onERC1155BatchReceived`: a safe ERC-1155 transfer or mint to it
        reverts. It takes ETH unless told to refuse it.
"""

refusing_eth: public(bool)


@external
def set_refusing_eth(refusing: bool):
    """
    @param refusing Whether plain ETH transfers revert.
    """
    self.refusing_eth = refusing


@external
@payable
def act(target: address, payload: Bytes[1_024]) -> Bytes[256]:
    """
    @param target Called now.
    @param payload Its call data.
    @return What the call returned.
    """
    return raw_call(target, payload, value=msg.value, max_outsize=256)


@external
@payable
def __default__():
    assert not self.refusing_eth, "MockBareWallet: refuses ether"
