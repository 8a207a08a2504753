# pragma version ~=0.4.3
"""
@title Neural Commons Pixels: NFTs drawn by a community-owned model
@license MIT
@notice An ERC-721 collection whose images are generated on the Neural
        Commons inference market. A buyer pays `mint(digit, seed)`; the
        contract builds the model input on-chain (the JSON document
        `{"digit":d,"seed":n}`, sent inline as a `data:` URI, its keccak256
        the request's input hash) and requests it from the market with a
        callback. A worker runs the image model (models/pixels: a PNG that
        is a pure function of model, digit and seed), and at finalization
        the market delivers the canonical PNG to `on_inference_result`,
        which mints the token to the buyer and stores the image and its
        keccak256 (the result hash the worker attested).

        The image lives on-chain: `tokenURI` returns
        `data:application/json;base64,...` metadata whose `image` is
        `data:image/png;base64,...` of the stored bytes, so the token needs
        no server; anyone can check `keccak256(image(token_id))` against
        `image_hash(token_id)` and the market's result hash.

        Each (digit, seed) pair is minted at most once: a pair is taken
        while its request is open or minted, and free again once refunded
        and reclaimed. The price is the market's quote for the model plus
        the prepaid callback gas, passed through whole: the market splits
        it between the worker, the model's shareholders, the token holders
        and the treasury. An unserved request is refunded by the market
        after its deadline; `reclaim` (which triggers that refund when due)
        returns the buyer's payment.
@custom:security `mint`, `reclaim` and `on_inference_result` share one
        reentrancy lock and follow checks-effects-interactions. Tokens are
        minted with `_mint`, not `_safe_mint`: the callback never calls
        into the buyer, so a buyer contract cannot make its own mint fail
        or re-enter. Only the market may call `on_inference_result`, and
        only for requests this contract made. A result that is not a PNG
        within MAX_IMAGE bytes reverts the callback (the market records it
        and settles anyway): such a result is wrong, and the market's
        challenge window is where wrong results are fought.
"""

from ethereum.ercs import IERC165
implements: IERC165

from ethereum.ercs import IERC721
implements: IERC721

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc721
initializes: erc721[ownable := ownable]

from snekmate.utils import base64


# Exported from snekmate's ERC-721. Deliberately not exported: `tokenURI`
# (replaced below by on-chain metadata), `safe_mint` and `set_minter` (only
# the market callback mints), `is_minter`, `owner`, `transfer_ownership`
# and `renounce_ownership` (the collection has no administrator).
exports: (
    erc721.supportsInterface,
    erc721.balanceOf,
    erc721.ownerOf,
    erc721.approve,
    erc721.getApproved,
    erc721.setApprovalForAll,
    erc721.isApprovedForAll,
    erc721.transferFrom,
    erc721.safeTransferFrom,
    erc721.totalSupply,
    erc721.tokenByIndex,
    erc721.tokenOfOwnerByIndex,
    erc721.name,
    erc721.symbol,
    erc721.burn,
    erc721.permit,
    erc721.nonces,
    erc721.DOMAIN_SEPARATOR,
    erc721.eip712Domain,
)


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


interface InferenceMarket:
    def quote(model_id: uint256, callback_gas_limit: uint256) -> uint256: view
    def request_inference_with_callback(
        model_id: uint256, input_hash: bytes32, input_uri: String[1_024], deadline: uint256, callback_gas_limit: uint256
    ) -> uint256: payable
    def get_request(request_id: uint256) -> RequestView: view
    def refund(request_id: uint256): nonpayable
    def owed(account: address) -> uint256: view
    def withdraw(): nonpayable


DIGITS: constant(uint256) = 10  # the model draws 0..9
MAX_IMAGE: constant(uint256) = 384  # bytes of PNG stored per token (a 16x16 grey image is 340)
MAX_RESULT: constant(uint256) = 1_024  # bytes the market delivers (InferenceMarket.MAX_RESULT)
MAX_DOCUMENT: constant(uint256) = 99  # bytes of {"digit":d,"seed":n}
MAX_TTL: constant(uint256) = 30 * 86_400  # seconds
MAX_CALLBACK_GAS: constant(uint256) = 2_000_000  # the most the market gives a callback (InferenceMarket.MAX_CALLBACK_GAS)
B64_IN: constant(uint256) = 1_024  # snekmate base64 input bound (bytes)
B64_OUT: constant(uint256) = 1_368  # its output bound (characters)
IMAGE_B64: constant(uint256) = 512  # characters of base64 for MAX_IMAGE bytes: 4 * ceil(384 / 3)
PNG_SIGNATURE: constant(Bytes[8]) = b"\x89PNG\r\n\x1a\n"

