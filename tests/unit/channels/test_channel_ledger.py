"""The worker's persisted channel books, without a chain: what survives a restart or a crash."""

import sqlite3
import threading

import pytest

from offchain.channels import ChannelBook, Ledger, LedgerMismatch

CONTRACT = "0x" + "ab" * 20
CID, OTHER = b"\x01" * 32, b"\x02" * 32
SIG = b"\x05" * 65


def open_ledger(path, contract=CONTRACT, genesis=b"\x99" * 32, chain_id=1337):
    return Ledger(path, chain_id=chain_id, contract=contract, genesis=genesis)


@pytest.fixture
def ledger(tmp_path):
    ledger = open_ledger(tmp_path)
    ledger.track(CID, ChannelBook(payer="0xpayer", model_id=1, deposit=10**18, settled=0))
    yield ledger
    ledger.close()


def test_reopen__after_crash__vouchers_seq_and_receipts_survive(ledger, tmp_path):
    assert ledger.accept(CID, 100, SIG) == 1
    ledger.add_receipt(CID, 1, b"\x11" * 32)
    assert ledger.accept(CID, 2**256 - 1, SIG) == 2
    # No close: a second connection sees what a crashed process left on disk.
    again = open_ledger(tmp_path)
    book = again.get(CID)
    assert (book.calls, book.voucher_amount, book.voucher_signature) == (2, 2**256 - 1, SIG)
    assert again.receipts(CID, 2) == [(1, b"\x11" * 32)]
    assert again.accept(CID, 2**256 - 1, SIG) == 3  # seqs go on, never repeat
    again.close()


def test_reopen__write_ahead_log_with_full_sync(ledger):
    assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ledger.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: every commit is fsync'd


def test_confirm__drops_only_the_receipts_the_settlement_carried(ledger):
    for seq in (1, 2, 3):
        ledger.accept(CID, 100 * seq, SIG)
        ledger.add_receipt(CID, seq, bytes([seq]) * 32)
    ledger.confirm(CID, 200, [1, 2])
    assert ledger.receipts(CID, 10) == [(3, b"\x03" * 32)]
    assert ledger.get(CID).settled == 200
    assert ledger.get(CID).unsettled == 100


def test_observe__stale_read__never_takes_the_books_back(ledger):
    ledger.observe(CID, deposit=2 * 10**18, settled=500, closes_at=1_000, closed=False)
    ledger.observe(CID, deposit=10**18, settled=100, closes_at=0, closed=False)
    book = ledger.get(CID)
    assert (book.deposit, book.settled, book.closes_at, book.closing) == (2 * 10**18, 500, 1_000, True)


def test_kill__channel_marked_dead_with_reason_and_receipts_dropped(ledger, tmp_path):
    ledger.accept(CID, 100, SIG)
    ledger.add_receipt(CID, 1, b"\x11" * 32)
    ledger.kill(CID, "closed on chain")
    again = open_ledger(tmp_path)
    assert (again.get(CID).dead, again.get(CID).closed, again.receipts(CID, 10)) == ("closed on chain", True, [])
    again.close()


def test_open__ledger_of_another_contract__refused(ledger, tmp_path):
    path = ledger.path
    ledger.close()
    other = "0x" + "cd" * 20
    path.rename(path.with_name(f"ledger-1337-{other}.sqlite3"))
    with pytest.raises(LedgerMismatch, match="holds the books of contract"):
        open_ledger(tmp_path, contract=other)


def test_open__chain_reset__old_books_void(ledger, tmp_path):
    ledger.accept(CID, 100, SIG)
    again = open_ledger(tmp_path, genesis=b"\x98" * 32)
    assert again.reset_reason == "the chain was reset (another genesis block); the old books are void"
    assert (again.get(CID), again.get_int("synced_block", -1)) == (None, -1)
    again.close()


def test_open__two_contracts__two_files(tmp_path):
    a, b = open_ledger(tmp_path), open_ledger(tmp_path, contract="0x" + "cd" * 20)
    a.track(OTHER, ChannelBook(payer="0xp", model_id=1, deposit=1, settled=0))
    assert a.path != b.path and b.get(OTHER) is None
    rows = sqlite3.connect(a.path).execute("SELECT COUNT(*) FROM channels").fetchone()[0]
    assert rows == 1
    a.close()
    b.close()


