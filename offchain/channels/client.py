"""The app builder's side of channels: open and fund a channel, sign
vouchers, make paid calls and verify their receipts and outputs, challenge a
receipt, close."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak

from offchain import inputs
from offchain.attestation import InferenceReceipt, Voucher
from offchain.channels.errors import CallRejected
from offchain.errors import NeuralCommonsError


@dataclass
class CallResult:
    seq: int
    result: bytes
    decoded: dict
    input_hash: bytes
    result_hash: bytes
    receipt: bytes


class ChannelClient:
    """The app builder's side: open and fund a channel, sign vouchers, call, verify, challenge, close."""

    def __init__(self, channels, registry, workers, account, *, chain_id: int):
        self.channels = channels
        self.registry = registry
        self.workers = workers
        self.account = account
        self.chain_id = chain_id
        self.channel_id: bytes | None = None
        self.worker: str | None = None
        self.price = 0
        self.spent = 0  # the latest voucher amount
        self.url = ""
        self.worker_signer: str | None = None

    def open(self, worker: str, model_id: int, deposit: int, url: str | None = None) -> bytes:
        receipt = self.channels.open_channel(worker, model_id, sender=self.account, value=deposit)
        self.channel_id = bytes(receipt.decode_logs(self.channels.ChannelOpened)[0].channel_id)
        self.worker = str(worker)
        self.price = self.registry.model_terms(model_id)[1]
        self.url = (url or self.workers.workers(worker).endpoint).rstrip("/")
        self.spent = 0
        self.worker_signer = self.workers.active_signer(worker)
        return self.channel_id

    def fund(self, amount: int) -> None:
        """Adds `amount` wei to the open channel's deposit."""
        self.channels.fund(self.channel_id, sender=self.account, value=amount)

    def voucher(self, amount: int) -> bytes:
        return Voucher.bound(chain_id=self.chain_id, contract=self.channels.address, channelId=self.channel_id,
                             amount=amount).sign(self.account.private_key)

    def call(self, document: bytes, http) -> CallResult:
        """One paid call over `http` (an httpx.Client); checks the receipt and the output."""
        amount = self.spent + self.price
        response = http.post(f"{self.url}/v1/channels/0x{self.channel_id.hex()}/infer", json={
            "input": document.decode(), "voucher": {"amount": amount, "signature": "0x" + self.voucher(amount).hex()}})
        if response.status_code != 200:
            raise CallRejected(response.status_code, response.json().get("detail", response.text))
        self.spent = amount
        body = response.json()
        result = bytes.fromhex(body["result"][2:])
        result_hash, input_hash = keccak(result), keccak(document)
        receipt = bytes.fromhex(body["receipt"][2:])
        if "0x" + result_hash.hex() != body["result_hash"] or "0x" + input_hash.hex() != body["input_hash"]:
            raise NeuralCommonsError("the worker's hashes do not match its output or our input")
        signer = InferenceReceipt.bound(chain_id=self.chain_id, contract=self.channels.address,
                                        channelId=self.channel_id, seq=body["seq"], inputHash=input_hash,
                                        resultHash=result_hash).signer(receipt)
        if signer != self.worker_signer:
            self.worker_signer = self.workers.active_signer(self.worker)  # the worker may have rotated its key
            if signer != self.worker_signer:
                raise NeuralCommonsError("the receipt is not signed by the worker's registered key")
        return CallResult(body["seq"], result, body["decoded"], input_hash, result_hash, receipt)

    def challenge(self, call: CallResult, claimed_hash: bytes) -> int:
        bond = self.channels.params().challenge_bond
        receipt = self.channels.challenge_receipt(self.channel_id, call.seq, call.input_hash, call.result_hash,
                                                  call.receipt, claimed_hash, sender=self.account, value=bond)
        return receipt.decode_logs(self.channels.ReceiptChallenged)[0].challenge_id

    def request_close(self) -> None:
        """Starts the close delay, the worker's time to settle its latest voucher."""
        self.channels.request_close(self.channel_id, sender=self.account)

    def close(self) -> int:
        """Finishes closing after the delay; returns the unspent deposit credited to the payer
        (collect it with `channels.withdraw()`)."""
        receipt = self.channels.close(self.channel_id, sender=self.account)
        return receipt.decode_logs(self.channels.ChannelClosed)[0].refunded


def input_document(pixels) -> bytes:
    """The digits model's input document (the same bytes the per-request path hashes)."""
    return inputs.encode_pixels(pixels)

