# pragma version ~=0.4.3
"""
@title Neural Commons payment channels: real-time paid inference
@license MIT
@notice A prepaid channel per (app builder, worker, model). The app builder
        deposits ETH; each call to the worker's API carries an EIP-712
        voucher `Voucher(bytes32 channelId,uint256 amount)` signed by the
        payer for the cumulative amount the channel may now pay (the latest
        supersedes the rest). The worker settles its latest vouchers when it
        likes, several channels per transaction; the difference to the last
        settlement is split exactly as per-request payments are (the
        market's governed basis points, the shared fee_split module).

        Accountability without per-call transactions: the worker answers
        each call with a receipt signed by its registered key,
        `InferenceReceipt(bytes32 channelId,uint256 seq,bytes32 inputHash,bytes32 resultHash)`.
        The channel's payer can challenge a receipt, once, with a bond and the
        evidence (URIs of the input and of the worker's result bytes, which
        must hash to the signed hashes; emitted, never stored); the bond goes
        to the DisputeCourt, whose committee of verifiers re-executes and
        decides (governance only on appeal), and its verdict comes back
        through `on_verdict`: the loser is slashed or loses the bond. A
        challenge locks `challenge_slash` of the worker's WorkerRegistry
        stake until it ends, so unbonding does not escape it, and every
        court dispute ends in bounded time (an unruled appeal expires and
        the receipt stands).

        Closing: the payer asks, and after the governed close delay (time
        for the worker to settle its latest voucher) the unspent deposit
        returns to the payer. The worker can close at once.
@custom:security Channel ids include a per-(payer, worker, model) epoch, so a
        voucher of a closed channel can never pay on its reopened successor;
        the EIP-712 domain binds vouchers to this contract and chain; a
        voucher never pays more than the deposit. Payments are pulled.
"""

from snekmate.utils import ecdsa

from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator

from ..interfaces import ICourtClient
from ..interfaces import IDisputeCourt
from ..interfaces import IInferenceMarket
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


MAX_SETTLE: constant(uint256) = 64  # vouchers per settle call
# Bounds on the governed parameters. A close delay of at least a minute leaves the worker's settle loop
# (a tick at a quarter of the delay) time to cash a closing channel; at most 30 days bounds how long a
# payer's unspent deposit waits. A slash below 2**128 keeps WorkerRegistry's lock sums from overflowing
# (a larger one would make every receipt challenge revert).
MIN_CLOSE_DELAY: constant(uint256) = 60
MAX_CLOSE_DELAY: constant(uint256) = 30 * 86_400
MAX_SLASH: constant(uint256) = 2**128
MAX_EVIDENCE_URI: constant(uint256) = 1_024  # bytes of an evidence URI (the market's input URI bound: small ones fit inline)

_VOUCHER_TYPE_HASH: constant(bytes32) = keccak256("Voucher(bytes32 channelId,uint256 amount)")
_RECEIPT_TYPE_HASH: constant(bytes32) = keccak256(
    "InferenceReceipt(bytes32 channelId,uint256 seq,bytes32 inputHash,bytes32 resultHash)"
)


struct Channel:
    payer: address
    worker: address
    model_id: uint256
    deposit: uint256  # wei ever deposited
    settled: uint256  # wei paid out so far (the last settled voucher amount)
    closes_at: uint256  # zero while open; set by request_close
    closed: bool


struct VoucherItem:
    channel_id: bytes32
    amount: uint256  # cumulative
    signature: Bytes[65]
    receipts_root: bytes32  # optional Merkle root of the receipts this voucher pays for


struct ReceiptChallenge:
    challenger: address
    bond: uint256
    worker: address
    channel_id: bytes32
    seq: uint256
    input_hash: bytes32
    result_hash: bytes32  # what the worker signed
    claimed_hash: bytes32  # what the challenger says is right
    resolved: bool  # the court's verdict has been applied
    locked: uint256  # token wei of the worker's stake locked for this challenge
    dispute_id: uint256  # in the DisputeCourt


struct ChannelParams:
    close_delay: uint256  # seconds the worker has to settle after the payer asks to close
    challenge_bond: uint256  # wei
    challenge_slash: uint256  # token wei taken from a worker whose receipt is overturned


governance: public(immutable(address))  # the timelock, also the treasury
models: public(immutable(IModelRegistry))
workers: public(immutable(IWorkerRegistry))
market: public(immutable(IInferenceMarket))
court: public(immutable(IDisputeCourt))

