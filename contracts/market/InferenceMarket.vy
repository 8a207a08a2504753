# pragma version ~=0.4.3
"""
@title Neural Commons inference market
@license MIT
@notice Pay-per-inference with escrow. An app builder requests an inference
        and escrows the model's price plus the protocol fee; a staked worker
        claims it (exclusive until the claim timeout), runs the model and
        posts the result hash with an EIP-712 `InferenceResult` signature
        from its registered key (anyone may relay it). After the challenge
        window anyone finalizes: the payment is split by governed basis
        points into the worker, the model's shareholders (ModelShares), the
        token holders (GovernanceToken revenue) and the treasury. Unfulfilled
        requests are refunded in full after their deadline, and the claiming
        worker's miss is recorded (and, by policy, slashed).

        Request state is packed into two storage words so that a request
        writes two fresh words and claim, fulfill and finalize only update them:
          core:  requester id (32) | model id (24) | deadline (32) | state (8)
                 | stamp (32) | worker id (32) | escrowed payment (96)
          hash:  the input hash until fulfillment, then the result hash
                 (the input hash stays in the InferenceRequested event)
        Requesters and workers are named in the core word by a 32-bit account
        id, given to an address the first time it requests or claims (two
        fresh words, once per address: `account_id`, `account_at`).
        `stamp` is the claim time while claimed and the fulfillment time once
        fulfilled (zero after a challenge the worker won: the window is over).
        `request_inference_batch` requests many inputs of one model in one
        transaction, paid at once (the excess returned): an app builder pays
        the transaction's base cost once, not once per input.

        Stake at risk stays locked: from claim until the request is settled
        (finalized, refunded or its challenge lost) the claimant's
        WorkerRegistry stake is locked by max(miss_slash, challenge_slash)
        as they stood at the claim, so neither a miss nor a challenge can be
        escaped by unbonding. A claim needs that much stake beside what the
        market already locks for the worker: every request in flight is
        covered by stake its slash can take, so a worker cannot claim more
        than it answers for. (Other contracts' locks do not count: a
        stranger's bonded receipt challenges must not stop a worker's
        claims.) The market keeps one word per worker (open
        requests | locked amount) and locks and unlocks once per batch; a
        settled request releases an equal share of its worker's lock, so
        the market unlocks exactly what it locked. A challenge is a
        DisputeCourt dispute: the market forwards the bond to the court,
        whose committee (or, on appeal, governance) decides and calls
        `on_verdict`; every dispute ends in bounded time (an unruled appeal
        expires and the result stands).
@custom:security Every function that moves ETH is @nonreentrant (one lock
        for the contract). Payments are pulled (`withdraw`), except the
        excess of a request, returned to its sender at once. A consumer
        callback runs under the gas limit its requester paid for, cannot
        return data, and cannot block settlement when it reverts.
"""

from snekmate.utils import ecdsa

from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator

from ..interfaces import ICourtClient
from ..interfaces import IDisputeCourt
from ..interfaces import IModelRegistry
from ..interfaces import IModelShares
from ..interfaces import IRevenueToken
from ..interfaces import IWorkerRegistry

implements: ICourtClient

from ..modules import pull_payments
initializes: pull_payments

from ..modules import fee_split
initializes: fee_split

exports: (
    eip712_domain_separator.eip712Domain,
    pull_payments.owed,
    pull_payments.withdraw,
    pull_payments.withdraw_to,
    pull_payments.sweep_treasury,
    fee_split.shares,
    fee_split.token,
)


MAX_BATCH: constant(uint256) = 100  # requests per batched call
MAX_URI: constant(uint256) = 256  # bytes of a result URI
MAX_INPUT_URI: constant(uint256) = 1_024  # bytes of an input URI (emitted, never stored: small inputs fit inline)
# bytes of each input URI of a batched request: a batch's URIs are copied to memory whole,
# and memory costs gas quadratically (100 x 1,024 bytes would cost ~32,000 gas a batch)
MAX_BATCH_INPUT_URI: constant(uint256) = 256
MAX_RESULT: constant(uint256) = 1_024  # bytes of canonical result a consumer can receive
CALLBACK_RESERVE: constant(uint256) = 10_000  # gas kept back to finish settlement after a callback
# Gas a callback may ask for: a limit no transaction can carry would leave its request impossible to finalize
# (escrow and the worker's exposure locked for good); this one leaves room for several in one block.
MAX_CALLBACK_GAS: constant(uint256) = 2_000_000
MAX_CHALLENGE_WINDOW: constant(uint256) = 30 * 86_400  # seconds
MAX_SLASH: constant(uint256) = 2**128  # token wei; keeps a worker's locked total within its 192 bits

ID_MASK: constant(uint256) = 2**32 - 1  # account ids (requesters, workers)
MODEL_SHIFT: constant(uint256) = 32
MODEL_MASK: constant(uint256) = 2**24 - 1
DEADLINE_SHIFT: constant(uint256) = 56
TIME_MASK: constant(uint256) = 2**32 - 1  # timestamps until 2106
STATE_SHIFT: constant(uint256) = 88
STATE_MASK: constant(uint256) = 2**8 - 1
STAMP_SHIFT: constant(uint256) = 96
WORKER_SHIFT: constant(uint256) = 128
ESCROW_SHIFT: constant(uint256) = 160
ESCROW_LIMIT: constant(uint256) = 2**96  # wei
# A worker's exposure word: kept flag (1) | open requests (63) | token wei locked for them (192).
# The flag is set at the first claim and never cleared, so the word never
# returns to zero and a worker's next claim after an idle spell is a cheap write.
EXPOSURE_KEPT: constant(uint256) = 2**255
EXPOSURE_COUNT_SHIFT: constant(uint256) = 192
EXPOSURE_COUNT_MASK: constant(uint256) = 2**63 - 1
EXPOSURE_AMOUNT_MASK: constant(uint256) = 2**192 - 1