# ---------------------------------------------------------------- group commit


def on_disk(tmp_path, cid=CID):
    """What a crashed process leaves: the books as a second connection reads them."""
    again = open_ledger(tmp_path)
    book = again.get(cid)
    state = (book.calls, book.voucher_amount, [seq for seq, _ in again.receipts(cid, 10**9)])
    again.close()
    return state


def test_stage_accept__before_flush__nothing_on_disk_after_flush_everything(ledger, tmp_path):
    seq, generation = ledger.stage_accept(CID, 100, SIG)
    assert (seq, ledger.get(CID).calls) == (1, 1)  # taken in memory: the next voucher must beat it
    assert on_disk(tmp_path) == (0, 0, [])  # a crash now loses a call nobody was answered for
    ledger.flush(generation)
    assert on_disk(tmp_path) == (1, 100, [])


def test_flush__many_threads_staged__one_commit_writes_all(ledger, tmp_path):
    ledger.track(OTHER, ChannelBook(payer="0xpayer", model_id=1, deposit=10**18, settled=0))
    staged = []
    barrier = threading.Barrier(8)

    def stage(i):
        barrier.wait()
        cid = (CID, OTHER)[i % 2]
        seq, generation = ledger.stage_accept(cid, 100 * (i + 1), SIG)
        staged.append((cid, seq, ledger.stage_receipt(cid, seq, bytes([i]) * 32), generation))

    threads = [threading.Thread(target=stage, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    generations = {g for *_, g in staged} | {g for _, _, g, _ in staged}
    assert len(generations) == 1  # nobody flushed meanwhile: one generation, one transaction
    commits = []
    execute = ledger._tx

    def counting_tx():
        commits.append(1)
        return execute()

    ledger._tx = counting_tx
    before = ledger.commits
    ledger.flush(generations.pop())
    assert len(commits) == 1
    assert ledger.commits == before + 1  # what the benchmark's "calls per commit" counts
    assert on_disk(tmp_path, CID)[0] == on_disk(tmp_path, OTHER)[0] == 4
    assert on_disk(tmp_path, CID)[2] == on_disk(tmp_path, OTHER)[2] == [1, 2, 3, 4]


def test_flush__concurrent_flushers__each_returns_only_once_its_call_is_on_disk(ledger, tmp_path):
    seen = []

    def call(i):
        seq, generation = ledger.stage_accept(CID, 100 * (i + 1), SIG)
        ledger.flush(generation)
        again = open_ledger(tmp_path)
        seen.append((seq, again.get(CID).calls))  # what a crash right after the flush would leave
        again.close()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seq for seq, _ in seen) == list(range(1, 17))  # no seq handed out twice
    assert all(on_disk_calls >= seq for seq, on_disk_calls in seen)


def test_flush__commit_fails__every_caller_of_its_generation_raises_and_memory_back_to_disk(ledger, tmp_path):
    ledger.accept(CID, 100, SIG)
    saboteur = sqlite3.connect(ledger.path)
    saboteur.execute("CREATE TRIGGER full BEFORE UPDATE OF calls ON channels BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    saboteur.commit()
    _, generation = ledger.stage_accept(CID, 200, SIG)
    _, same = ledger.stage_accept(CID, 300, SIG)
    assert same == generation
    commits = ledger.commits
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        ledger.flush(generation)
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):  # the other call of that commit, too
        ledger.flush(same)
    assert ledger.commits == commits  # a failed commit is not counted
    book = ledger.get(CID)
    assert (book.calls, book.voucher_amount) == (1, 100)  # memory is what the disk holds again
    saboteur.execute("DROP TRIGGER full")
    saboteur.commit()
    saboteur.close()
    assert ledger.accept(CID, 200, SIG) == 2
    assert on_disk(tmp_path) == (2, 200, [])


def test_flush__commit_fails__calls_staged_while_it_ran_fail_too_and_no_seq_is_handed_out_twice(ledger, tmp_path):
    """A call that stages while a commit runs lands in the next generation; the failed commit takes memory
    back to disk, which drops that call's voucher too, so that call must not be answered either."""
    ledger.track(OTHER, ChannelBook(payer="0xpayer", model_id=1, deposit=10**18, settled=0))
    meanwhile = {}

    def stage_during_the_commit():  # runs inside the failing commit's transaction, as a racing call would
        if not meanwhile:
            meanwhile["seq"], meanwhile["generation"] = ledger.stage_accept(OTHER, 100, SIG)
        return 0

    ledger.db.create_function("stage_during_the_commit", 0, stage_during_the_commit)
    saboteur = sqlite3.connect(ledger.path)
    saboteur.execute("CREATE TRIGGER full BEFORE UPDATE OF calls ON channels BEGIN "
                     "SELECT stage_during_the_commit(); SELECT RAISE(ABORT, 'disk full'); END")
    saboteur.commit()
    _, generation = ledger.stage_accept(CID, 100, SIG)
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        ledger.flush(generation)
    assert (meanwhile["seq"], meanwhile["generation"]) == (1, generation + 1)
    saboteur.execute("DROP TRIGGER full")  # the disk works again
    saboteur.commit()
    saboteur.close()
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):  # staged meanwhile: dropped, so it fails too
        ledger.flush(meanwhile["generation"])
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):  # and no receipt is kept for it
        ledger.stage_receipt(OTHER, meanwhile["seq"], b"\x11" * 32, after=meanwhile["generation"])
    seq, later = ledger.stage_accept(OTHER, 100, SIG)
    assert later > meanwhile["generation"]  # a fresh generation, on the books as the disk holds them
    ledger.flush(later)
    assert seq == 1  # the seq of the failed call is handed out once: to the call that is answered
    assert on_disk(tmp_path, OTHER) == (1, 100, [])


