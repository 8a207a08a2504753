"""The real-time path: a worker's HTTP API for paid calls over prepaid
channels, and the app builder's channel client.

A call carries the input and an EIP-712 voucher for the cumulative amount
the channel may now pay. The worker checks the voucher (payer's signature,
this worker's open channel, at least price x calls so far, at most the
deposit, never older than one it already took), runs the model through the
same runtime as the per-request path (batched across concurrent calls),
and answers at once with the output and a receipt signed by its registered
key. It settles its latest vouchers on chain on a threshold or on demand,
many channels per transaction.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from eth_utils import keccak
from pydantic import BaseModel

from offchain import canonical, inputs
from offchain.attestation import receipt_message, recover_typed, sign_typed, voucher_message
from offchain.errors import BadInput, NeuralCommonsError
from offchain.runtime import Runtime

MAX_BODY = 16 * 1024  # bytes of one call


class CallRejected(NeuralCommonsError):
    """A paid call the worker will not serve; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class ChannelBook:
    """What the worker knows of one channel."""

    payer: str
    model_id: int
    deposit: int
    settled: int
    calls: int = 0
    voucher_amount: int = 0  # the latest (largest) voucher accepted
    voucher_signature: bytes = b""
    receipts: list[bytes] = field(default_factory=list)  # receipt hashes since the last settlement


class ChannelWorker:
    """The worker's side of channels, independent of HTTP."""

    def __init__(self, channels, account, signer_key, runtimes: dict[int, Runtime], prices: dict[int, int],
                 *, chain_id: int, settle_threshold: int = 10**17):
        self.channels = channels
        self.account = account
        self.signer_key = signer_key
        self.runtimes = runtimes
        self.prices = prices  # wei per call, per model
        self.chain_id = chain_id
        self.settle_threshold = settle_threshold  # unsettled wei that triggers a settlement
        self.book: dict[bytes, ChannelBook] = {}
        self.lock = threading.Lock()

    # ------------------------------------------------------------ vouchers

    def _load(self, channel_id: bytes, refresh: bool = False) -> ChannelBook:
        known = self.book.get(channel_id)
        if known is not None and not refresh:
            return known
        c = self.channels.channels(channel_id)
        if c.payer == "0x0000000000000000000000000000000000000000":
            raise CallRejected(404, f"unknown channel 0x{channel_id.hex()}")
        if c.worker != self.account.address:
            raise CallRejected(403, "this channel pays another worker")
        if c.closed or c.closes_at:
            raise CallRejected(409, "channel closed or closing: open a new one")
        if c.model_id not in self.runtimes:
            raise CallRejected(404, f"this worker does not serve model {c.model_id}")
        if known is None:
            known = ChannelBook(payer=c.payer, model_id=c.model_id, deposit=c.deposit, settled=c.settled)
            self.book[channel_id] = known
        else:
            known.deposit, known.settled = c.deposit, c.settled
        return known

    def accept_voucher(self, channel_id: bytes, amount: int, signature: bytes) -> tuple[ChannelBook, int]:
        """Checks a call's voucher; returns the channel and the call's sequence number."""
        book = self._load(channel_id)
        signer = recover_typed(signature, "Voucher", voucher_message(channel_id, amount),
                               chain_id=self.chain_id, contract=str(self.channels.address))
        if signer != book.payer:
            raise CallRejected(401, "voucher is not signed by the channel's payer")
        if amount > book.deposit:
            book = self._load(channel_id, refresh=True)  # perhaps funded since
            if amount > book.deposit:
                raise CallRejected(402, f"voucher for {amount} wei exceeds the channel deposit of {book.deposit}")
        with self.lock:
            due = self.prices[book.model_id] * (book.calls + 1)
            if amount < book.voucher_amount:
                raise CallRejected(409, f"voucher for {amount} wei is older than one already accepted "
                                        f"({book.voucher_amount})")
            if amount < due:
                raise CallRejected(402, f"voucher covers {amount} wei; {book.calls + 1} calls need {due}")
            book.calls += 1
            book.voucher_amount, book.voucher_signature = amount, signature
            return book, book.calls

    # ------------------------------------------------------------ receipts and settlement

    def receipt(self, channel_id: bytes, seq: int, input_hash: bytes, result_hash: bytes) -> bytes:
        signature = sign_typed(self.signer_key, "InferenceReceipt",
                               receipt_message(channel_id, seq, input_hash, result_hash),
                               chain_id=self.chain_id, contract=str(self.channels.address))
        with self.lock:
            self.book[channel_id].receipts.append(keccak(signature))
        return signature

    def due_for_settlement(self) -> bool:
        return sum(b.voucher_amount - b.settled for b in self.book.values()) >= self.settle_threshold

    def settle(self) -> int:
        """Cashes every channel's latest voucher in one transaction; returns the wei settled."""
        with self.lock:
            items, taken = [], []
            for channel_id, book in self.book.items():
                if book.voucher_amount > book.settled:
                    root = _merkle_root(book.receipts)
                    items.append((channel_id, book.voucher_amount, book.voucher_signature, root))
                    taken.append((book, book.voucher_amount))
                    book.receipts = []
        if not items:
            return 0
        self.channels.settle(items, sender=self.account)
        for book, amount in taken:
            book.settled = amount
        return sum(amount for _, amount in taken)


