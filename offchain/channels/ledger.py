"""The worker's channel books, persisted crash-safe in SQLite (WAL, full sync).

Per channel: the latest (largest) voucher accepted and its signature, the
receipt sequence counter, the wei charged for the calls taken (below the
voucher while the payer has paid ahead), the hash of the session token that
spends that prepaid credit, the receipts not yet paid for by a confirmed
settlement, what the chain confirmed settled, and the channel's on-chain
state as last read. A call is answered only after its voucher, its seq and
its receipt are committed (and fsync'd): a crash or restart can neither
give a settled voucher away again nor hand out a seq twice.

Vouchers and receipts of concurrent calls are group-committed: `stage_accept`
and `stage_receipt` take the change in memory and return a generation;
`flush(generation)` returns once that generation is on disk. The first
caller to flush commits everything staged so far in one transaction (one
fsync) while later callers stage into the next one, then wait. A failed
commit raises in every caller of its generation and of the one staged while
it ran (the books in memory go back to what the disk holds, so what those
callers staged is gone), and new changes stage into a fresh generation.
Settlement reads only what is on disk (`ChannelBook.durable_*`): a voucher
staged for a call that was never answered is never cashed. `accept` and
`add_receipt` are stage + flush.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from offchain.channels.errors import LedgerMismatch
from offchain.settings import load_settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
    id BLOB PRIMARY KEY,
    payer TEXT NOT NULL,
    model_id TEXT NOT NULL,
    calls INTEGER NOT NULL,            -- the last receipt seq handed out
    voucher_amount TEXT NOT NULL,      -- wei, the latest voucher accepted (decimal: amounts reach 2**256)
    voucher_signature BLOB NOT NULL,
    settled TEXT NOT NULL,             -- wei the chain confirmed settled
    deposit TEXT NOT NULL,
    closes_at INTEGER NOT NULL,
    closed INTEGER NOT NULL,
    dead TEXT,                         -- why the channel can never be settled again; NULL while live
    charged TEXT,                      -- wei charged for the calls taken (NULL in books from before credit)
    session BLOB                       -- sha256 of the latest voucher's session token (spends its credit)
);
CREATE TABLE IF NOT EXISTS receipts (
    id BLOB NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (id, seq)
);
"""


def default_state_dir() -> Path:
    """NC_CHANNEL_STATE, or ~/.neural-commons/channels."""
    return load_settings().channel_state


@dataclass
class ChannelBook:
    """What the worker knows of one channel."""

    payer: str
    model_id: int
    deposit: int
    settled: int  # confirmed on chain
    closes_at: int = 0
    closed: bool = False
    calls: int = 0  # the last seq handed out
    voucher_amount: int = 0  # the latest (largest) voucher accepted
    voucher_signature: bytes = b""
    charged: int = 0  # wei charged for the calls taken; below voucher_amount while the payer has paid ahead
    session: bytes = b""  # sha256 of the session token sent with the latest voucher; b"": no credit calls
    dead: str | None = None
    checked_at: float = float("-inf")  # monotonic time of the last on-chain read (not persisted)
    # The latest voucher and seq on disk (committed): what settlement may cash. `calls`, `voucher_amount`
    # and `voucher_signature` run ahead of them while a call is between its check and its commit.
    durable_calls: int = 0
    durable_amount: int = 0
    durable_signature: bytes = b""

    def saved(self) -> ChannelBook:
        """Marks what the book holds now as on disk."""
        self.durable_calls, self.durable_amount, self.durable_signature = (self.calls, self.voucher_amount,
                                                                           self.voucher_signature)
        return self

    @property
    def unsettled(self) -> int:
        """Wei of the latest voucher on disk that the chain has not settled yet."""
        return max(self.durable_amount - self.settled, 0)

    @property
    def credit(self) -> int:
        """Wei the latest voucher pays beyond the calls taken: calls the payer paid ahead for."""
        return max(self.voucher_amount - self.charged, 0)

    @property
    def owed(self) -> int:
        """`unsettled` while the channel can still be settled; 0 once it is dead."""
        return 0 if self.dead else self.unsettled

    @property
    def closing(self) -> bool:
        return self.closed or self.closes_at != 0