# Request states; CALLBACK is a flag bit on top of the state.
REQUESTED: constant(uint256) = 1
CLAIMED: constant(uint256) = 2
FULFILLED: constant(uint256) = 3
CHALLENGED: constant(uint256) = 4
FINALIZED: constant(uint256) = 5
REFUNDED: constant(uint256) = 6
CALLBACK: constant(uint256) = 128
STATE_ONLY: constant(uint256) = 127

_RESULT_TYPE_HASH: constant(bytes32) = keccak256(
    "InferenceResult(uint256 requestId,uint256 modelId,bytes32 inputHash,bytes32 resultHash)"
)
_CALLBACK_SELECTOR: constant(bytes4) = method_id("on_inference_result(uint256,bytes32,bytes)", output_type=bytes4)


struct MarketParams:
    protocol_fee_bps: uint256  # charged on top of the model price
    worker_bps: uint256  # shares of the payment; the treasury gets the rest
    shareholders_bps: uint256
    holders_bps: uint256
    claim_timeout: uint256  # seconds a claim is exclusive
    challenge_window: uint256  # seconds after fulfillment
    challenge_bond: uint256  # wei a challenger posts
    challenge_slash: uint256  # token wei taken from a worker whose result is overturned
    miss_slash: uint256  # token wei taken from a worker that claimed and missed the deadline
    callback_gas_price: uint256  # wei per gas of callback the requester prepays to the finalizer
    max_result_size: uint256  # bytes, at most MAX_RESULT


struct Fulfillment:
    request_id: uint256
    result_hash: bytes32
    result_uri: String[MAX_URI]
    signature: Bytes[65]


struct Callback:
    gas_limit: uint256
    fee: uint256  # wei, paid to whoever finalizes


struct Challenge:
    challenger: address
    bond: uint256
    result_hash: bytes32
    dispute_id: uint256  # in the DisputeCourt


struct RequestView:
    requester: address
    model_id: uint256
    deadline: uint256
    state: uint256
    has_callback: bool
    stamp: uint256
    worker: address
    payment: uint256
    hash: bytes32  # input hash before fulfillment, result hash after


governance: public(immutable(address))  # the timelock, which is also the treasury
models: public(immutable(IModelRegistry))
workers: public(immutable(IWorkerRegistry))
court: public(immutable(IDisputeCourt))

params: public(MarketParams)
request_count: public(uint256)
challenges: public(HashMap[uint256, Challenge])
callbacks: public(HashMap[uint256, Callback])
account_count: public(uint256)  # account ids given so far
account_id: public(HashMap[address, uint256])  # 0: none yet
account_at: public(HashMap[uint256, address])
_core: HashMap[uint256, uint256]
_hash: HashMap[uint256, bytes32]
_results: HashMap[uint256, Bytes[MAX_RESULT]]
_exposure: HashMap[address, uint256]  # worker -> open requests | locked token wei


event InferenceRequested:
    request_id: indexed(uint256)
    model_id: uint256  # not a topic: 119 gas less a request (workers read every request anyway)
    requester: indexed(address)
    input_hash: bytes32
    input_uri: String[MAX_INPUT_URI]
    deadline: uint256
    payment: uint256
    callback_gas_limit: uint256


event InferenceClaimed:
    request_id: indexed(uint256)
    worker: indexed(address)


event InferenceFulfilled:
    request_id: indexed(uint256)
    worker: indexed(address)
    result_hash: bytes32
    result_uri: String[MAX_URI]


event InferenceChallenged:
    request_id: indexed(uint256)
    challenger: indexed(address)
    result_hash: bytes32
    bond: uint256
    dispute_id: uint256


event ChallengeResolved:
    request_id: indexed(uint256)
    worker_was_right: bool
    slashed: uint256


event InferenceFinalized:
    request_id: indexed(uint256)
    worker: indexed(address)
    worker_amount: uint256
    shareholders_amount: uint256
    holders_amount: uint256
    treasury_amount: uint256


event InferenceRefunded:
    request_id: indexed(uint256)
    requester: indexed(address)
    amount: uint256
    missed_by: indexed(address)


event CallbackDelivered:
    request_id: indexed(uint256)
    success: bool


event ParamsChanged:
    old_params: MarketParams
    new_params: MarketParams


@deploy
def __init__(
    governance_: address,
    models_: IModelRegistry,
    workers_: IWorkerRegistry,
    court_: IDisputeCourt,
    shares_: IModelShares,
    token_: IRevenueToken,
    params_: MarketParams,
):
    """
    @param governance_ The timelock: sets parameters, receives the treasury share.
    @param models_ ModelRegistry.
    @param workers_ WorkerRegistry; this market must be authorised there.
    @param court_ DisputeCourt; this market must be its client.
    @param shares_ ModelShares.
    @param token_ GovernanceToken (holder revenue).
    @param params_ Initial parameters.
    """
    eip712_domain_separator.__init__("InferenceMarket", "1")
    governance = governance_
    models = models_
    workers = workers_
    court = court_
    pull_payments.__init__(governance_)
    fee_split.__init__(shares_, token_)
    self._check_params(params_)
    self.params = params_