# The market's request states (InferenceMarket), without the callback flag.
STATE_ONLY: constant(uint256) = 127
REQUESTED: constant(uint256) = 1
CLAIMED: constant(uint256) = 2
REFUNDED: constant(uint256) = 6

# Order status.
PENDING: constant(uint8) = 1
MINTED: constant(uint8) = 2
RECLAIMED: constant(uint8) = 3


struct Order:
    buyer: address
    status: uint8
    digit: uint8
    seed: uint256
    paid: uint256  # wei forwarded to the market (what its refund returns)
    input_hash: bytes32
    token_id: uint256


market: public(immutable(InferenceMarket))
model_id: public(immutable(uint256))
callback_gas: public(immutable(uint256))  # gas the market gives on_inference_result
request_ttl: public(immutable(uint256))  # seconds a worker has to deliver

orders: public(HashMap[uint256, Order])  # market request id -> order
taken: public(HashMap[bytes32, uint256])  # input hash -> the request holding that (digit, seed); 0 = free
token_request: public(HashMap[uint256, uint256])  # token id -> its market request id (digit, seed: the order)
image_hash: public(HashMap[uint256, bytes32])  # token id -> keccak256 of its PNG
_images: HashMap[uint256, Bytes[MAX_RESULT]]  # at most MAX_IMAGE bytes each
minted_count: public(uint256)


event MintRequested:
    request_id: indexed(uint256)
    buyer: indexed(address)
    digit: uint256
    seed: uint256
    paid: uint256
    input_hash: bytes32


event Minted:
    token_id: indexed(uint256)
    request_id: indexed(uint256)
    owner: indexed(address)
    image_hash: bytes32


event Reclaimed:
    request_id: indexed(uint256)
    buyer: indexed(address)
    amount: uint256


@deploy
def __init__(market_: InferenceMarket, model_id_: uint256, callback_gas_: uint256, request_ttl_: uint256):
    """
    @param market_ The InferenceMarket.
    @param model_id_ The image model (models/pixels) listed on that market.
    @param callback_gas_ Gas the market gives the minting callback (prepaid by each buyer), at most 2,000,000.
    @param request_ttl_ Seconds a worker has to deliver an image before the buyer may reclaim.
    """
    assert callback_gas_ > 0, "NFTMinter: callback gas is zero"
    assert callback_gas_ <= MAX_CALLBACK_GAS, "NFTMinter: callback gas too high"  # else the market refuses every mint
    assert request_ttl_ > 0, "NFTMinter: request ttl is zero"
    assert request_ttl_ <= MAX_TTL, "NFTMinter: request ttl too long"
    ownable.__init__()
    erc721.__init__("Neural Commons Pixels", "PIXEL", "", "Neural Commons Pixels", "1")
    market = market_
    model_id = model_id_
    callback_gas = callback_gas_
    request_ttl = request_ttl_


@external
@view
def price() -> uint256:
    """
    @notice What `mint` costs now: the market's quote for the model with the callback gas.
    @return Wei.
    """
    return staticcall market.quote(model_id, callback_gas)


@external
@payable
@nonreentrant
def mint(digit: uint256, seed: uint256) -> uint256:
    """
    @notice Pays for the image of `digit` drawn from `seed`; the token is minted to the
            caller when the market delivers it. Any excess over `price()` is returned.
    @param digit The digit to draw, 0..9.
    @param seed Any uint256; with the digit it fixes the image.
    @return The market request id (the order's key).
    """
    assert digit < DIGITS, "NFTMinter: digit out of range"
    document: String[MAX_DOCUMENT] = concat('{"digit":', uint2str(convert(digit, uint8)), ',"seed":', uint2str(seed), "}")
    input_hash: bytes32 = keccak256(document)
    assert self.taken[input_hash] == 0, "NFTMinter: image already taken"
    cost: uint256 = staticcall market.quote(model_id, callback_gas)
    assert msg.value >= cost, "NFTMinter: insufficient payment"
    request_id: uint256 = extcall market.request_inference_with_callback(
        model_id, input_hash, concat("data:application/json,", document), block.timestamp + request_ttl, callback_gas,
        value=cost,
    )
    self.orders[request_id] = Order(
        buyer=msg.sender, status=PENDING, digit=convert(digit, uint8), seed=seed, paid=cost, input_hash=input_hash,
        token_id=0,
    )
    self.taken[input_hash] = request_id
    log MintRequested(request_id=request_id, buyer=msg.sender, digit=digit, seed=seed, paid=cost, input_hash=input_hash)
    if msg.value > cost:
        raw_call(msg.sender, b"", value=msg.value - cost)
    return request_id