class Ledger:
    """Channel books of one worker on one PaymentChannels contract, in `state_dir`."""

    def __init__(self, state_dir: str | os.PathLike | None, *, chain_id: int, contract: str, genesis: bytes = b""):
        state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / f"ledger-{chain_id}-{contract.lower()}.sqlite3"
        self.lock = threading.RLock()  # the books in memory and the staged changes
        self.db_lock = threading.RLock()  # the connection (taken after `lock`, never before it)
        self._flushed = threading.Condition(self.lock)
        self._generation = 0  # the generation changes are staged into now
        self._durable = -1  # the newest generation on disk
        self._committing = False
        self._failed: dict[int, Exception] = {}  # generations whose commit failed, and why
        self._dirty: set[bytes] = set()  # channels whose voucher and seq changed since the last commit
        self._staged_receipts: list[tuple[bytes, int, bytes]] = []
        self.commits = 0  # group commits that succeeded (calls per commit: how well batching shares them)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(channels)")}
        for column, kind in (("charged", "TEXT"), ("session", "BLOB")):  # books written before prepaid credit
            if column not in columns:
                self.db.execute(f"ALTER TABLE channels ADD COLUMN {column} {kind}")
        self.reset_reason: str | None = None
        known = self._meta("genesis")
        if known is not None and genesis and known != genesis.hex():
            # The same chain id and address on another chain (a restarted local node): the books are void.
            self.reset_reason = "the chain was reset (another genesis block); the old books are void"
            with self._tx():
                self.db.execute("DELETE FROM channels")
                self.db.execute("DELETE FROM receipts")
                self.db.execute("DELETE FROM meta")
        for key, value in (("chain_id", str(chain_id)), ("contract", contract.lower()), ("genesis", genesis.hex())):
            stored = self._meta(key)
            if stored is None:
                with self._tx():
                    self.db.execute("INSERT INTO meta VALUES (?, ?)", (key, value))
            elif stored != value:
                raise LedgerMismatch(f"{self.path} holds the books of {key} {stored}, not {value}")
        self.books: dict[bytes, ChannelBook] = {}
        # The sum of every book's `owed`, kept as the books change: the API asks after every call whether
        # a settlement is due, which must not cost a sum over thousands of channels.
        self.unsettled_total = 0
        self._load()

    def _load(self) -> None:
        """The books from disk (at start, and after a failed commit took memory ahead of disk)."""
        self.books.clear()
        for row in self.db.execute("SELECT id, payer, model_id, calls, voucher_amount, voucher_signature, settled, "
                                   "deposit, closes_at, closed, dead, charged, session FROM channels"):
            amount, settled = int(row[4]), int(row[6])
            self.books[bytes(row[0])] = ChannelBook(
                payer=row[1], model_id=int(row[2]), calls=row[3], voucher_amount=amount,
                voucher_signature=bytes(row[5]), settled=settled, deposit=int(row[7]), closes_at=row[8],
                closed=bool(row[9]), dead=row[10],
                # Books from before prepaid credit charged every voucher whole.
                charged=int(row[11]) if row[11] is not None else max(amount, settled),
                session=bytes(row[12] or b"")).saved()
        self.unsettled_total = sum(book.owed for book in self.books.values())

    # ------------------------------------------------------------ plumbing

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _tx(self):
        return _Transaction(self.db)

    def close(self) -> None:
        with self.lock, self.db_lock:
            self.db.close()

    # ------------------------------------------------------------ reads

    def get(self, channel_id: bytes) -> ChannelBook | None:
        return self.books.get(channel_id)

    def receipts(self, channel_id: bytes, upto_seq: int) -> list[tuple[int, bytes]]:
        """(seq, hash) of the receipts not yet paid for by a confirmed settlement, up to `upto_seq`."""
        with self.db_lock:
            return [(r[0], bytes(r[1])) for r in self.db.execute(
                "SELECT seq, hash FROM receipts WHERE id = ? AND seq <= ? ORDER BY seq", (channel_id, upto_seq))]

    def pending_receipts(self, channel_id: bytes) -> int:
        with self.lock, self.db_lock:
            staged = sum(1 for cid, _, _ in self._staged_receipts if cid == channel_id)
            return staged + self.db.execute("SELECT COUNT(*) FROM receipts WHERE id = ?",
                                            (channel_id,)).fetchone()[0]

    def get_int(self, key: str, default: int) -> int:
        with self.db_lock:
            value = self._meta(key)
        return default if value is None else int(value)

    # ------------------------------------------------------------ writes (each committed before it returns)

    def track(self, channel_id: bytes, book: ChannelBook) -> ChannelBook:
        """Starts (or restarts, replacing a stale one) the books of a channel."""
        with self.lock, self.db_lock, self._tx():
            self.db.execute("DELETE FROM receipts WHERE id = ?", (channel_id,))
            self.db.execute("INSERT OR REPLACE INTO channels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (
                channel_id, book.payer, str(book.model_id), book.calls, str(book.voucher_amount),
                book.voucher_signature, str(book.settled), str(book.deposit), book.closes_at, int(book.closed),
                book.dead, str(book.charged), book.session))
            old = self.books.get(channel_id)
            before = old.owed if old is not None else 0
            self.books[channel_id] = book.saved()
            self.unsettled_total += book.owed - before
        return book

    def observe(self, channel_id: bytes, *, deposit: int, settled: int, closes_at: int, closed: bool) -> ChannelBook:
        """Records the channel's on-chain state. Each field only moves forward on chain, so a read that
        raced with a newer one cannot take the books back."""
        book = self.books[channel_id]
        with self.lock, self.db_lock, self._tx():
            before = book.owed
            deposit, settled = max(book.deposit, deposit), max(book.settled, settled)
            closes_at, closed = book.closes_at or closes_at, book.closed or closed
            self.db.execute("UPDATE channels SET deposit = ?, settled = ?, closes_at = ?, closed = ? WHERE id = ?",
                            (str(deposit), str(settled), closes_at, int(closed), channel_id))
            book.deposit, book.settled, book.closes_at, book.closed = deposit, settled, closes_at, closed
            book.checked_at = time.monotonic()
            self.unsettled_total += book.owed - before
        return book

    def accept(self, channel_id: bytes, amount: int, signature: bytes) -> int:
        """Takes a voucher and hands out the next seq, on disk when it returns; returns the seq."""
        seq, generation = self.stage_accept(channel_id, amount, signature)
        self.flush(generation)
        return seq

    def add_receipt(self, channel_id: bytes, seq: int, receipt_hash: bytes) -> None:
        self.flush(self.stage_receipt(channel_id, seq, receipt_hash))

    # ------------------------------------------------------------ group commit

    def stage_accept(self, channel_id: bytes, amount: int, signature: bytes, *, price: int | None = None,
                     session: bytes = b"") -> tuple[int, int]:
        """Takes a voucher and the next seq in memory; returns (seq, generation). Nothing may act on the
        call (run the model, answer) before `flush(generation)` returns. `price`: what the call adds to
        the channel's charged wei (default: everything up to the voucher); `session`: the hash of the token
        that may spend the rest of the voucher (`stage_prepaid`)."""
        with self.lock:
            book = self.books[channel_id]
            seq = book.calls + 1
            book.calls, book.voucher_amount, book.voucher_signature = seq, amount, signature
            book.charged, book.session = amount if price is None else book.charged + price, session
            self._dirty.add(channel_id)
            return seq, self._generation

    def stage_prepaid(self, channel_id: bytes, price: int) -> tuple[int, int]:
        """Takes the next seq for a call the latest voucher already paid for (`price` more charged), in
        memory; returns (seq, generation) as `stage_accept` does."""
        with self.lock:
            book = self.books[channel_id]
            book.calls, book.charged = book.calls + 1, book.charged + price
            self._dirty.add(channel_id)
            return book.calls, self._generation

    def stage_receipt(self, channel_id: bytes, seq: int, receipt_hash: bytes, *, after: int | None = None) -> int:
        """Keeps a receipt's hash in memory; returns the generation to `flush`. `after`: the generation the
        call's voucher was staged in; if that commit failed, the voucher and seq are gone and the call will
        not be answered, so its receipt is not kept either (that commit's error is raised)."""
        with self.lock:
            if after in self._failed:
                raise self._failed[after]
            self._staged_receipts.append((channel_id, seq, receipt_hash))
            return self._generation

    def flush(self, generation: int) -> None:
        """Returns once everything staged in `generation` (and before) is on disk; raises if its commit
        failed. One caller commits for all who staged so far; the others wait for that commit."""
        with self._flushed:
            while True:
                if generation in self._failed:
                    raise self._failed[generation]
                if self._durable >= generation:
                    return
                if not self._committing:
                    break
                self._flushed.wait()
            self._committing = True
            target = self._generation
            self._generation += 1
            books = [(cid, self.books[cid]) for cid in self._dirty if cid in self.books]
            rows = [(book.calls, book.voucher_amount, book.voucher_signature) for _, book in books]
            credit = [(str(book.charged), book.session) for _, book in books]
            receipts, self._dirty, self._staged_receipts = self._staged_receipts, set(), []
        error = None
        try:
            with self.db_lock, self._tx():
                # One statement per table (not one per row): each statement lets go of the interpreter lock
                # and has to take it back from the event loop.
                for chunk in _chunks([(cid, calls, str(amount), signature, charged, session)
                                      for (cid, _), (calls, amount, signature), (charged, session)
                                      in zip(books, rows, credit, strict=True)]):
                    self.db.execute(
                        "UPDATE channels SET calls = v.column2, voucher_amount = v.column3, voucher_signature = "
                        "v.column4, charged = v.column5, session = v.column6 "
                        f"FROM (VALUES {_placeholders(6, len(chunk))}) AS v WHERE channels.id = v.column1",
                        [value for row in chunk for value in row])
                for chunk in _chunks(receipts):
                    self.db.execute(f"INSERT OR REPLACE INTO receipts VALUES {_placeholders(3, len(chunk))}",
                                    [value for row in chunk for value in row])
        except Exception as exc:  # the disk failed: nobody of this generation may act; memory back to disk
            error = exc
        with self._flushed:
            self._committing = False
            self._durable = target
            if error is None:
                self.commits += 1
                for (_, book), (calls, amount, signature) in zip(books, rows, strict=True):
                    if calls >= book.durable_calls:
                        before = book.owed
                        book.durable_calls, book.durable_amount, book.durable_signature = calls, amount, signature
                        self.unsettled_total += book.owed - before
            else:
                # Memory goes back to the disk, which also drops what callers staged while this commit ran
                # (the next generation): they fail too, and later changes stage into a fresh generation.
                self._failed[target] = self._failed[target + 1] = error
                self._generation = target + 2
                self._dirty, self._staged_receipts = set(), []
                with self.db_lock:
                    self._load()
            self._flushed.notify_all()
        if error is not None:
            raise error

    def confirm(self, channel_id: bytes, amount: int, seqs: list[int]) -> None:
        """A settlement of `amount` confirmed on chain: the receipts `seqs` it carried are paid for."""
        book = self.books[channel_id]
        with self.lock, self.db_lock, self._tx():
            settled, before = max(book.settled, amount), book.owed
            self.db.execute("UPDATE channels SET settled = ? WHERE id = ?", (str(settled), channel_id))
            self.db.executemany("DELETE FROM receipts WHERE id = ? AND seq = ?", [(channel_id, s) for s in seqs])
            book.settled = settled
            self.unsettled_total += book.owed - before

    def kill(self, channel_id: bytes, reason: str) -> None:
        """Marks a channel that can never be settled again (closed on chain); its receipts go."""
        book = self.books[channel_id]
        with self.lock, self.db_lock, self._tx():
            self.db.execute("UPDATE channels SET dead = ?, closed = 1 WHERE id = ?", (reason, channel_id))
            self.db.execute("DELETE FROM receipts WHERE id = ?", (channel_id,))
            self.unsettled_total -= book.owed
            book.dead, book.closed = reason, True

    def set_int(self, key: str, value: int) -> None:
        with self.lock, self.db_lock, self._tx():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))


_CHUNK = 256  # rows per statement (SQLite binds at most 32,766 values)


def _chunks(rows: list) -> list[list]:
    return [rows[i:i + _CHUNK] for i in range(0, len(rows), _CHUNK)]


def _placeholders(columns: int, rows: int) -> str:
    return ", ".join(["(" + ", ".join("?" * columns) + ")"] * rows)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an error."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, *_):
        self.db.execute("ROLLBACK" if kind else "COMMIT")
        return False