# ---------------------------------------------------------------- requests


@external
@view
def quote(model_id: uint256, callback_gas_limit: uint256 = 0) -> uint256:
    """
    @notice What a request for `model_id` costs now: price, protocol fee and prepaid callback gas.
    @param model_id The model.
    @param callback_gas_limit Gas of callback to prepay (0: none).
    @return Wei a request sends now (more is returned).
    """
    active: bool = False
    price: uint256 = 0
    active, price = staticcall models.model_terms(model_id)
    assert active, "InferenceMarket: model not active"
    return self._payment(price) + callback_gas_limit * self.params.callback_gas_price


@external
@payable
@nonreentrant
def request_inference(model_id: uint256, input_hash: bytes32, input_uri: String[MAX_INPUT_URI], deadline: uint256) -> uint256:
    """
    @notice Requests an inference of `model_id` on the input whose keccak256 is
            `input_hash`; escrows the payment and returns any excess.
    @return The request id.
    @param model_id The model to run.
    @param input_hash keccak256 of the canonical input.
    @param input_uri Where the input is (emitted, not stored).
    @param deadline Last timestamp for fulfillment.
    """
    return self._request(model_id, input_hash, input_uri, deadline, 0, msg.value)


@external
@payable
@nonreentrant
def request_inference_with_callback(
    model_id: uint256,
    input_hash: bytes32,
    input_uri: String[MAX_INPUT_URI],
    deadline: uint256,
    callback_gas_limit: uint256,
) -> uint256:
    """
    @notice Like `request_inference`, for a contract that wants the canonical
            result delivered to its `on_inference_result(uint256,bytes32,bytes)`
            at finalization, with `callback_gas_limit` gas (prepaid).
    @return The request id.
    @param model_id The model to run.
    @param input_hash keccak256 of the canonical input.
    @param input_uri Where the input is (emitted, not stored).
    @param deadline Last timestamp for fulfillment.
    @param callback_gas_limit Gas the callback gets (at most 2,000,000), prepaid at `callback_gas_price`.
    """
    assert callback_gas_limit > 0, "InferenceMarket: callback gas limit is zero"
    assert callback_gas_limit <= MAX_CALLBACK_GAS, "InferenceMarket: callback gas limit too high"
    return self._request(model_id, input_hash, input_uri, deadline, callback_gas_limit, msg.value)


@external
@payable
@nonreentrant
def request_inference_batch(
    model_id: uint256,
    input_hashes: DynArray[bytes32, MAX_BATCH],
    input_uris: DynArray[String[MAX_BATCH_INPUT_URI], MAX_BATCH],
    deadline: uint256,
) -> uint256:
    """
    @notice Requests one inference of `model_id` per input, all with the same
            deadline, in one transaction: escrows the quoted payment for each
            (one payment for all; the excess is returned). Each request is
            its own: claimed, fulfilled, settled or refunded on its own, with
            its own `InferenceRequested` event. No callbacks (use
            `request_inference_with_callback`).
    @return The first request id; the others follow it in input order.
    @param model_id The model to run.
    @param input_hashes keccak256 of each canonical input.
    @param input_uris Where each input is (emitted, not stored), one per input hash, at most
           MAX_BATCH_INPUT_URI (256) bytes each (a digit fits inline; host larger inputs).
    @param deadline Last timestamp for fulfillment, for every request.
    """
    count: uint256 = len(input_hashes)
    assert count > 0, "InferenceMarket: empty batch"
    assert len(input_uris) == count, "InferenceMarket: input count mismatch"
    payment: uint256 = self._check_request(model_id, deadline)
    cost: uint256 = payment * count
    assert msg.value >= cost, "InferenceMarket: insufficient payment"
    # The core word of every request but for the state: requester, model, deadline, escrow.
    base: uint256 = (
        self._account(msg.sender)
        | (model_id << MODEL_SHIFT)
        | (deadline << DEADLINE_SHIFT)
        | (REQUESTED << STATE_SHIFT)
        | (payment << ESCROW_SHIFT)
    )
    first: uint256 = self.request_count + 1
    request_id: uint256 = first
    for i: uint256 in range(count, bound=MAX_BATCH):
        input_hash: bytes32 = input_hashes[i]
        assert input_hash != empty(bytes32), "InferenceMarket: empty input hash"
        self._core[request_id] = base
        self._hash[request_id] = input_hash
        log InferenceRequested(
            request_id=request_id,
            model_id=model_id,
            requester=msg.sender,
            input_hash=input_hash,
            input_uri=input_uris[i],
            deadline=deadline,
            payment=payment,
            callback_gas_limit=0,
        )
        request_id += 1
    self.request_count = request_id - 1
    if msg.value > cost:
        raw_call(msg.sender, b"", value=msg.value - cost)
    return first


# ---------------------------------------------------------------- claims


