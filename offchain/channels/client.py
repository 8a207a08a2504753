"""The app builder's side of channels: open and fund a channel, sign
vouchers, make paid calls and verify their receipts and outputs, challenge a
receipt, close."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from offchain import inputs
from offchain.attestation import InferenceReceipt, Voucher, keccak256, recover_address
from offchain.channels.errors import CallRejected
from offchain.errors import BadInput, NeuralCommonsError

MAX_EVIDENCE_URI = 1_024  # PaymentChannels' bound on an evidence URI
# Seconds a read of the worker's active key is trusted. A key the worker rotated away binds it only for the
# unbonding delay (days), so a worker that rotates and goes on signing with the old key is caught within this.
SIGNER_TTL = 3_600


@dataclass
class CallResult:
    seq: int
    result: bytes
    decoded: dict
    input_hash: bytes
    result_hash: bytes
    receipt: bytes
    document: bytes = b""  # the input sent (kept: a challenge publishes it with the result)


class ChannelClient:
    """The app builder's side: open and fund a channel, sign vouchers, call, verify, challenge, close."""

    def __init__(self, channels, registry, workers, account, *, chain_id: int, credit: int = 1):
        """`credit`: calls each voucher pays for (1: a voucher every call; more: fewer signatures for both
        sides, and up to `credit - 1` calls paid for and not yet served, which the worker may cash)."""
        self.channels = channels
        self.registry = registry
        self.workers = workers
        self.account = account
        self.chain_id = chain_id
        self.channel_id: bytes | None = None
        self.worker: str | None = None
        self.price = 0
        self.spent = 0  # the latest voucher amount
        self.used: int | None = None  # wei of the calls answered (below `spent` while paid ahead; None: `spent`)
        self.signed = 0  # the largest voucher signed (see PaidCaller)
        self.unanswered = 0  # calls sent whose answer never came (see PaidCaller)
        self.credit = credit
        self.deposit = 0
        self.session = os.urandom(16)  # spends the credit of our vouchers: sent to the worker only
        self.url = ""
        self.worker_signer: str | None = None
        self.signer_read_at = float("-inf")  # time.monotonic() of the last read of worker_signer

    def open(self, worker: str, model_id: int, deposit: int, url: str | None = None) -> bytes:
        receipt = self.channels.open_channel(worker, model_id, sender=self.account, value=deposit)
        self.channel_id = bytes(receipt.decode_logs(self.channels.ChannelOpened)[0].channel_id)
        self.worker = str(worker)
        self.price = self.registry.model_terms(model_id)[1]
        self.url = (url or self.workers.workers(worker).endpoint).rstrip("/")
        self.spent = self.used = self.signed = self.unanswered = 0
        self.deposit = deposit
        self.session = os.urandom(16)  # one per channel: a worker cannot spend credit on another channel
        self.read_signer()
        return self.channel_id

    def read_signer(self) -> str:
        """Reads the worker's active key from the WorkerRegistry: the key its receipts must carry."""
        self.worker_signer = self.workers.active_signer(self.worker)
        self.signer_read_at = time.monotonic()
        return self.worker_signer

    def fund(self, amount: int) -> None:
        """Adds `amount` wei to the open channel's deposit."""
        self.channels.fund(self.channel_id, sender=self.account, value=amount)
        self.deposit += amount

    def voucher(self, amount: int) -> bytes:
        return Voucher.sign_for(self.account.private_key, chain_id=self.chain_id, contract=str(self.channels.address),
                                channelId=self.channel_id, amount=amount)

    def caller(self) -> PaidCaller:
        """The channel's paid calls as plain data (no chain access): for another process or thread."""
        return PaidCaller(url=self.url, channel_id=self.channel_id, key=_key_hex(self.account.private_key),
                          chain_id=self.chain_id, contract=str(self.channels.address), price=self.price,
                          spent=self.spent, worker_signer=self.worker_signer, used=self.used, credit=self.credit,
                          deposit=self.deposit, session=self.session, signed=self.signed,
                          unanswered=self.unanswered)

    def call(self, document: bytes, http) -> CallResult:
        """One paid call over `http` (an httpx.Client); checks the receipt and the output."""
        if time.monotonic() - self.signer_read_at >= SIGNER_TTL:
            self.read_signer()
        caller = self.caller()
        try:
            return caller.call(document, http)
        except WrongSigner:
            caller.worker_signer = self.read_signer()  # the worker may have rotated its key
            return caller.check(document, caller.last_answer)
        finally:
            self.spent, self.used, self.session = caller.spent, caller.used, caller.session
            self.signed, self.unanswered = caller.signed, caller.unanswered

    def challenge(self, call: CallResult, claimed_hash: bytes, *,
                  publish: Callable[[bytes], str] | None = None) -> int:
        """Challenges the receipt of `call` with the governed bond, claiming `claimed_hash` is right, and
        publishes the evidence the committee re-executes from: the input and the worker's result bytes
        this client kept. Each goes inline as a `data:` URI when it fits the contract's bound, otherwise
        through `publish` (stores the bytes and returns an http(s) URL serving them, e.g.
        `lambda data: server.result_url(store.put(data))`); without a way to publish a large one the
        challenge is refused here (it could not be substantiated, and the bond would go to the worker)."""
        if keccak256(call.document) != call.input_hash:
            raise NeuralCommonsError("the call's input was not kept: cannot publish the evidence")
        input_uri = evidence_uri(call.document, publish, json=True)
        result_uri = evidence_uri(call.result, publish)
        bond = self.channels.params().challenge_bond
        receipt = self.channels.challenge_receipt(self.channel_id, call.seq, call.input_hash, call.result_hash,
                                                  call.receipt, claimed_hash, input_uri, result_uri,
                                                  sender=self.account, value=bond)
        return receipt.decode_logs(self.channels.ReceiptChallenged)[0].challenge_id

    def request_close(self) -> None:
        """Starts the close delay, the worker's time to settle its latest voucher."""
        self.channels.request_close(self.channel_id, sender=self.account)

    def close(self) -> int:
        """Finishes closing after the delay; returns the unspent deposit credited to the payer
        (collect it with `channels.withdraw()`)."""
        receipt = self.channels.close(self.channel_id, sender=self.account)
        return receipt.decode_logs(self.channels.ChannelClosed)[0].refunded


