# pragma version ~=0.4.3
"""
@title Test helper: a hostile or clumsy contract
@license MIT
@notice Acts as a requester, shareholder or consumer. When armed, its ETH
        receive hook makes one call (to re-enter whoever paid it). As a
        consumer its callback succeeds, reverts or burns all its gas.
"""

CALLBACK_OK: constant(uint8) = 0
CALLBACK_REVERT: constant(uint8) = 1
CALLBACK_BURN_GAS: constant(uint8) = 2

reentry_target: public(address)
reentry_payload: public(Bytes[1_024])
armed: public(bool)
callback_mode: public(uint8)
callbacks_seen: public(uint256)


@external
def arm(target: address, payload: Bytes[1_024]):
    """
    @param target Called from the receive hooks.
    @param payload Its call data.
    """
    self.reentry_target = target
    self.reentry_payload = payload
    self.armed = True


@external
def set_callback_mode(mode: uint8):
    """
    @param mode How `on_inference_result` behaves.
    """
    self.callback_mode = mode


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
def act_twice(target: address, first: Bytes[1_024], second: Bytes[1_024]):
    """
    @notice Two calls in one transaction, hence in one block.
    @param target Called twice.
    @param first The first call's data.
    @param second The second call's data.
    """
    raw_call(target, first)
    raw_call(target, second)


@external
def on_inference_result(request_id: uint256, result_hash: bytes32, result: Bytes[1_024]):
    """
    @param request_id The request.
    @param result_hash The result hash.
    @param result The result.
    """
    if self.callback_mode == CALLBACK_REVERT:
        raise "MockActor: callback refuses"
    if self.callback_mode == CALLBACK_BURN_GAS:
        for i: uint256 in range(10**9):
            self.callbacks_seen += 1
    self.callbacks_seen += 1


@external
def onERC1155Received(operator: address, owner: address, id: uint256, amount: uint256, data: Bytes[1_024]) -> bytes4:
    """
    @param operator Who sent.
    @param owner Previous owner.
    @param id Token id.
    @param amount Amount.
    @param data Data.
    @return The acceptance selector.
    """
    return method_id("onERC1155Received(address,address,uint256,uint256,bytes)", output_type=bytes4)


@external
@payable
def __default__():
    if self.armed:
        self.armed = False
        raw_call(self.reentry_target, self.reentry_payload)