@external
def claim(request_id: uint256):
    """
    @notice The calling active worker takes the request, exclusively until the claim timeout. Needs
            stake for the request's lock (max(miss_slash, challenge_slash)) beside the market's
            locks for its other requests in flight.
    @param request_id The request.
    """
    self._check_active_worker(msg.sender)
    assert self._claim_room(msg.sender) > 0, "InferenceMarket: stake below the claim's lock"
    self._claim(request_id, self._account(msg.sender), True)
    self._expose(msg.sender, 1)


@external
def claim_batch(request_ids: DynArray[uint256, MAX_BATCH]) -> uint256:
    """
    @notice Claims every request in `request_ids` that is still claimable, in order, as far as the
            caller's stake covers their locks beside the market's other locks; skips the rest.
    @return How many were claimed.
    @param request_ids The requests to try; unclaimable ones are skipped.
    """
    self._check_active_worker(msg.sender)
    claimed: uint256 = 0
    room: uint256 = self._claim_room(msg.sender)
    account: uint256 = self._account(msg.sender)
    for request_id: uint256 in request_ids:
        if claimed == room:
            break
        if self._claim(request_id, account, False):
            claimed += 1
    if claimed > 0:
        self._expose(msg.sender, claimed)
    return claimed


# ---------------------------------------------------------------- fulfillment


@external
def fulfill(
    request_id: uint256,
    result_hash: bytes32,
    result_uri: String[MAX_URI],
    signature: Bytes[65],
    result: Bytes[MAX_RESULT] = b"",
):
    """
    @notice The claiming worker posts its signed result and where it is
            served (only the claimant: the URI is not signed, so a relayer
            could swap it). Requests with a callback also carry the
            canonical result bytes.
    @param request_id The claimed request.
    @param result_hash keccak256 of the canonical result.
    @param result_uri Where the result is served.
    @param signature EIP-712 InferenceResult signature of the worker's registered key.
    @param result The canonical result bytes (callback requests only; empty otherwise).
    """
    core: uint256 = self._core[request_id]
    worker: address = self.account_at[(core >> WORKER_SHIFT) & ID_MASK]
    signer: address = staticcall workers.active_signer(worker)
    self._fulfill(request_id, core, worker, result_hash, result_uri, signature, result, signer)


@external
def fulfill_batch(fulfillments: DynArray[Fulfillment, MAX_BATCH]):
    """
    @notice Posts many signed results at once (requests without callbacks). Reverts as a whole on any bad item.
    @param fulfillments The results, each with its signature (no callback requests).
    """
    cached_id: uint256 = 0
    worker: address = empty(address)
    signer: address = empty(address)
    for item: Fulfillment in fulfillments:
        core: uint256 = self._core[item.request_id]
        worker_id: uint256 = (core >> WORKER_SHIFT) & ID_MASK
        if worker_id != cached_id:
            cached_id = worker_id
            worker = self.account_at[worker_id]
            signer = staticcall workers.active_signer(worker)
        self._fulfill(item.request_id, core, worker, item.result_hash, item.result_uri, item.signature, b"", signer)


# ---------------------------------------------------------------- challenges


@external
@payable
@nonreentrant
def challenge(request_id: uint256, result_hash: bytes32):
    """
    @notice An active worker disputes a fulfilled result within the window,
            posting the governed bond and the result hash it computed. The
            bond goes to the DisputeCourt, which opens a dispute; its verdict
            comes back through `on_verdict`.
    @param request_id The fulfilled request.
    @param result_hash The result the challenger says is right.
    """
    core: uint256 = self._core[request_id]
    assert self._state(core) == FULFILLED, "InferenceMarket: request not fulfilled"
    assert block.timestamp <= self._stamp(core) + self.params.challenge_window, "InferenceMarket: challenge window closed"
    self._check_active_worker(msg.sender)
    worker: address = self._worker_of(request_id)
    assert msg.sender != worker, "InferenceMarket: worker cannot challenge itself"
    assert msg.value == self.params.challenge_bond, "InferenceMarket: wrong challenge bond"
    worker_hash: bytes32 = self._hash[request_id]
    assert result_hash != worker_hash, "InferenceMarket: challenge repeats the result"
    self._core[request_id] = self._with_state(core, CHALLENGED)
    dispute_id: uint256 = extcall court.open_dispute(
        self._model(core),
        worker,
        msg.sender,
        request_id,
        worker_hash,
        result_hash,
        self.account_at[core & ID_MASK],  # the requester, refunded if the worker loses: never drawn
        value=msg.value,
    )
    self.challenges[request_id] = Challenge(
        challenger=msg.sender, bond=msg.value, result_hash=result_hash, dispute_id=dispute_id
    )
    log InferenceChallenged(
        request_id=request_id, challenger=msg.sender, result_hash=result_hash, bond=msg.value, dispute_id=dispute_id
    )