def _merkle_root(leaves: list[bytes]) -> bytes:
    """A plain binary Merkle root over the receipts (odd leaves carried up), for public volume audits."""
    if not leaves:
        return b"\x00" * 32
    level = list(leaves)
    while len(level) > 1:
        level = [keccak(level[i] + level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0]


class MicroBatcher:
    """Collects concurrent calls for one model into batches for the runtime."""

    def __init__(self, runtime: Runtime, max_batch: int = 64, max_wait: float = 0.002):
        self.runtime = runtime
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.queue: asyncio.Queue | None = None

    async def run(self, array) -> bytes:
        if self.queue is None:
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._loop())
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((array, future))
        return await future

    async def _loop(self) -> None:
        while True:
            batch = [await self.queue.get()]
            deadline = asyncio.get_running_loop().time() + self.max_wait
            while len(batch) < self.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            try:
                results = await asyncio.to_thread(self.runtime.infer, [a for a, _ in batch])
                for (_, future), result in zip(batch, results, strict=True):
                    future.set_result(result)
            except Exception as exc:  # the callers get the error, the loop goes on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)


class VoucherBody(BaseModel):
    amount: int  # cumulative wei this channel may now pay
    signature: str  # 0x-hex, 65 bytes, by the channel's payer


class CallBody(BaseModel):
    input: str  # the input document, e.g. {"pixels": [...]} for the digits model
    voucher: VoucherBody


class Answer(BaseModel):
    seq: int
    result: str  # 0x-hex canonical result bytes
    result_hash: str
    input_hash: str
    receipt: str  # the worker's InferenceReceipt signature
    decoded: dict


def create_app(worker: ChannelWorker):
    """The worker's HTTP API (FastAPI; OpenAPI at /openapi.json, docs at /docs)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI(title="Neural Commons worker: paid calls over channels", version="1")
    batchers = {model_id: MicroBatcher(runtime) for model_id, runtime in worker.runtimes.items()}

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and int(length) > MAX_BODY:
            return JSONResponse({"detail": f"body over {MAX_BODY} bytes"}, status_code=413)
        return await call_next(request)

    @app.exception_handler(CallRejected)
    async def rejected(_: Request, exc: CallRejected):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(BadInput)
    async def bad_input(_: Request, exc: BadInput):
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.post("/v1/channels/{channel_id}/infer", response_model=Answer)
    async def infer(channel_id: str, call: CallBody) -> Answer:
        cid = _hex32(channel_id)
        signature = bytes.fromhex(call.voucher.signature.removeprefix("0x"))
        book = worker._load(cid)
        runtime = worker.runtimes[book.model_id]
        document = call.input.encode()
        array = inputs.parse(runtime.spec.input_schema, document)  # before the voucher counts the call
        book, seq = await asyncio.to_thread(worker.accept_voucher, cid, call.voucher.amount, signature)
        result = await batchers[book.model_id].run(array)
        input_hash, result_hash = keccak(document), keccak(result)
        receipt = worker.receipt(cid, seq, input_hash, result_hash)
        if worker.due_for_settlement():
            asyncio.get_running_loop().run_in_executor(None, worker.settle)
        kind, scale = runtime.spec.encoding
        return Answer(seq=seq, result="0x" + result.hex(), result_hash="0x" + result_hash.hex(),
                      input_hash="0x" + input_hash.hex(), receipt="0x" + receipt.hex(),
                      decoded=canonical.decode(kind, scale, result))

    @app.get("/v1/channels/{channel_id}")
    async def status(channel_id: str) -> dict:
        book = worker._load(_hex32(channel_id))
        return {"calls": book.calls, "voucher_amount": book.voucher_amount, "settled": book.settled,
                "deposit": book.deposit, "model_id": book.model_id}

    @app.post("/v1/settle")
    async def settle_now() -> dict:
        return {"settled_wei": await asyncio.to_thread(worker.settle)}

    return app


def _hex32(text: str) -> bytes:
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != 32:
        raise CallRejected(404, f"'{text}' is not a channel id (32 bytes of hex)")
    return value


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
        return sign_typed(self.account.private_key, "Voucher", voucher_message(self.channel_id, amount),
                          chain_id=self.chain_id, contract=str(self.channels.address))

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
        signer = recover_typed(receipt, "InferenceReceipt",
                               receipt_message(self.channel_id, body["seq"], input_hash, result_hash),
                               chain_id=self.chain_id, contract=str(self.channels.address))
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