def test_stage_accept__not_on_disk__not_unsettled_until_flushed(ledger):
    seq, generation = ledger.stage_accept(CID, 100, SIG)
    book = ledger.get(CID)
    assert (book.voucher_amount, book.durable_amount, book.unsettled) == (100, 0, 0)  # nothing to cash yet
    ledger.flush(generation)
    assert (book.durable_calls, book.durable_amount, book.durable_signature, book.unsettled) == (seq, 100, SIG, 100)


def _summed(ledger) -> int:
    return sum(book.unsettled for book in ledger.books.values() if not book.dead)


def test_unsettled_total__every_change__equals_the_sum_over_the_books(ledger, tmp_path):
    """The running total the API reads after every call (instead of summing thousands of books)."""
    ledger.track(OTHER, ChannelBook(payer="0xpayer", model_id=1, deposit=10**18, settled=0))
    steps = [
        lambda: ledger.accept(CID, 300, SIG),
        lambda: ledger.stage_accept(OTHER, 50, SIG),  # staged, not on disk: not owed yet
        lambda: ledger.flush(ledger.stage_accept(OTHER, 70, SIG)[1]),
        lambda: ledger.observe(CID, deposit=10**18, settled=100, closes_at=0, closed=False),
        lambda: ledger.observe(CID, deposit=10**18, settled=50, closes_at=0, closed=False),  # stale: no change
        lambda: ledger.confirm(CID, 300, []),
        lambda: ledger.accept(CID, 900, SIG),
        lambda: ledger.kill(OTHER, "closed on chain"),
        lambda: ledger.track(CID, ChannelBook(payer="0xother", model_id=1, deposit=10**18, settled=0)),  # restarted
        lambda: ledger.accept(CID, 40, SIG),
    ]
    totals = []
    for step in steps:
        step()
        assert ledger.unsettled_total == _summed(ledger)
        totals.append(ledger.unsettled_total)
    assert totals == [300, 300, 370, 270, 270, 70, 670, 600, 0, 40]
    again = open_ledger(tmp_path)  # a restart counts it from disk
    assert again.unsettled_total == _summed(again) == 40
    again.close()


def test_unsettled_total__commit_fails__back_to_what_the_disk_holds(ledger):
    ledger.accept(CID, 100, SIG)
    saboteur = sqlite3.connect(ledger.path)
    saboteur.execute("CREATE TRIGGER full BEFORE UPDATE OF calls ON channels BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    saboteur.commit()
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        ledger.flush(ledger.stage_accept(CID, 200, SIG)[1])
    saboteur.close()
    assert ledger.unsettled_total == _summed(ledger) == 100