@external
@nonreentrant
def on_verdict(subject_id: uint256, worker_was_right: bool):
    """
    @notice The DisputeCourt applies the end of a challenge (the bond is
            the court's to pay). The worker was right, or the appeal expired
            unruled: the result stands and the request can be finalized at
            once. The worker was wrong: it is slashed `challenge_slash` (at
            most what was locked for the request), half to the challenger and
            the rest to the treasury (a challenger that is the worker's own
            sybil must still lose), and the requester is refunded in full.
    @param subject_id The challenged request.
    @param worker_was_right The verdict.
    """
    assert msg.sender == court.address, "InferenceMarket: caller is not the court"
    core: uint256 = self._core[subject_id]
    assert self._state(core) == CHALLENGED, "InferenceMarket: request not challenged"
    slashed: uint256 = 0
    if worker_was_right:
        # Back to fulfilled with stamp zero: the window is over.
        self._core[subject_id] = self._with_state(core, FULFILLED) & ~(TIME_MASK << STAMP_SHIFT)
    else:
        worker: address = self._worker_of(subject_id)
        self._refund_requester(subject_id, core)
        share: uint256 = self._release(worker, 1)
        penalty: uint256 = min(self.params.challenge_slash, share)  # governance may set it to zero
        if penalty > 0:
            slashed = extcall workers.slash_split(worker, penalty, self.challenges[subject_id].challenger, governance)
        self._unlock(worker, share)  # after the slash: the locked stake is taken first
    log ChallengeResolved(request_id=subject_id, worker_was_right=worker_was_right, slashed=slashed)


# ---------------------------------------------------------------- settlement


@external
@nonreentrant
def finalize(request_id: uint256):
    """
    @notice Settles a fulfilled request after its challenge window; callable by anyone.
    @param request_id The fulfilled request.
    """
    self._finalize_many([request_id], True)


@external
@nonreentrant
def finalize_batch(request_ids: DynArray[uint256, MAX_BATCH]) -> uint256:
    """
    @notice Settles every request in `request_ids` that is finalizable; skips the rest.
    @return How many were finalized.
    @param request_ids The requests to try; the others are skipped.
    """
    return self._finalize_many(request_ids, False)


@external
@nonreentrant
def refund(request_id: uint256):
    """
    @notice After the deadline of an unfulfilled request, credits the requester
            everything it paid; records the claiming worker's miss, slashes it
            by `miss_slash` (at most what was locked for the request) and
            releases its lock. Callable by anyone.
    @param request_id The unfulfilled request.
    """
    core: uint256 = self._core[request_id]
    state: uint256 = self._state(core)
    assert state == REQUESTED or state == CLAIMED, "InferenceMarket: request not refundable"
    assert block.timestamp > self._deadline(core), "InferenceMarket: deadline not passed"
    self._refund_requester(request_id, core)
    if state == CLAIMED:
        worker: address = self._worker_of(request_id)
        extcall workers.record_outcomes(worker, 0, 1)
        share: uint256 = self._release(worker, 1)
        penalty: uint256 = min(self.params.miss_slash, share)  # governance may set it to zero
        if penalty > 0:
            extcall workers.slash(worker, penalty, governance)
        self._unlock(worker, share)  # after the slash: the locked stake is taken first


# ---------------------------------------------------------------- views and governance


@external
@view
def get_request(request_id: uint256) -> RequestView:
    """
    @notice The unpacked state of a request (state 0: unknown).
    @param request_id The request.
    @return Its unpacked state.
    """
    return self._view(request_id)


@external
@view
def get_requests(request_ids: DynArray[uint256, MAX_BATCH]) -> DynArray[RequestView, MAX_BATCH]:
    """
    @notice `get_request` for many requests in one call: a worker reads all the
            requests it follows with one RPC round trip instead of one each.
    @param request_ids The requests.
    @return Their unpacked states, in order.
    """
    views: DynArray[RequestView, MAX_BATCH] = []
    for request_id: uint256 in request_ids:
        views.append(self._view(request_id))
    return views


@internal
@view
def _view(request_id: uint256) -> RequestView:
    core: uint256 = self._core[request_id]
    return RequestView(
        requester=self.account_at[core & ID_MASK],
        model_id=self._model(core),
        deadline=self._deadline(core),
        state=self._state(core),
        has_callback=self._has_callback(core),
        stamp=self._stamp(core),
        worker=self.account_at[(core >> WORKER_SHIFT) & ID_MASK],
        payment=core >> ESCROW_SHIFT,
        hash=self._hash[request_id],
    )


@external
@view
def exposure(worker: address) -> (uint256, uint256):
    """
    @notice The worker's requests in flight (claimed, fulfilled or challenged,
            not yet settled) and the token wei this market has locked for them.
    @param worker The worker.
    @return (requests in flight, token wei locked for them).
    """
    word: uint256 = self._exposure[worker]
    return (word >> EXPOSURE_COUNT_SHIFT) & EXPOSURE_COUNT_MASK, word & EXPOSURE_AMOUNT_MASK


@external
@view
def result_of(request_id: uint256) -> Bytes[MAX_RESULT]:
    """
    @notice The canonical result bytes posted for a callback request.
    @param request_id The request.
    @return The canonical result (empty unless a callback request was fulfilled).
    """
    return self._results[request_id]


@external
@view
def split_bps() -> fee_split.FeeSplit:
    """
    @notice The governed fee split (part of `params`): what PaymentChannels
            divides its settlements by, so both payment paths share it.
    @return The worker's, shareholders' and holders' basis points.
    """
    return self._split_bps()


@external
def set_params(new_params: MarketParams):
    """
    @notice Governance sets every market parameter at once.
    @param new_params Every market parameter.
    """
    self._check_governance()
    self._check_params(new_params)
    log ParamsChanged(old_params=self.params, new_params=new_params)
    self.params = new_params


# ---------------------------------------------------------------- internal