class WrongSigner(NeuralCommonsError):
    """The receipt is not signed by the worker's registered key."""


@dataclass
class PaidCaller:
    """Paid calls on one channel from plain data: signs a voucher when the last one's credit is spent,
    checks each answer's hashes and receipt. `spent` is the latest voucher amount the worker took, `used`
    what the calls answered cost (None: as much as `spent`); each voucher pays for `credit` calls (fewer
    near the deposit, when it is known), the rest of them spent with the `session` token, a new one with
    each voucher that pays ahead. `signed` (the largest voucher signed here) and `unanswered` (calls sent
    whose answer never came: a timeout, a 5xx) bound what `resync` takes from the worker's books."""

    url: str
    channel_id: bytes
    key: str  # the payer's private key, hex
    chain_id: int
    contract: str
    price: int
    spent: int
    worker_signer: str
    used: int | None = None
    credit: int = 1
    deposit: int = 0  # 0: not known here (vouchers are not capped)
    session: bytes = field(default_factory=lambda: os.urandom(16))
    signed: int = 0
    unanswered: int = 0
    last_answer: dict | None = None

    def call(self, document: bytes, http, *, resynced: bool = False) -> CallResult:
        """One call: from the credit of the latest voucher while it covers the price, else with a new
        voucher. Refused with 402 or 409, it catches up with the worker's books once (`resync`) and tries
        again; otherwise a refusal is raised as `CallRejected`. A worker that refuses credit it took is
        raised (401, 402): nothing is paid again for it here."""
        used = self.spent if self.used is None else self.used
        body, amount = {"input": document.decode()}, self.spent
        if self.spent - used < self.price:
            amount = used + self.price * max(self.credit, 1)
            if self.deposit:
                amount = max(min(amount, self.deposit), used + self.price)
            # A new voucher paying ahead gets a fresh session, which spends its credit only; one signed before
            # (sent again after a call that went unanswered) keeps the session it went with.
            if amount > used + self.price and amount > self.signed:
                self.session = os.urandom(16)
            signature = Voucher.sign_for(self.key, chain_id=self.chain_id, contract=self.contract,
                                         channelId=self.channel_id, amount=amount)
            body["voucher"] = {"amount": amount, "signature": "0x" + signature.hex()}
            self.signed = max(self.signed, amount)
        if "voucher" not in body or amount > used + self.price:  # paid from credit, or credit is left
            body["session"] = "0x" + self.session.hex()
        self.unanswered += 1
        response = http.post(self.endpoint, json=body)  # a timeout leaves the call unanswered: perhaps charged
        if response.status_code < 500:  # answered, or refused (a refusal charges nothing)
            self.unanswered -= 1
        if response.status_code in (402, 409) and not resynced and self.resync(http):
            return self.call(document, http, resynced=True)
        if response.status_code != 200:
            raise CallRejected(response.status_code, response.json().get("detail", response.text))
        self.spent, self.used = amount, used + self.price
        self.last_answer = response.json()
        return self.check(document, self.last_answer)

    def resync(self, http) -> bool:
        """Catches up with the worker's books of the channel (`GET /v1/channels/{id}`) after calls it may
        have taken that never answered here (an error after its commit, a timeout): its latest voucher,
        never above the largest signed here, and what it charged, never above that voucher nor more than
        the unanswered calls' price. So a worker cannot make this client pay again for what it answered,
        nor sign beyond what it would have. True if anything changed."""
        if not self.unanswered:  # every call was answered or refused: the books cannot be ahead of us
            return False
        response = http.get(self.status_url)
        if response.status_code != 200:
            return False
        books = response.json()
        used = self.spent if self.used is None else self.used
        spent = max(self.spent, min(int(books["voucher_amount"]), max(self.signed, self.spent)))
        caught_up = max(used, min(int(books["charged"]), spent, used + self.unanswered * self.price))
        changed = (spent, caught_up) != (self.spent, used)
        self.spent, self.used, self.unanswered = spent, caught_up, 0
        return changed

    @cached_property
    def endpoint(self):
        """The channel's call URL, parsed once (httpx parses a URL string, character by character, on
        every request)."""
        import httpx

        return httpx.URL(f"{self.url}/v1/channels/0x{self.channel_id.hex()}/infer")

    @cached_property
    def status_url(self):
        import httpx

        return httpx.URL(f"{self.url}/v1/channels/0x{self.channel_id.hex()}")

    def check(self, document: bytes, body: dict) -> CallResult:
        """The answer's hashes match our input and its output; its receipt is signed by the worker's key."""
        result = bytes.fromhex(body["result"][2:])
        result_hash, input_hash = keccak256(result), keccak256(document)
        receipt = bytes.fromhex(body["receipt"][2:])
        if "0x" + result_hash.hex() != body["result_hash"] or "0x" + input_hash.hex() != body["input_hash"]:
            raise NeuralCommonsError("the worker's hashes do not match its output or our input")
        signer = recover_address(InferenceReceipt.digest_for(
            chain_id=self.chain_id, contract=self.contract, channelId=self.channel_id, seq=body["seq"],
            inputHash=input_hash, resultHash=result_hash), receipt)
        if signer != bytes.fromhex(str(self.worker_signer).removeprefix("0x")):  # raw bytes: no checksum encoding
            raise WrongSigner("the receipt is not signed by the worker's registered key")
        return CallResult(body["seq"], result, body["decoded"], input_hash, result_hash, receipt, document)