params: public(ChannelParams)
channels: public(HashMap[bytes32, Channel])
epochs: public(HashMap[address, HashMap[address, HashMap[uint256, uint256]]])  # payer -> worker -> model -> epoch
challenges: public(HashMap[uint256, ReceiptChallenge])
challenge_count: public(uint256)
# The challenge of each receipt (by its EIP-712 digest), 0 if none: a receipt
# is challenged once. Copies of a challenge would each lock and slash
# `challenge_slash` (one wrong receipt taking the whole stake), and a decided
# receipt stands.
receipt_challenge: public(HashMap[bytes32, uint256])


event ChannelOpened:
    channel_id: indexed(bytes32)
    payer: indexed(address)
    worker: indexed(address)
    model_id: uint256
    deposit: uint256


event ChannelFunded:
    channel_id: indexed(bytes32)
    amount: uint256
    deposit: uint256


event ChannelSettled:
    channel_id: indexed(bytes32)
    amount: uint256  # cumulative voucher amount now settled
    paid: uint256  # paid out by this settlement
    receipts_root: bytes32


event CloseRequested:
    channel_id: indexed(bytes32)
    closes_at: uint256


event ChannelClosed:
    channel_id: indexed(bytes32)
    refunded: uint256


event ReceiptChallenged:
    challenge_id: indexed(uint256)
    channel_id: indexed(bytes32)
    challenger: indexed(address)
    seq: uint256
    claimed_hash: bytes32
    dispute_id: uint256
    input_uri: String[MAX_EVIDENCE_URI]  # bytes hashing to the receipt's input hash
    result_uri: String[MAX_EVIDENCE_URI]  # the worker's result bytes, hashing to the signed result hash


event ReceiptChallengeResolved:
    challenge_id: indexed(uint256)
    worker_was_right: bool
    slashed: uint256


event ParamsChanged:
    old_params: ChannelParams
    new_params: ChannelParams


@deploy
def __init__(
    governance_: address,
    models_: IModelRegistry,
    workers_: IWorkerRegistry,
    market_: IInferenceMarket,
    court_: IDisputeCourt,
    shares_: IModelShares,
    token_: IRevenueToken,
    params_: ChannelParams,
):
    """
    @param governance_ The timelock.
    @param models_ ModelRegistry (which models are active).
    @param workers_ WorkerRegistry; this contract must be authorised there to slash.
    @param market_ InferenceMarket, whose governed fee split channels share.
    @param court_ DisputeCourt; these channels must be its client.
    @param shares_ ModelShares.
    @param token_ GovernanceToken (holder revenue).
    @param params_ Initial channel parameters.
    """
    eip712_domain_separator.__init__("PaymentChannels", "1")
    governance = governance_
    models = models_
    workers = workers_
    market = market_
    court = court_
    pull_payments.__init__(governance_)
    fee_split.__init__(shares_, token_)
    self._check_params(params_)
    self.params = params_


# ---------------------------------------------------------------- channels


@external
@payable
@nonreentrant
def open_channel(worker: address, model_id: uint256) -> bytes32:
    """
    @notice Opens a prepaid channel to `worker` for `model_id` with `msg.value`.
    @return The channel id.
    @param worker The worker serving the calls.
    @param model_id The model it serves.
    """
    active: bool = False
    price: uint256 = 0
    active, price = staticcall models.model_terms(model_id)
    assert active, "PaymentChannels: model not active"
    assert staticcall workers.active_signer(worker) != empty(address), "PaymentChannels: worker not active"
    channel_id: bytes32 = self._channel_id(msg.sender, worker, model_id)
    assert self.channels[channel_id].payer == empty(address), "PaymentChannels: channel already open"
    self.channels[channel_id] = Channel(
        payer=msg.sender, worker=worker, model_id=model_id, deposit=msg.value, settled=0, closes_at=0, closed=False
    )
    log ChannelOpened(channel_id=channel_id, payer=msg.sender, worker=worker, model_id=model_id, deposit=msg.value)
    return channel_id


@external
@payable
@nonreentrant
def fund(channel_id: bytes32):
    """
    @notice The payer adds `msg.value` to an open channel (not closing, not closed).
    @param channel_id The channel.
    """
    assert self.channels[channel_id].payer == msg.sender, "PaymentChannels: caller is not the payer"
    assert self.channels[channel_id].closes_at == 0, "PaymentChannels: channel closing"
    # The worker may close at any time, leaving `closes_at` at zero: a top-up landing after that would be
    # stuck for good (nothing pays out a closed channel's deposit).
    assert not self.channels[channel_id].closed, "PaymentChannels: channel closed"
    assert msg.value > 0, "PaymentChannels: nothing to fund"
    deposit: uint256 = self.channels[channel_id].deposit + msg.value
    self.channels[channel_id].deposit = deposit
    log ChannelFunded(channel_id=channel_id, amount=msg.value, deposit=deposit)