@internal
@view
def _check_params(p: MarketParams):
    assert fee_split._is_valid(
        fee_split.FeeSplit(worker_bps=p.worker_bps, shareholders_bps=p.shareholders_bps, holders_bps=p.holders_bps)
    ), "InferenceMarket: fee split above 100%"
    assert p.protocol_fee_bps <= fee_split.BPS, "InferenceMarket: protocol fee above 100%"
    assert p.claim_timeout > 0, "InferenceMarket: claim timeout is zero"
    assert p.challenge_window > 0, "InferenceMarket: challenge window is zero"
    assert p.challenge_window <= MAX_CHALLENGE_WINDOW, "InferenceMarket: challenge window above bound"
    assert p.challenge_slash <= MAX_SLASH, "InferenceMarket: challenge slash above bound"
    assert p.miss_slash <= MAX_SLASH, "InferenceMarket: miss slash above bound"
    assert p.max_result_size <= MAX_RESULT, "InferenceMarket: result size above bound"


@internal
@view
def _check_governance():
    assert msg.sender == governance, "InferenceMarket: caller is not governance"


@internal
@view
def _split_bps() -> fee_split.FeeSplit:
    return fee_split.FeeSplit(
        worker_bps=self.params.worker_bps,
        shareholders_bps=self.params.shareholders_bps,
        holders_bps=self.params.holders_bps,
    )


@internal
@view
def _check_active_worker(worker: address):
    assert staticcall workers.active_signer(worker) != empty(address), "InferenceMarket: caller is not an active worker"


@internal
@view
def _payment(price: uint256) -> uint256:
    return price + price * self.params.protocol_fee_bps // fee_split.BPS


@internal
@view
def _check_request(model_id: uint256, deadline: uint256) -> uint256:
    """
    @dev Checks a request's model and deadline; returns the payment to escrow per request.
    """
    active: bool = False
    price: uint256 = 0
    active, price = staticcall models.model_terms(model_id)
    assert active, "InferenceMarket: model not active"
    assert deadline > block.timestamp, "InferenceMarket: deadline passed"
    assert deadline <= TIME_MASK, "InferenceMarket: deadline too far"
    payment: uint256 = self._payment(price)
    assert payment < ESCROW_LIMIT, "InferenceMarket: payment too large"
    return payment


@internal
def _request(
    model_id: uint256,
    input_hash: bytes32,
    input_uri: String[MAX_INPUT_URI],
    deadline: uint256,
    callback_gas_limit: uint256,
    paid: uint256,
) -> uint256:
    payment: uint256 = self._check_request(model_id, deadline)
    assert input_hash != empty(bytes32), "InferenceMarket: empty input hash"
    callback_fee: uint256 = callback_gas_limit * self.params.callback_gas_price
    cost: uint256 = payment + callback_fee
    assert paid >= cost, "InferenceMarket: insufficient payment"

    request_id: uint256 = self.request_count + 1
    self.request_count = request_id
    state: uint256 = REQUESTED
    if callback_gas_limit > 0:
        state |= CALLBACK
        self.callbacks[request_id] = Callback(gas_limit=callback_gas_limit, fee=callback_fee)
    self._core[request_id] = (
        self._account(msg.sender)
        | (model_id << MODEL_SHIFT)
        | (deadline << DEADLINE_SHIFT)
        | (state << STATE_SHIFT)
        | (payment << ESCROW_SHIFT)
    )
    self._hash[request_id] = input_hash
    log InferenceRequested(
        request_id=request_id,
        model_id=model_id,
        requester=msg.sender,
        input_hash=input_hash,
        input_uri=input_uri,
        deadline=deadline,
        payment=payment,
        callback_gas_limit=callback_gas_limit,
    )
    if paid > cost:
        raw_call(msg.sender, b"", value=paid - cost)
    return request_id


@internal
def _account(who: address) -> uint256:
    """
    @dev The account id of `who`, given now if it has none (ids start at 1, so
         a zero worker id in a core word means no claimant).
    """
    account: uint256 = self.account_id[who]
    if account == 0:
        account = self.account_count + 1
        assert account <= ID_MASK, "InferenceMarket: account ids exhausted"
        self.account_count = account
        self.account_id[who] = account
        self.account_at[account] = who
    return account


@internal
def _claim(request_id: uint256, account: uint256, strict: bool) -> bool:
    """
    @dev Claims for msg.sender (already checked active; `account` is its id). Unclaimable
         requests revert when `strict`, else are skipped. The hot paths
         (claim, fulfill, finalize: once per request of a batch) read the
         packed word inline, as the accessors below do: an internal call
         costs about 50 gas, a batch of 100 pays it 100 times.
    """
    core: uint256 = self._core[request_id]
    state: uint256 = (core >> STATE_SHIFT) & STATE_ONLY
    now: uint256 = block.timestamp
    previous: address = empty(address)
    if state == CLAIMED:
        if now <= self._stamp(core) + self.params.claim_timeout:
            if strict:
                raise "InferenceMarket: request already claimed"
            return False
        previous = self.account_at[(core >> WORKER_SHIFT) & ID_MASK]
    elif state != REQUESTED:
        if strict:
            raise "InferenceMarket: request not open"
        return False
    if now > (core >> DEADLINE_SHIFT) & TIME_MASK:
        if strict:
            raise "InferenceMarket: request expired"
        return False
    core = self._with_state(core, CLAIMED) & ~((TIME_MASK << STAMP_SHIFT) | (ID_MASK << WORKER_SHIFT))
    self._core[request_id] = core | (now << STAMP_SHIFT) | (account << WORKER_SHIFT)
    log InferenceClaimed(request_id=request_id, worker=msg.sender)
    if previous != empty(address):
        # The earlier claimant let its exclusive claim time out: a miss, not
        # slashed; its lock for this request is released (the caller locks
        # for the new claimant).
        extcall workers.record_outcomes(previous, 0, 1)
        self._unlock(previous, self._release(previous, 1))
    return True