def evidence_uri(data: bytes, publish: Callable[[bytes], str] | None = None, *, json: bool = False) -> str:
    """Where a committee fetches `data`: a `data:` URI when it fits PaymentChannels' bound (percent-encoded
    for a JSON input, base64 for result bytes), else what `publish(data)` answers."""
    if json:
        try:
            return inputs.data_uri(data)
        except BadInput:
            uri = ""
    else:
        uri = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    if uri and len(uri) <= MAX_EVIDENCE_URI:
        return uri
    if publish is None:
        raise NeuralCommonsError(f"{len(data)} bytes of evidence do not fit a data: URI: pass `publish` "
                                 "(a content store served over http)")
    uri = publish(data)
    if not uri.startswith(("http://", "https://")) or len(uri) > MAX_EVIDENCE_URI:
        raise NeuralCommonsError(f"published evidence needs an http(s) URL of at most {MAX_EVIDENCE_URI} bytes, "
                                 f"got {uri[:60]}")
    return uri


def _key_hex(private_key) -> str:
    if isinstance(private_key, str):
        return private_key
    if hasattr(private_key, "to_hex"):
        return private_key.to_hex()
    return "0x" + bytes(private_key).hex()


def input_document(pixels) -> bytes:
    """The digits model's input document (the same bytes the per-request path hashes)."""
    return inputs.encode_pixels(pixels)