@external
@nonreentrant
def on_inference_result(request_id: uint256, result_hash: bytes32, result: Bytes[MAX_RESULT]):
    """
    @notice Called by the market at finalization with the canonical PNG: mints the token.
    @param request_id The request.
    @param result_hash keccak256 of the PNG (checked by the market at fulfilment).
    @param result The PNG bytes.
    """
    assert msg.sender == market.address, "NFTMinter: caller is not the market"
    assert len(result) <= MAX_IMAGE, "NFTMinter: image too large"
    assert len(result) >= len(PNG_SIGNATURE), "NFTMinter: result is not a png"
    assert slice(result, 0, 8) == PNG_SIGNATURE, "NFTMinter: result is not a png"
    order: Order = self.orders[request_id]
    assert order.buyer != empty(address), "NFTMinter: unknown request"
    token_id: uint256 = self.minted_count + 1
    self.minted_count = token_id
    self.orders[request_id].status = MINTED
    self.orders[request_id].token_id = token_id
    self.token_request[token_id] = request_id
    self.image_hash[token_id] = result_hash
    self._images[token_id] = result
    erc721._mint(order.buyer, token_id)
    log Minted(token_id=token_id, request_id=request_id, owner=order.buyer, image_hash=result_hash)


@external
@nonreentrant
def reclaim(request_id: uint256):
    """
    @notice Returns the payment of a mint no worker delivered by its deadline, and frees
            its (digit, seed). Triggers the market's refund when it is due and not yet made.
    @param request_id The order's request id.
    """
    order: Order = self.orders[request_id]
    assert order.buyer != empty(address), "NFTMinter: unknown request"
    assert order.buyer == msg.sender, "NFTMinter: caller is not the buyer"
    assert order.status == PENDING, "NFTMinter: order not pending"
    state: uint256 = (staticcall market.get_request(request_id)).state & STATE_ONLY
    if state == REQUESTED or state == CLAIMED:
        extcall market.refund(request_id)  # reverts with the market's reason before the deadline
        state = REFUNDED
    assert state == REFUNDED, "NFTMinter: request not refunded"
    self.orders[request_id].status = RECLAIMED
    self.taken[order.input_hash] = 0
    if staticcall market.owed(self) > 0:
        extcall market.withdraw()  # pulls every refund owed to this contract; each buyer reclaims its own
    log Reclaimed(request_id=request_id, buyer=msg.sender, amount=order.paid)
    raw_call(msg.sender, b"", value=order.paid)


@external
@view
def image(token_id: uint256) -> Bytes[MAX_RESULT]:
    """
    @notice The token's PNG, as the market delivered it.
    @param token_id The token.
    @return The PNG bytes.
    """
    erc721._require_minted(token_id)
    return self._images[token_id]


@external
@view
def tokenURI(token_id: uint256) -> String[B64_OUT + 29]:
    """
    @notice ERC-721 metadata, built on-chain: a base64 JSON data URI whose image is the
            stored PNG as a base64 data URI.
    @param token_id The token.
    @return data:application/json;base64,...
    """
    erc721._require_minted(token_id)
    request_id: uint256 = self.token_request[token_id]
    order: Order = self.orders[request_id]
    image_b64: String[IMAGE_B64] = abi_decode(abi_encode(self._base64(self._images[token_id])), String[IMAGE_B64])
    metadata: String[B64_IN] = concat(
        '{"name":"Neural Commons Pixels #', uint2str(convert(token_id, uint64)),
        '","description":"A 16x16 digit drawn by model ', uint2str(convert(model_id, uint32)),
        ' on the Neural Commons inference market, request ', uint2str(convert(request_id, uint64)),
        '.","image":"data:image/png;base64,', image_b64,
        '","attributes":[{"trait_type":"digit","value":', uint2str(order.digit),
        '},{"trait_type":"seed","value":"', uint2str(order.seed), '"}]}',
    )
    return concat("data:application/json;base64,", self._base64(convert(metadata, Bytes[B64_IN])))


@external
@payable
def __default__():
    """
    @notice Accepts the refunds this contract withdraws from the market; nothing else.
    """
    assert msg.sender == market.address, "NFTMinter: only the market pays in"


@internal
@pure
def _base64(data: Bytes[B64_IN]) -> String[B64_OUT]:
    # snekmate returns 4-character chunks; a String cannot grow in place, so each step
    # re-types the concatenation through the ABI (its length is checked at run time).
    out: String[B64_OUT] = ""
    chunks: DynArray[String[4], B64_OUT] = base64._encode(data, False)
    for chunk: String[4] in chunks:
        out = abi_decode(abi_encode(concat(out, chunk)), String[B64_OUT])
    return out
