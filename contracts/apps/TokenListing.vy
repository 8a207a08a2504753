# pragma version ~=0.4.3
"""
@title Token listing registry gated by a contract-risk score
@license MIT
@notice Lists a token only if the contract-risk model (models/risk) scores its
        runtime code below a governed threshold. Anyone applies for a token and
        pays; this contract builds the model's input itself, on-chain: the
        canonical JSON reference {address, block, chain_id, code_hash} of the
        token's code at this block (EXTCODEHASH), so the score it receives is
        the score of exactly that code: a worker refuses an input whose code
        at that block hashes otherwise, and the applicant cannot choose the
        input. The request goes through the InferenceMarket with a callback;
        at finalization `on_inference_result` reads the overall score (the
        first uint256 word of the `scores-uint256` result, in basis points)
        and lists or rejects. A token whose code changed between application
        and result (a metamorphic contract) is rejected whatever its score.
        An application whose request was refunded (no worker in time, or a
        challenge the worker lost) or whose callback failed is released with
        `release`, and the applicant withdraws what was refunded.
@custom:security The owner (governance, in a deployment: the Timelock) sets
        the threshold and the model id and may delist; it cannot list a token
        by itself. Payments out are pulled (`withdraw`).
"""

from snekmate.auth import ownable

from ..modules import pull_payments

initializes: ownable
initializes: pull_payments

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    pull_payments.owed,
    pull_payments.withdraw,
    pull_payments.withdraw_to,
)
# Not exported: ownable.renounce_ownership (the threshold must stay governed),
# pull_payments.sweep_treasury (this contract never credits the treasury).


struct RequestView:
    requester: address
    model_id: uint256
    deadline: uint256
    state: uint256
    has_callback: bool
    stamp: uint256
    worker: address
    payment: uint256
    hash: bytes32


interface IMarket:
    def quote(model_id: uint256, callback_gas_limit: uint256) -> uint256: view
    def request_inference_with_callback(model_id: uint256, input_hash: bytes32, input_uri: String[1024], deadline: uint256, callback_gas_limit: uint256) -> uint256: payable
    def get_request(request_id: uint256) -> RequestView: view
    def refund(request_id: uint256): nonpayable
    def owed(account: address) -> uint256: view
    def withdraw() -> uint256: nonpayable


SCALE: constant(uint256) = 10_000  # basis points: the model's fixed-point scale
CALLBACK_GAS: constant(uint256) = 120_000  # gas the market gives `on_inference_result`
REQUEST_TTL: constant(uint256) = 3_600  # seconds a worker has to serve an application
MAX_RESULT: constant(uint256) = 1_024  # bytes (InferenceMarket.MAX_RESULT)
STATE_MASK: constant(uint256) = 127  # RequestView.state without the callback flag
REQUESTED: constant(uint256) = 1
CLAIMED: constant(uint256) = 2
FINALIZED: constant(uint256) = 5
REFUNDED: constant(uint256) = 6


struct Application:
    token: address
    applicant: address
    code_hash: bytes32
    block_number: uint256
    paid: uint256  # wei sent to the market: what a refund returns


market: public(immutable(IMarket))
model_id: public(uint256)
threshold_bps: public(uint256)  # a token is listed if its risk score is strictly below this

applications: public(HashMap[uint256, Application])  # request id -> the application it reviews
pending_request: public(HashMap[address, uint256])  # token -> its open request id (0: none)
listed: public(HashMap[address, bool])
score_of: public(HashMap[address, uint256])  # the token's last score, basis points
scored: public(HashMap[address, bool])


event ListingRequested:
    request_id: indexed(uint256)
    token: indexed(address)
    applicant: indexed(address)
    code_hash: bytes32
    block_number: uint256
    paid: uint256


event TokenListed:
    token: indexed(address)
    request_id: indexed(uint256)
    score: uint256
    threshold: uint256


event TokenRejected:
    token: indexed(address)
    request_id: indexed(uint256)
    score: uint256
    threshold: uint256
    code_changed: bool


event ApplicationReleased:
    request_id: indexed(uint256)
    token: indexed(address)
    applicant: indexed(address)
    refunded: uint256


event TokenDelisted:
    token: indexed(address)


event ThresholdChanged:
    old_threshold: uint256
    new_threshold: uint256


event ModelChanged:
    old_model_id: uint256
    new_model_id: uint256


@deploy
def __init__(market_: IMarket, model_id_: uint256, threshold_bps_: uint256):
    """
    @param market_ The InferenceMarket.
    @param model_id_ The contract-risk model's id in the ModelRegistry.
    @param threshold_bps_ Listing threshold in basis points (at most 10,000).
    """
    assert threshold_bps_ <= SCALE, "TokenListing: threshold above scale"
    ownable.__init__()
    pull_payments.__init__(msg.sender)
    market = market_
    self.model_id = model_id_
    self.threshold_bps = threshold_bps_


