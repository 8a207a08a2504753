# pragma version ~=0.4.3
"""
@title Example on-chain consumer: records predicted classes
@license MIT
@notice A contract that buys inferences and acts on them on-chain. It
        requests through the market with a callback; at finalization the
        market delivers the canonical result, whose first 32 bytes are the
        predicted class index (the `class-index` canonical encoding of the
        classifier models), and this contract records it.
"""

from ..interfaces import IInferenceMarket


market: public(immutable(IInferenceMarket))
owner: public(immutable(address))

predicted_class: public(HashMap[uint256, uint256])
has_prediction: public(HashMap[uint256, bool])
result_hash: public(HashMap[uint256, bytes32])


event Withdrawn:
    to: indexed(address)
    amount: uint256


event PredictionRecorded:
    request_id: indexed(uint256)
    predicted_class: uint256
    result_hash: bytes32


@deploy
def __init__(market_: IInferenceMarket):
    market = market_
    owner = msg.sender


@external
@payable
def request(model_id: uint256, input_hash: bytes32, input_uri: String[256], deadline: uint256, callback_gas_limit: uint256) -> uint256:
    """
    @notice Pays for an inference whose result comes back to `on_inference_result`.
    @param model_id The classifier.
    @param input_hash keccak256 of the canonical input.
    @param input_uri Where the input is.
    @param deadline Last timestamp for fulfillment.
    @param callback_gas_limit Gas the market gives `on_inference_result`.
    @return The request id.
    """
    assert msg.sender == owner, "PredictionConsumer: caller is not the owner"
    return extcall market.request_inference_with_callback(
        model_id, input_hash, input_uri, deadline, callback_gas_limit, value=msg.value
    )


@external
def on_inference_result(request_id: uint256, result_hash_: bytes32, result: Bytes[1_024]):
    """
    @notice Called by the market at finalization with the canonical result.
    @param request_id The request.
    @param result_hash_ keccak256 of the canonical result.
    @param result The canonical result.
    """
    assert msg.sender == market.address, "PredictionConsumer: caller is not the market"
    assert len(result) >= 32, "PredictionConsumer: result too short"
    predicted: uint256 = convert(slice(result, 0, 32), uint256)
    self.predicted_class[request_id] = predicted
    self.has_prediction[request_id] = True
    self.result_hash[request_id] = result_hash_
    log PredictionRecorded(request_id=request_id, predicted_class=predicted, result_hash=result_hash_)


@external
@nonreentrant
def withdraw(to: address) -> uint256:
    """
    @notice The owner collects this contract's ETH: what the market owes it
            (refunds of requests that missed their deadline or lost a
            challenge, with their prepaid callback gas; the market credits
            its requester, this contract) and the excess a request returned.
    @param to Who receives it.
    @return The wei sent.
    """
    assert msg.sender == owner, "PredictionConsumer: caller is not the owner"
    assert to != empty(address), "PredictionConsumer: recipient is the zero address"
    if staticcall market.owed(self) > 0:
        extcall market.withdraw()
    amount: uint256 = self.balance
    assert amount > 0, "PredictionConsumer: nothing to withdraw"
    log Withdrawn(to=to, amount=amount)
    raw_call(to, b"", value=amount)  # all the gas: `to` may be a contract wallet
    return amount


@external
@payable
def __default__():
    # Accepts the excess a request returns and refunds withdrawn from the market
    # (`withdraw` passes both on to the owner's choice).
    pass
