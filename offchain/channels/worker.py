"""The worker's side of channels, independent of HTTP: checks vouchers
against its persisted books and the chain, hands out receipts, follows the
channels' on-chain state and settles.

Every voucher must be newer than both the latest voucher the books hold and
what the chain already settled, and cover the calls taken so far plus this
one at the model's price; what it pays beyond that is prepaid credit, which
later calls without a voucher spend if they carry the session token sent
with that voucher (the payer's choice: a voucher every call, or every few
calls at the risk of the credit). The books are written before a call is
answered (see `ledger`). A channel's on-chain
state is re-read when it is older than `refresh_after` seconds, when its
events show up (`sync`) and around every settlement; closing and closed
channels are refused. `tick` (run in the background by the app) settles
closing channels at once, long before their close delay ends, and the rest
once the unsettled total passes the threshold.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field

from eth_utils import keccak, to_checksum_address

from offchain.attestation import BadSignature, InferenceReceipt, Voucher, keccak256
from offchain.channels.errors import CallRejected
from offchain.channels.ledger import ChannelBook, Ledger
from offchain.runtime import Runtime

log = logging.getLogger("offchain.channels")

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_SETTLE = 64  # vouchers per settle transaction (the contract's bound)
_FOLLOWED_EVENTS = ("CloseRequested", "ChannelClosed", "ChannelFunded", "ChannelSettled")
_LOG_SPAN = 5_000  # blocks per log query (nodes cap the range of eth_getLogs)


@dataclass(frozen=True)
class ChannelState:
    """A channel as the contract's `channels(bytes32)` returns it."""

    payer: str
    worker: str
    model_id: int
    deposit: int
    settled: int
    closes_at: int
    closed: bool


@dataclass(frozen=True)
class PendingCall:
    """A call between its voucher's check and its answer: `stage_voucher` (or `stage_prepaid`) took the
    voucher and `seq` in memory (staged in `generation`), the model runs on `document`."""

    channel_id: bytes
    model_id: int
    seq: int
    generation: int
    document: bytes


@dataclass(frozen=True)
class Served:
    """What a call answers: its seq, the result bytes, their hashes and the signed receipt."""

    seq: int
    result: bytes
    input_hash: bytes
    result_hash: bytes
    receipt: bytes


@dataclass
class Settlement:
    """What one `settle` did, per channel."""

    paid: dict[bytes, int] = field(default_factory=dict)  # wei paid out, from the ChannelSettled events
    failed: dict[bytes, str] = field(default_factory=dict)  # left for a later try, and why
    dropped: dict[bytes, str] = field(default_factory=dict)  # can never be settled (closed on chain), and why
    transactions: int = 0

    @property
    def total(self) -> int:
        return sum(self.paid.values())

    def as_json(self) -> dict:
        def hexed(d):
            return {"0x" + k.hex(): v for k, v in d.items()}

        return {"settled_wei": self.total, "paid": hexed(self.paid), "failed": hexed(self.failed),
                "dropped": hexed(self.dropped), "transactions": self.transactions}