@external
@payable
@nonreentrant
def apply(token: address) -> uint256:
    """
    @notice Pays for a risk review of `token`'s code as it is now; the result
            lists or rejects it. Send at least `quote()`; the excess is owed
            to you (`withdraw`).
    @param token The token contract.
    @return The market request id.
    """
    assert token.is_contract, "TokenListing: token has no code"
    assert not self.listed[token], "TokenListing: token already listed"
    assert self.pending_request[token] == 0, "TokenListing: review pending"
    model: uint256 = self.model_id
    cost: uint256 = staticcall market.quote(model, CALLBACK_GAS)
    assert msg.value >= cost, "TokenListing: insufficient payment"
    code_hash: bytes32 = token.codehash
    address_hex: String[40] = slice(self._hex(convert(token, uint256)), 24, 40)
    hash_hex: String[64] = self._hex(convert(code_hash, uint256))
    number: String[78] = uint2str(block.number)
    chain_id: String[78] = uint2str(chain.id)
    document: String[320] = concat('{"address":"0x', address_hex, '","block":', number, ',"chain_id":', chain_id,
                                   ',"code_hash":"0x', hash_hex, '"}')
    uri: String[420] = concat("data:application/json,%7B%22address%22:%220x", address_hex, "%22,%22block%22:",
                              number, ",%22chain_id%22:", chain_id, ",%22code_hash%22:%220x", hash_hex, "%22%7D")
    request_id: uint256 = extcall market.request_inference_with_callback(
        model, keccak256(document), uri, block.timestamp + REQUEST_TTL, CALLBACK_GAS, value=cost
    )
    self.applications[request_id] = Application(
        token=token, applicant=msg.sender, code_hash=code_hash, block_number=block.number, paid=cost
    )
    self.pending_request[token] = request_id
    if msg.value > cost:
        pull_payments._credit(msg.sender, msg.value - cost)
    log ListingRequested(
        request_id=request_id, token=token, applicant=msg.sender, code_hash=code_hash,
        block_number=block.number, paid=cost
    )
    return request_id


@external
def on_inference_result(request_id: uint256, result_hash: bytes32, result: Bytes[MAX_RESULT]):
    """
    @notice Called by the market at finalization with the canonical scores:
            lists the token if its overall score is below the threshold and
            its code is unchanged, rejects it otherwise.
    @param request_id The request.
    @param result_hash keccak256 of the result.
    @param result The `scores-uint256` result: overall risk first, basis points.
    """
    assert msg.sender == market.address, "TokenListing: caller is not the market"
    app: Application = self.applications[request_id]
    assert app.token != empty(address), "TokenListing: unknown request"
    assert len(result) >= 32, "TokenListing: result too short"
    score: uint256 = convert(slice(result, 0, 32), uint256)
    assert score <= SCALE, "TokenListing: score above scale"
    self._close(request_id, app.token)
    self.score_of[app.token] = score
    self.scored[app.token] = True
    threshold: uint256 = self.threshold_bps
    code_changed: bool = app.token.codehash != app.code_hash
    if score < threshold and not code_changed:
        self.listed[app.token] = True
        log TokenListed(token=app.token, request_id=request_id, score=score, threshold=threshold)
    else:
        log TokenRejected(
            token=app.token, request_id=request_id, score=score, threshold=threshold, code_changed=code_changed
        )


@external
@nonreentrant
def release(request_id: uint256):
    """
    @notice Closes an application that will get no result: its request was
            refunded (or is past its deadline unserved: refunded now), or it
            was finalized but the callback failed. A refund is owed to the
            applicant (`withdraw`). Callable by anyone.
    @param request_id The application's request.
    """
    app: Application = self.applications[request_id]
    assert app.token != empty(address), "TokenListing: unknown request"
    state: uint256 = (staticcall market.get_request(request_id)).state & STATE_MASK
    refunded: uint256 = 0
    if state == REQUESTED or state == CLAIMED:
        extcall market.refund(request_id)  # reverts until the deadline has passed
        refunded = app.paid
    elif state == REFUNDED:
        refunded = app.paid
    else:
        assert state == FINALIZED, "TokenListing: request still open"
    self._close(request_id, app.token)
    if refunded > 0:
        pull_payments._credit(app.applicant, refunded)
        if staticcall market.owed(self) > 0:
            extcall market.withdraw()
    log ApplicationReleased(request_id=request_id, token=app.token, applicant=app.applicant, refunded=refunded)


@external
def delist(token: address):
    """
    @notice Governance removes a listed token.
    @param token The token.
    """
    ownable._check_owner()
    assert self.listed[token], "TokenListing: token not listed"
    self.listed[token] = False
    log TokenDelisted(token=token)


@external
def set_threshold(new_threshold_bps: uint256):
    """
    @notice Governance sets the listing threshold (basis points; listed if the score is below it).
    @param new_threshold_bps The new threshold, at most 10,000.
    """
    ownable._check_owner()
    assert new_threshold_bps <= SCALE, "TokenListing: threshold above scale"
    log ThresholdChanged(old_threshold=self.threshold_bps, new_threshold=new_threshold_bps)
    self.threshold_bps = new_threshold_bps


@external
def set_model(new_model_id: uint256):
    """
    @notice Governance points the registry at another risk model (a new version).
    @param new_model_id The model id.
    """
    ownable._check_owner()
    log ModelChanged(old_model_id=self.model_id, new_model_id=new_model_id)
    self.model_id = new_model_id


@external
@view
def quote() -> uint256:
    """
    @notice What `apply` costs now (model price, protocol fee, callback gas).
    @return Wei.
    """
    return staticcall market.quote(self.model_id, CALLBACK_GAS)


@external
@payable
def __default__():
    # Refunds withdrawn from the market; nobody else sends ETH here.
    assert msg.sender == market.address, "TokenListing: only the market sends ether"


@internal
def _close(request_id: uint256, token: address):
    self.applications[request_id] = empty(Application)
    self.pending_request[token] = 0


@internal
@pure
def _hex(word: uint256) -> String[64]:
    """
    @dev `word` as 64 lower-case hex digits.
    """
    high: uint256 = 0
    low: uint256 = 0
    for i: uint256 in range(32):
        nibble: uint256 = (word >> (4 * (63 - i))) & 15
        high = (high << 8) | (nibble + (48 if nibble < 10 else 87))
        nibble = (word >> (4 * (31 - i))) & 15
        low = (low << 8) | (nibble + (48 if nibble < 10 else 87))
    return convert(concat(convert(high, bytes32), convert(low, bytes32)), String[64])