@external
@nonreentrant
def settle(vouchers: DynArray[VoucherItem, MAX_SETTLE]) -> uint256:
    """
    @notice The worker cashes its latest vouchers, any number of inferences
            and channels in one transaction. Each pays the difference to the
            channel's last settlement, split like per-request payments.
    @return Total wei paid out.
    @param vouchers The latest voucher of each channel, signed by its payer.
    """
    bps: fee_split.FeeSplit = staticcall market.split_bps()
    run_model: uint256 = 0
    run_model_amount: uint256 = 0
    worker_total: uint256 = 0
    holders_total: uint256 = 0
    treasury_total: uint256 = 0
    paid_total: uint256 = 0
    for item: VoucherItem in vouchers:
        channel: Channel = self.channels[item.channel_id]
        assert channel.worker == msg.sender, "PaymentChannels: caller is not the channel's worker"
        assert not channel.closed, "PaymentChannels: channel closed"
        assert item.amount > channel.settled, "PaymentChannels: voucher not newer than last settlement"
        assert item.amount <= channel.deposit, "PaymentChannels: voucher exceeds deposit"
        assert self._voucher_signer(item.channel_id, item.amount, item.signature) == channel.payer, "PaymentChannels: invalid voucher signature"
        paid: uint256 = item.amount - channel.settled
        self.channels[item.channel_id].settled = item.amount
        log ChannelSettled(channel_id=item.channel_id, amount=item.amount, paid=paid, receipts_root=item.receipts_root)
        split: fee_split.Split = fee_split._split(paid, bps)
        worker_total += split.worker
        holders_total += split.holders
        treasury_total += split.treasury
        paid_total += paid
        if channel.model_id != run_model:
            fee_split._pay_shareholders(run_model, run_model_amount)
            run_model = channel.model_id
            run_model_amount = 0
        run_model_amount += split.shareholders
    fee_split._pay_shareholders(run_model, run_model_amount)
    if worker_total > 0:
        pull_payments._credit(msg.sender, worker_total)
    if treasury_total > 0:
        pull_payments._credit_treasury(treasury_total)
    fee_split._pay_holders(holders_total)
    return paid_total


@external
def request_close(channel_id: bytes32):
    """
    @notice The payer asks to close; after the close delay anyone can finish it.
    @param channel_id The channel.
    """
    assert self.channels[channel_id].payer == msg.sender, "PaymentChannels: caller is not the payer"
    assert not self.channels[channel_id].closed, "PaymentChannels: channel closed"
    assert self.channels[channel_id].closes_at == 0, "PaymentChannels: close already requested"
    closes_at: uint256 = block.timestamp + self.params.close_delay
    self.channels[channel_id].closes_at = closes_at
    log CloseRequested(channel_id=channel_id, closes_at=closes_at)


@external
def close(channel_id: bytes32):
    """
    @notice Closes a channel: by its worker at any time, or by anyone once the
            payer's close delay has passed. The unspent deposit goes to the payer.
    @param channel_id The channel.
    """
    channel: Channel = self.channels[channel_id]
    assert channel.payer != empty(address), "PaymentChannels: unknown channel"
    assert not channel.closed, "PaymentChannels: channel closed"
    if msg.sender != channel.worker:
        assert channel.closes_at != 0, "PaymentChannels: close not requested"
        assert block.timestamp >= channel.closes_at, "PaymentChannels: close delay not passed"
    refund: uint256 = channel.deposit - channel.settled
    self.channels[channel_id].closed = True
    # The next channel of this (payer, worker, model) gets a new id.
    self.epochs[channel.payer][channel.worker][channel.model_id] += 1
    pull_payments._credit(channel.payer, refund)
    log ChannelClosed(channel_id=channel_id, refunded=refund)


# ---------------------------------------------------------------- receipts and disputes