@internal
def _fulfill(
    request_id: uint256,
    core: uint256,
    worker: address,
    result_hash: bytes32,
    result_uri: String[MAX_URI],
    signature: Bytes[65],
    result: Bytes[MAX_RESULT],
    signer: address,
):
    """
    @dev `core` is the request's core word, `worker` its claimant and `signer`
         the claimant's active signer (zero if it is not active).
    """
    assert (core >> STATE_SHIFT) & STATE_ONLY == CLAIMED, "InferenceMarket: request not claimed"
    # Only the claimant posts its result: the result URI is not signed, and a relayer that swapped it for one
    # that serves nothing would have the committee find the result "not served as attested" and slash an
    # honest worker.
    assert msg.sender == worker, "InferenceMarket: caller is not the claimant"
    assert block.timestamp <= (core >> DEADLINE_SHIFT) & TIME_MASK, "InferenceMarket: request expired"
    assert result_hash != empty(bytes32), "InferenceMarket: empty result hash"
    assert signer != empty(address), "InferenceMarket: worker is not active"
    struct_hash: bytes32 = keccak256(
        abi_encode(_RESULT_TYPE_HASH, request_id, (core >> MODEL_SHIFT) & MODEL_MASK, self._hash[request_id], result_hash)
    )
    recovered: address = ecdsa._recover_sig(eip712_domain_separator._hash_typed_data_v4(struct_hash), signature)
    assert recovered == signer, "InferenceMarket: invalid signature"
    if (core >> STATE_SHIFT) & CALLBACK != 0:
        assert len(result) > 0, "InferenceMarket: callback request needs the result"
        assert len(result) <= self.params.max_result_size, "InferenceMarket: result too large"
        assert keccak256(result) == result_hash, "InferenceMarket: result does not match hash"
        self._results[request_id] = result
    self._hash[request_id] = result_hash
    self._core[request_id] = (
        (core & ~((STATE_ONLY << STATE_SHIFT) | (TIME_MASK << STAMP_SHIFT)))
        | (FULFILLED << STATE_SHIFT)
        | (block.timestamp << STAMP_SHIFT)
    )
    log InferenceFulfilled(
        request_id=request_id,
        worker=worker,
        result_hash=result_hash,
        result_uri=result_uri,
    )


@internal
def _finalize_many(request_ids: DynArray[uint256, MAX_BATCH], strict: bool) -> uint256:
    """
    @dev Settles each finalizable request; credits are summed over runs of
         the same worker and model so a batch makes few storage writes and
         external calls.
    """
    bps: fee_split.FeeSplit = self._split_bps()
    window: uint256 = self.params.challenge_window
    now: uint256 = block.timestamp

    run_worker_id: uint256 = 0
    split_of: uint256 = 0  # the escrow `split` divides
    split: fee_split.Split = fee_split._split(0, bps)
    run_worker: address = empty(address)
    run_worker_amount: uint256 = 0
    run_worker_count: uint256 = 0
    run_model: uint256 = 0
    run_model_amount: uint256 = 0
    holders_total: uint256 = 0
    treasury_total: uint256 = 0
    finalized: uint256 = 0

    for request_id: uint256 in request_ids:
        core: uint256 = self._core[request_id]
        if (core >> STATE_SHIFT) & STATE_ONLY != FULFILLED:
            if strict:
                raise "InferenceMarket: request not fulfilled"
            continue
        if now <= ((core >> STAMP_SHIFT) & TIME_MASK) + window:
            if strict:
                raise "InferenceMarket: challenge window open"
            continue
        self._core[request_id] = self._with_state(core, FINALIZED)
        worker_id: uint256 = (core >> WORKER_SHIFT) & ID_MASK
        if worker_id != run_worker_id:
            self._credit_worker(run_worker, run_worker_amount, run_worker_count)
            run_worker_id = worker_id
            run_worker = self.account_at[worker_id]
            run_worker_amount = 0
            run_worker_count = 0
        worker: address = run_worker
        model_id: uint256 = (core >> MODEL_SHIFT) & MODEL_MASK
        escrow: uint256 = core >> ESCROW_SHIFT
        if escrow != split_of:  # a batch's requests escrow the same payment: split it once
            split_of = escrow
            split = fee_split._split(escrow, bps)
        log InferenceFinalized(
            request_id=request_id,
            worker=worker,
            worker_amount=split.worker,
            shareholders_amount=split.shareholders,
            holders_amount=split.holders,
            treasury_amount=split.treasury,
        )
        finalized += 1

        run_worker_amount += split.worker
        run_worker_count += 1
        if model_id != run_model:
            fee_split._pay_shareholders(run_model, run_model_amount)
            run_model = model_id
            run_model_amount = 0
        run_model_amount += split.shareholders
        holders_total += split.holders
        treasury_total += split.treasury

        if (core >> STATE_SHIFT) & CALLBACK != 0:
            self._deliver(request_id)

    self._credit_worker(run_worker, run_worker_amount, run_worker_count)
    fee_split._pay_shareholders(run_model, run_model_amount)
    if treasury_total > 0:
        pull_payments._credit_treasury(treasury_total)
    fee_split._pay_holders(holders_total)
    return finalized