class ChannelWorker:
    """Vouchers, receipts and settlement of one worker's channels."""

    def __init__(self, channels, account, signer_key, runtimes: dict[int, Runtime], prices: dict[int, int],
                 *, chain_id: int, settle_threshold: int = 10**17, state_dir=None, refresh_after: float = 15.0,
                 tick_every: float | None = 15.0, tamper=None):
        from ape import chain

        self.channels = channels
        self.account = account
        self.signer_key = signer_key
        self.runtimes = runtimes
        self.prices = prices  # wei per call, per model
        self.chain_id = chain_id
        self.settle_threshold = settle_threshold  # unsettled wei that triggers a settlement
        # Seconds an on-chain read of a channel stays fresh. The tick's event follower re-reads a channel as
        # soon as its events show up, so this is a fallback: a short one costs the node a read per channel
        # every few seconds (500 a second for 1,000 channels at 2 s) and the embedded chain 4 ms of CPU each.
        self.refresh_after = refresh_after
        self.tick_every = tick_every  # seconds between background ticks; None: no background task
        self.tamper = tamper  # offchain.tamper.Tamper: a cheating worker, in tests and benchmarks only
        self.ledger = Ledger(state_dir, chain_id=chain_id, contract=str(channels.address),
                             genesis=bytes(chain.blocks[0].hash))
        if self.ledger.reset_reason:
            log.warning("channel ledger %s: %s", self.ledger.path, self.ledger.reset_reason)
        self._contract = str(channels.address)
        # The contract's own ABI for `channels(bytes32)` (selector, struct layout), read once.
        (view,) = [m for m in channels.contract_type.view_methods if m.name == "channels"]
        self._read_selector = keccak(text=view.selector)[:4]
        (struct,) = view.outputs
        self._read_type = struct.canonical_type
        self._read_names = [c.name for c in struct.components]
        self.lock = threading.Lock()  # voucher acceptance and settlement snapshots
        self.settle_lock = threading.Lock()  # one settlement at a time
        self._synced = False

    @property
    def book(self) -> dict[bytes, ChannelBook]:
        """The books, by channel id (read-only view; change them through the worker)."""
        return self.ledger.books

    # ------------------------------------------------------------ channel state

    def read_channel(self, channel_id: bytes) -> ChannelState:
        """`channels(channel_id)` of the contract, as one raw eth_call decoded here: a quarter of the CPU of
        ape's contract call (on the embedded chain, 2 ms instead of 10), which the API pays every
        `refresh_after` seconds per channel. Where the node refuses the raw call (the embedded chain
        checks that the caller could pay for the call's gas), ape's call answers."""
        from ape import chain
        from eth_abi import decode

        try:
            out = chain.provider.make_request("eth_call", [
                {"from": self.account.address, "to": self._contract,
                 "data": "0x" + (self._read_selector + channel_id).hex()}, "latest"])
            raw = bytes.fromhex(out.removeprefix("0x")) if isinstance(out, str) else bytes(out)
            (values,) = decode([self._read_type], raw)
            c = dict(zip(self._read_names, values, strict=True))
        except Exception:  # noqa: BLE001 - the same read through ape
            c = self.channels.channels(channel_id).__dict__
        return ChannelState(to_checksum_address(c["payer"]), to_checksum_address(c["worker"]), int(c["model_id"]),
                            int(c["deposit"]), int(c["settled"]), int(c["closes_at"]), bool(c["closed"]))

    def refresh(self, channel_id: bytes) -> ChannelBook:
        """Reads the channel from the chain into the books (starting them if new)."""
        c = self.read_channel(channel_id)
        if c.payer == ZERO_ADDRESS:
            raise CallRejected(404, f"unknown channel 0x{channel_id.hex()}")
        if c.worker != self.account.address:
            raise CallRejected(403, "this channel pays another worker")
        if c.model_id not in self.runtimes:
            raise CallRejected(404, f"this worker does not serve model {c.model_id}")
        state = {"deposit": c.deposit, "settled": c.settled, "closes_at": c.closes_at, "closed": c.closed}
        with self.lock:
            book = self.ledger.get(channel_id)
            if book is None or book.payer != c.payer or book.model_id != c.model_id:
                # New to these books (or the books describe a channel the chain no longer has): start from
                # the chain. Seqs continue above the calls the settled amount paid for.
                book = ChannelBook(payer=c.payer, model_id=c.model_id, deposit=c.deposit, settled=c.settled,
                                   closes_at=c.closes_at, closed=c.closed, charged=c.settled,
                                   calls=c.settled // max(self.prices[c.model_id], 1))
                self.ledger.track(channel_id, book)
            return self.ledger.observe(channel_id, **state)

    def channel(self, channel_id: bytes, *, refresh: bool = False) -> ChannelBook:
        """The books of a channel this worker serves now; refuses closing, closed and foreign channels."""
        book = self.ledger.get(channel_id)
        if book is None or refresh or time.monotonic() - book.checked_at >= self.refresh_after:
            book = self.refresh(channel_id)
        return self._servable(book)

    def fresh_channel(self, channel_id: bytes) -> ChannelBook | None:
        """`channel(channel_id)` when that needs no read from the chain (the books are fresh), else None:
        the API answers from memory on the event loop and goes to a thread only to read the chain."""
        book = self.ledger.get(channel_id)
        if book is None or time.monotonic() - book.checked_at >= self.refresh_after:
            return None
        return self._servable(book)

    @staticmethod
    def _servable(book: ChannelBook) -> ChannelBook:
        if book.dead or book.closed:
            raise CallRejected(409, "channel closed: open a new one")
        if book.closes_at:
            raise CallRejected(409, "channel closing (its payer asked to close): open a new one")
        return book

    def status(self, channel_id: bytes) -> dict:
        """The books of a channel, whatever its state."""
        book = self.ledger.get(channel_id)
        if book is None or time.monotonic() - book.checked_at >= self.refresh_after:
            book = self.refresh(channel_id)
        return {"calls": book.calls, "voucher_amount": book.voucher_amount, "charged": book.charged,
                "credit": book.credit, "settled": book.settled,
                "deposit": book.deposit, "model_id": book.model_id, "closing": book.closes_at != 0,
                "closes_at": book.closes_at, "closed": book.closed, "dead": book.dead,
                "pending_receipts": self.ledger.pending_receipts(channel_id)}

    def sync(self) -> set[bytes]:
        """Follows the contract's channel events since the last sync; re-reads every channel of these books
        they touch (and, on the first sync of this process, every channel with an unsettled voucher).
        Returns the channels re-read."""
        from ape import chain

        head = chain.blocks.head.number
        start = min(self.ledger.get_int("synced_block", head), head)
        live = {cid for cid, book in self.ledger.books.items() if not book.dead}
        touched = set()
        if not self._synced:  # the first sync of this process: whatever happened while it was down
            touched |= {cid for cid in live if self.ledger.books[cid].unsettled}
        for low in range(start, head + 1, _LOG_SPAN):
            for name in _FOLLOWED_EVENTS:
                for event in getattr(self.channels, name).range(low, min(low + _LOG_SPAN, head + 1)):
                    touched.add(bytes(event.channel_id))
        touched &= live
        for cid in touched:
            self.refresh(cid)
        self.ledger.set_int("synced_block", head + 1)
        self._synced = True
        return touched

    # ------------------------------------------------------------ vouchers and receipts

    def accept_voucher(self, channel_id: bytes, amount: int, signature: bytes) -> tuple[ChannelBook, int]:
        """Checks a call's voucher and records it (on disk when it returns); returns the channel and the
        call's seq."""
        book = self.channel(channel_id)
        self.check_voucher(book, channel_id, amount, signature)
        if amount > book.deposit:
            book = self.channel(channel_id, refresh=True)  # perhaps funded since
        book, seq, generation = self.stage_voucher(book, channel_id, amount, signature)
        self.ledger.flush(generation)
        return book, seq

    def check_voucher(self, book: ChannelBook, channel_id: bytes, amount: int, signature: bytes) -> None:
        """Refuses a voucher its channel's payer did not sign, or one the contract would refuse."""
        try:
            signer = Voucher.recover_for(signature, chain_id=self.chain_id, contract=self._contract,
                                         channelId=channel_id, amount=amount)
        except (BadSignature, ValueError, OverflowError) as exc:  # malformed: bad v, r or s, or out of range
            raise CallRejected(401, "voucher signature is not a valid signature") from exc
        if signer != _address_bytes(book.payer):
            raise CallRejected(401, "voucher is not signed by the channel's payer")

    def stage_voucher(self, book: ChannelBook, channel_id: bytes, amount: int, signature: bytes,
                      session: bytes | None = None) -> tuple[ChannelBook, int, int]:
        """Takes a checked voucher if it pays for one more call, in memory; returns (book, seq, generation).
        What it pays beyond the call is credit that calls carrying `session` spend (`stage_prepaid`); a
        voucher without a session leaves no credit spendable. The call may be answered only once
        `self.ledger.flush(generation)` returned and its receipt is on disk too (`answer` does both);
        settlement cashes the voucher only once it is on disk."""
        if amount > book.deposit:
            raise CallRejected(402, f"voucher for {amount} wei exceeds the channel deposit of {book.deposit}")
        # The ledger's lock too, from the check to the stage: a failed commit cannot put the books back from
        # disk in between (the check would pass on books that are gone).
        with self.lock, self.ledger.lock:
            book = self.ledger.get(channel_id) or book  # a failed commit meanwhile put new books in memory
            floor = max(book.voucher_amount, book.settled)
            if amount <= floor:
                raise CallRejected(409, f"voucher for {amount} wei is not newer than the {floor} wei already "
                                        "accepted or settled")
            price = self.prices[book.model_id]
            if amount < book.charged + price:
                raise CallRejected(402, f"voucher covers {amount} wei; this call needs {book.charged + price} "
                                        f"({book.charged} already charged + the price)")
            seq, generation = self.ledger.stage_accept(channel_id, amount, signature, price=price,
                                                       session=session_hash(session))
            return book, seq, generation

    def stage_prepaid(self, book: ChannelBook, channel_id: bytes, session: bytes | None) -> tuple[ChannelBook, int, int]:
        """Takes a call without a voucher from the credit of the latest one, which needs the session token
        sent with that voucher (a stranger who knows the channel id cannot spend it); as `stage_voucher`."""
        with self.lock, self.ledger.lock:  # as in `stage_voucher`
            book = self.ledger.get(channel_id) or book  # a failed commit meanwhile put new books in memory
            if not book.session or session is None or session_hash(session) != book.session:
                raise CallRejected(401, "a call without a voucher needs the session token sent with the "
                                        "channel's latest voucher")
            price = self.prices[book.model_id]
            if book.voucher_amount < book.charged + price:
                raise CallRejected(402, f"prepaid credit used up ({book.credit} wei left, this call costs "
                                        f"{price}): send a voucher")
            seq, generation = self.ledger.stage_prepaid(channel_id, price)
            return book, seq, generation

    def receipt(self, channel_id: bytes, seq: int, input_hash: bytes, result_hash: bytes) -> bytes:
        """Signs the call's receipt and keeps its hash (on disk when it returns) until a confirmed
        settlement pays for it."""
        signature, generation = self.stage_receipt(channel_id, seq, input_hash, result_hash)
        self.ledger.flush(generation)
        return signature

    def stage_receipt(self, channel_id: bytes, seq: int, input_hash: bytes, result_hash: bytes, *,
                      after: int | None = None) -> tuple[bytes, int]:
        """Signs the call's receipt and stages its hash; returns (signature, generation to flush before
        answering). `after`: the generation of the call's voucher (see `Ledger.stage_receipt`)."""
        signature = InferenceReceipt.sign_for(self.signer_key, chain_id=self.chain_id, contract=self._contract,
                                              channelId=channel_id, seq=seq, inputHash=input_hash,
                                              resultHash=result_hash)
        return signature, self.ledger.stage_receipt(channel_id, seq, keccak256(signature), after=after)

    def answer(self, calls: list[PendingCall], results: list[bytes]) -> list[Served | Exception]:
        """Finishes a batch of calls whose vouchers `stage_voucher` took and whose model ran (`results`, in
        the order of `calls`): signs each receipt and puts the batch's vouchers, seqs and receipts on disk
        in one commit; returns once they are. The API runs it in the runtime's thread right after the batch
        (`MicroBatcher(after=worker)`), so a call costs one thread hand-off and one commit shared by its
        batch. Raises when the commit fails (no call of the batch may be answered); a call whose voucher
        was in a commit that failed meanwhile gets that error in its place in the list."""
        served, generation = [], -1
        for call, result in zip(calls, results, strict=True):
            if self.tamper is not None:  # tests and benchmarks only: a cheat signs and serves altered bytes
                result = self.tamper.apply(self.runtimes[call.model_id].spec.encoding, result, call.seq)
            input_hash, result_hash = keccak256(call.document), keccak256(result)
            try:
                receipt, generation = self.stage_receipt(call.channel_id, call.seq, input_hash, result_hash,
                                                         after=call.generation)
            except Exception as exc:  # noqa: BLE001 - its voucher's commit failed: this call is not answered
                served.append(exc)
                continue
            served.append(Served(call.seq, result, input_hash, result_hash, receipt))
        self.ledger.flush(generation)
        return [done if isinstance(done, Exception) else self._committed(call) or done
                for call, done in zip(calls, served, strict=True)]

    def refuse(self, calls: list[PendingCall], error: Exception) -> None:
        """The model failed on a batch: its vouchers go to disk as they would have (the calls were taken,
        as when a client goes away before its answer), then `error` is raised."""
        self.ledger.flush(max(call.generation for call in calls))
        raise error

    def _committed(self, call: PendingCall) -> Exception | None:
        try:
            self.ledger.flush(call.generation)  # on disk already, or failed: returns or raises at once
        except Exception as exc:  # noqa: BLE001 - the voucher's commit failed: this call may not be answered
            return exc
        return None

    # ------------------------------------------------------------ settlement

    def unsettled(self) -> int:
        """Wei of vouchers on disk not yet settled, over every channel that can still be settled."""
        return self.ledger.unsettled_total

    def due_for_settlement(self) -> bool:
        return self.unsettled() >= self.settle_threshold

    def settle(self, channel_ids=None, *, wait: bool = True) -> Settlement:
        """Cashes the latest vouchers (of `channel_ids`, or all), up to MAX_SETTLE per transaction; one
        channel that cannot be settled does not hold up the others. Receipts leave the books only once
        the transaction is confirmed. With `wait=False`, returns at once if a settlement is running."""
        if not self.settle_lock.acquire(blocking=wait):
            return Settlement()
        try:
            return self._settle(channel_ids)
        finally:
            self.settle_lock.release()

    def _settle(self, channel_ids) -> Settlement:
        result = Settlement()
        with self.lock, self.ledger.lock:  # the ledger's lock: a commit sets the three durable fields together
            # Only what is on disk: a voucher staged for a call that was never answered is never cashed.
            todo = [(cid, b.durable_amount, b.durable_signature, b.durable_calls)
                    for cid, b in self.ledger.books.items()
                    if b.unsettled and not b.dead and (channel_ids is None or cid in channel_ids)]
        ready = []
        for cid, amount, signature, upto in todo:
            if self._resolved(cid, amount, upto, result):
                continue
            receipts = self.ledger.receipts(cid, upto)
            ready.append((cid, amount, signature, upto, [seq for seq, _ in receipts], [h for _, h in receipts]))
        for i in range(0, len(ready), MAX_SETTLE):
            self._send(ready[i:i + MAX_SETTLE], result)
        return result

    def _resolved(self, cid: bytes, amount: int, upto: int, result: Settlement, error: str = "") -> bool:
        """Re-reads a channel before or after a try; True when nothing is left to send for it."""
        try:
            book = self.refresh(cid)
        except Exception as exc:  # the node is unreachable: try later
            result.failed[cid] = f"could not read the channel: {exc}"
            return True
        if book.settled >= amount:  # settled already (by an earlier try whose answer was lost)
            self.ledger.confirm(cid, amount, [seq for seq, _ in self.ledger.receipts(cid, upto)])
            return True
        if book.closed:
            reason = f"closed on chain with {amount - book.settled} wei unsettled; dropped"
            log.warning("channel 0x%s %s", cid.hex(), reason)
            self.ledger.kill(cid, reason)
            result.dropped[cid] = reason
            return True
        if error:
            result.failed[cid] = error
            log.warning("settling channel 0x%s failed: %s", cid.hex(), error)
            return True
        return False

    def _send(self, batch: list, result: Settlement) -> None:
        items = [(cid, amount, signature, merkle_root(hashes)) for cid, amount, signature, _, _, hashes in batch]
        try:
            tx = self.channels.settle(items, sender=self.account)
            error = "transaction failed" if tx.failed else ""
        except Exception as exc:  # reverted, or never sent
            tx, error = None, str(exc) or type(exc).__name__
        if not error:
            result.transactions += 1
            paid = {bytes(e.channel_id): e.paid for e in tx.decode_logs(self.channels.ChannelSettled)}
            for cid, amount, _, _, seqs, _ in batch:
                self.ledger.confirm(cid, amount, seqs)
                result.paid[cid] = paid.get(cid, 0)
            for cid, *_ in batch:
                self.refresh(cid)
            return
        if len(batch) > 1:  # one bad voucher reverts the whole batch: settle one by one
            for one in batch:
                if not self._resolved(one[0], one[1], one[3], result):
                    self._send([one], result)
            return
        cid, amount, _, upto, _, _ = batch[0]
        self._resolved(cid, amount, upto, result, error=error)

    # ------------------------------------------------------------ the background task

    def tick_interval(self) -> float:
        """Seconds between ticks: at most a quarter of the close delay, so a closing channel is settled
        long before it closes."""
        return max(min(self.tick_every or 15.0, self.channels.params().close_delay / 4), 0.5)

    def tick(self) -> Settlement:
        """Follows the events, settles every closing channel with an unsettled voucher at once, and the
        rest when the unsettled total passes the threshold."""
        self.sync()
        closing = {cid for cid, b in self.ledger.books.items() if b.unsettled and not b.dead and b.closing}
        result = self.settle(closing) if closing else Settlement()
        if self.due_for_settlement():
            later = self.settle()
            result.paid.update(later.paid)
            result.failed.update(later.failed)
            result.dropped.update(later.dropped)
            result.transactions += later.transactions
        return result

    def close(self) -> None:
        self.ledger.close()


def session_hash(session: bytes | None) -> bytes:
    """What the books keep of a session token (b"" for none): its sha256, so the books on disk cannot
    spend a payer's credit."""
    return hashlib.sha256(session).digest() if session else b""


def _address_bytes(address: str) -> bytes:
    return bytes.fromhex(address.removeprefix("0x"))


def merkle_root(leaves: list[bytes]) -> bytes:
    """A plain binary Merkle root over the receipts (odd leaves carried up), for public volume audits."""
    if not leaves:
        return b"\x00" * 32
    level = list(leaves)
    while len(level) > 1:
        level = [keccak(level[i] + level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0]