@external
@payable
@nonreentrant
def challenge_receipt(
    channel_id: bytes32,
    seq: uint256,
    input_hash: bytes32,
    result_hash: bytes32,
    signature: Bytes[65],
    claimed_hash: bytes32,
    input_uri: String[MAX_EVIDENCE_URI],
    result_uri: String[MAX_EVIDENCE_URI],
) -> uint256:
    """
    @notice The channel's payer disputes a receipt the channel's worker
            signed, once per receipt, posting the bond,
            the result hash the challenger says is right and the evidence a
            committee needs to re-execute: where to fetch the call's input
            and the worker's result bytes (the payer received both in the
            worker's answer). The URIs are emitted, not stored. Evidence
            that cannot be fetched or does not hash to the signed hashes
            leaves the challenge unsubstantiated: verifiers vote for the
            worker (docs/verification.md). Locks
            `challenge_slash` of the worker's stake until the challenge ends
            and forwards the bond to the DisputeCourt, which opens a dispute
            judged by the model's verifiers. The worker's receipts stay
            challengeable while it unbonds (until it has withdrawn), and
            a key it rotated away for the unbonding delay after the rotation.
    @return The challenge id.
    @param channel_id The channel the receipt is for.
    @param seq The receipt's sequence number.
    @param input_hash keccak256 of the input of the call.
    @param result_hash The result hash the worker signed.
    @param signature The worker's EIP-712 InferenceReceipt signature.
    @param claimed_hash The result hash the challenger says is right.
    @param input_uri Where the input is (a `data:` URI inline, or http(s)); its bytes hash to `input_hash`.
    @param result_uri Where the worker's result bytes are (`data:` or http(s)); they hash to `result_hash`.
    """
    worker: address = self.channels[channel_id].worker
    assert worker != empty(address), "PaymentChannels: unknown channel"
    # Only the payer, who paid for the call and holds its evidence: a copy of
    # its challenge sent ahead of it (the calldata is public) would take its
    # reward, and the worker's own copy with withheld evidence would leave the
    # receipt standing before the payer's challenge lands.
    assert msg.sender == self.channels[channel_id].payer, "PaymentChannels: caller is not the payer"
    assert len(input_uri) > 0, "PaymentChannels: input uri is empty"
    assert len(result_uri) > 0, "PaymentChannels: result uri is empty"
    assert msg.value == self.params.challenge_bond, "PaymentChannels: wrong challenge bond"
    assert claimed_hash != result_hash, "PaymentChannels: challenge repeats the result"
    digest: bytes32 = self._receipt_digest(channel_id, seq, input_hash, result_hash)
    assert self.receipt_challenge[digest] == 0, "PaymentChannels: receipt already challenged"
    signer: address = ecdsa._recover_sig(digest, signature)
    # A key that binds the worker: the registered one, or one rotated away less
    # than the unbonding delay ago (a rotation sent ahead of this challenge
    # escapes nothing). Registered, not active: an unbonding worker still
    # answers for its receipts.
    assert staticcall workers.binds(worker, signer), "PaymentChannels: receipt not signed by the worker"
    locked: uint256 = self.params.challenge_slash
    challenge_id: uint256 = self.challenge_count + 1
    self.challenge_count = challenge_id
    self.receipt_challenge[digest] = challenge_id
    if locked > 0:
        extcall workers.lock(worker, locked)
    dispute_id: uint256 = extcall court.open_dispute(
        self.channels[channel_id].model_id,
        worker,
        msg.sender,
        challenge_id,
        result_hash,
        claimed_hash,
        empty(address),  # only the challenger gains if the worker loses
        value=msg.value,
    )
    self.challenges[challenge_id] = ReceiptChallenge(
        challenger=msg.sender,
        bond=msg.value,
        worker=worker,
        channel_id=channel_id,
        seq=seq,
        input_hash=input_hash,
        result_hash=result_hash,
        claimed_hash=claimed_hash,
        resolved=False,
        locked=locked,
        dispute_id=dispute_id,
    )
    log ReceiptChallenged(
        challenge_id=challenge_id,
        channel_id=channel_id,
        challenger=msg.sender,
        seq=seq,
        claimed_hash=claimed_hash,
        dispute_id=dispute_id,
        input_uri=input_uri,
        result_uri=result_uri,
    )
    return challenge_id