@internal
def _credit_worker(worker: address, amount: uint256, count: uint256):
    if count == 0:
        return
    if amount > 0:
        pull_payments._credit(worker, amount)
    extcall workers.record_outcomes(worker, count, 0)
    self._unlock(worker, self._release(worker, count))


@internal
def _expose(worker: address, count: uint256):
    """
    @dev Adds `count` requests in flight to the worker's exposure and locks
         max(miss_slash, challenge_slash) of its stake for each, one
         registry call for all.
    """
    amount: uint256 = count * max(self.params.miss_slash, self.params.challenge_slash)
    # Each amount is at most MAX_SLASH (2**128) and there are fewer than 2**63
    # requests, so the total stays below 2**192 and the count below the flag.
    self._exposure[worker] = (self._exposure[worker] | EXPOSURE_KEPT) + (count << EXPOSURE_COUNT_SHIFT) + amount
    if amount > 0:
        extcall workers.lock(worker, amount)


@internal
@view
def _claim_room(worker: address) -> uint256:
    """
    @dev How many more requests the worker's stake covers the lock of, beside what this market
         already locks for it. Other contracts' locks (pending receipt disputes, committee duty) do
         not count: each takes only a bond from whoever opens it, and a stranger could otherwise
         stop an honest worker's claims with a handful of challenges of one receipt.
    """
    per_request: uint256 = max(self.params.miss_slash, self.params.challenge_slash)
    if per_request == 0:
        return max_value(uint256)
    stake: uint256 = staticcall workers.stake_of(worker)
    held: uint256 = self._exposure[worker] & EXPOSURE_AMOUNT_MASK
    return (stake - min(stake, held)) // per_request


@internal
def _release(worker: address, count: uint256) -> uint256:
    """
    @dev Takes `count` settled requests off the worker's exposure and returns
         their share of its lock (all of it with the last ones), so the shares
         add up to exactly what was locked even if the slash parameters
         changed in between. The caller unlocks it (after any slash).
    """
    word: uint256 = self._exposure[worker]
    open_count: uint256 = (word >> EXPOSURE_COUNT_SHIFT) & EXPOSURE_COUNT_MASK
    total: uint256 = word & EXPOSURE_AMOUNT_MASK
    share: uint256 = total
    if count < open_count:
        share = total * count // open_count
    self._exposure[worker] = EXPOSURE_KEPT | ((open_count - count) << EXPOSURE_COUNT_SHIFT) | (total - share)
    return share


@internal
def _unlock(worker: address, amount: uint256):
    if amount > 0:
        extcall workers.unlock(worker, amount)


@internal
def _deliver(request_id: uint256):
    """
    @dev Calls the requester's `on_inference_result` with the gas it paid for.
         The finalizer must leave enough gas for that (63/64 rule), so it
         cannot starve the callback; a revert is recorded, not propagated.
    """
    callback: Callback = self.callbacks[request_id]
    assert msg.gas >= callback.gas_limit * 64 // 63 + CALLBACK_RESERVE, "InferenceMarket: insufficient gas for callback"
    pull_payments._credit(msg.sender, callback.fee)
    consumer: address = self.account_at[self._core[request_id] & ID_MASK]
    success: bool = raw_call(
        consumer,
        abi_encode(request_id, self._hash[request_id], self._results[request_id], method_id=_CALLBACK_SELECTOR),
        gas=callback.gas_limit,
        max_outsize=0,
        revert_on_failure=False,
    )
    log CallbackDelivered(request_id=request_id, success=success)


@internal
def _refund_requester(request_id: uint256, core: uint256):
    requester: address = self.account_at[core & ID_MASK]
    amount: uint256 = core >> ESCROW_SHIFT
    if self._has_callback(core):
        amount += self.callbacks[request_id].fee
    pull_payments._credit(requester, amount)
    self._core[request_id] = self._with_state(core, REFUNDED)
    log InferenceRefunded(
        request_id=request_id,
        requester=requester,
        amount=amount,
        missed_by=self.account_at[(core >> WORKER_SHIFT) & ID_MASK],
    )


@internal
@view
def _worker_of(request_id: uint256) -> address:
    # The claimant (empty before any claim: id 0 has no address).
    return self.account_at[(self._core[request_id] >> WORKER_SHIFT) & ID_MASK]


@internal
@pure
def _state(core: uint256) -> uint256:
    return (core >> STATE_SHIFT) & STATE_ONLY


@internal
@pure
def _has_callback(core: uint256) -> bool:
    return (core >> STATE_SHIFT) & CALLBACK != 0


@internal
@pure
def _model(core: uint256) -> uint256:
    return (core >> MODEL_SHIFT) & MODEL_MASK


@internal
@pure
def _deadline(core: uint256) -> uint256:
    return (core >> DEADLINE_SHIFT) & TIME_MASK


@internal
@pure
def _stamp(core: uint256) -> uint256:
    return (core >> STAMP_SHIFT) & TIME_MASK


@internal
@pure
def _with_state(core: uint256, state: uint256) -> uint256:
    # Keeps the CALLBACK flag, replaces the state.
    return (core & ~(STATE_ONLY << STATE_SHIFT)) | (state << STATE_SHIFT)