@external
@nonreentrant
def on_verdict(subject_id: uint256, worker_was_right: bool):
    """
    @notice The DisputeCourt applies the end of a receipt challenge (the bond
            is the court's to pay). The worker was wrong: it is slashed
            `challenge_slash` (at most what was locked), half to the
            challenger and the rest to the treasury (a challenger that is the
            worker's own sybil must still lose). Either
            way the lock is released; a receipt upheld, or whose appeal
            expired unruled, stands.
    @param subject_id The receipt challenge.
    @param worker_was_right The verdict.
    """
    assert msg.sender == court.address, "PaymentChannels: caller is not the court"
    dispute: ReceiptChallenge = self.challenges[subject_id]
    # The court ends each dispute once; a verdict for anything else is refused.
    assert dispute.challenger != empty(address) and not dispute.resolved, "PaymentChannels: challenge not open"
    self.challenges[subject_id].resolved = True
    slashed: uint256 = 0
    if not worker_was_right:
        penalty: uint256 = min(self.params.challenge_slash, dispute.locked)  # governance may set it to zero
        if penalty > 0:
            slashed = extcall workers.slash_split(dispute.worker, penalty, dispute.challenger, governance)
    log ReceiptChallengeResolved(challenge_id=subject_id, worker_was_right=worker_was_right, slashed=slashed)
    if dispute.locked > 0:  # after the slash: the locked stake is taken first
        extcall workers.unlock(dispute.worker, dispute.locked)


# ---------------------------------------------------------------- payouts and governance


@external
def set_params(new_params: ChannelParams):
    """
    @notice Governance sets the close delay and the receipt-challenge bond and slash.
    @param new_params Close delay, challenge bond and slash.
    """
    self._check_governance()
    self._check_params(new_params)
    log ParamsChanged(old_params=self.params, new_params=new_params)
    self.params = new_params


@external
@view
def channel_id_of(payer: address, worker: address, model_id: uint256) -> bytes32:
    """
    @notice The id the next (or current) channel of this triple has.
    @param payer The app builder.
    @param worker The worker.
    @param model_id The model.
    @return The channel id.
    """
    return self._channel_id(payer, worker, model_id)


@external
@view
def voucher_signer(channel_id: bytes32, amount: uint256, signature: Bytes[65]) -> address:
    """
    @notice Who signed a voucher (for workers checking vouchers off-chain against this contract).
    @param channel_id The channel.
    @param amount The cumulative amount.
    @param signature The voucher signature.
    @return The recovered signer.
    """
    return self._voucher_signer(channel_id, amount, signature)


@external
@view
def receipt_signer(channel_id: bytes32, seq: uint256, input_hash: bytes32, result_hash: bytes32, signature: Bytes[65]) -> address:
    """
    @notice Who signed a receipt.
    @param channel_id The channel.
    @param seq The receipt's sequence number.
    @param input_hash keccak256 of the input.
    @param result_hash keccak256 of the result.
    @param signature The receipt signature.
    @return The recovered signer.
    """
    return self._receipt_signer(channel_id, seq, input_hash, result_hash, signature)


# ---------------------------------------------------------------- internal


@internal
@view
def _channel_id(payer: address, worker: address, model_id: uint256) -> bytes32:
    return keccak256(abi_encode(payer, worker, model_id, self.epochs[payer][worker][model_id]))


@internal
@view
def _voucher_signer(channel_id: bytes32, amount: uint256, signature: Bytes[65]) -> address:
    struct_hash: bytes32 = keccak256(abi_encode(_VOUCHER_TYPE_HASH, channel_id, amount))
    return ecdsa._recover_sig(eip712_domain_separator._hash_typed_data_v4(struct_hash), signature)


@internal
@view
def _receipt_signer(
    channel_id: bytes32, seq: uint256, input_hash: bytes32, result_hash: bytes32, signature: Bytes[65]
) -> address:
    return ecdsa._recover_sig(self._receipt_digest(channel_id, seq, input_hash, result_hash), signature)


@internal
@view
def _receipt_digest(channel_id: bytes32, seq: uint256, input_hash: bytes32, result_hash: bytes32) -> bytes32:
    struct_hash: bytes32 = keccak256(abi_encode(_RECEIPT_TYPE_HASH, channel_id, seq, input_hash, result_hash))
    return eip712_domain_separator._hash_typed_data_v4(struct_hash)


@internal
@pure
def _check_params(p: ChannelParams):
    assert p.close_delay >= MIN_CLOSE_DELAY, "PaymentChannels: close delay below a minute"
    assert p.close_delay <= MAX_CLOSE_DELAY, "PaymentChannels: close delay above 30 days"
    assert p.challenge_slash <= MAX_SLASH, "PaymentChannels: challenge slash above bound"


@internal
@view
def _check_governance():
    assert msg.sender == governance, "PaymentChannels: caller is not governance"
