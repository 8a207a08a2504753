"""Prepaid credit: a voucher that pays for more than its call, spent by later calls without a voucher that carry
the session token sent with it; what a stranger, a restart and old books can do with it."""

import sqlite3
import threading

import pytest
from ape import chain
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from offchain.channels import CallRejected, ChannelClient, Ledger
from offchain.channels import client as client_module
from offchain.channels.ledger import ChannelBook
from tests.conftest import MODEL_PRICE
from tests.utils.channels import open_channel, voucher

SESSION = bytes(range(16))
OTHER_SESSION = bytes(range(1, 17))


@pytest.fixture
def wide(system, model_id, staked_worker, app_builder):
    """A channel with a deposit of ten calls."""
    return open_channel(system.PaymentChannels, app_builder, staked_worker, model_id, 10 * MODEL_PRICE)


def call(http, cid, document, *, amount=None, signature=None, session=SESSION):
    body = {"input": document.decode()}
    if amount is not None:
        body["voucher"] = {"amount": amount, "signature": "0x" + signature.hex()}
    if session is not None:
        body["session"] = "0x" + session.hex()
    return http.post(f"/v1/channels/0x{cid.hex()}/infer", json=body)


def pay(system, app_builder, http, cid, document, amount, session=SESSION):
    return call(http, cid, document, amount=amount, signature=voucher(system.PaymentChannels, app_builder, cid, amount),
                session=session)


def books(worker, cid):
    book = worker.book[cid]
    return book.calls, book.charged, book.voucher_amount, book.credit


def test_credit__later_calls_spend_it_with_the_session__settlement_cashes_the_voucher(system, api, cid, app_builder,
                                                                                      staked_worker, digits):
    worker, http = api
    first = pay(system, app_builder, http, cid, digits[0], 3 * MODEL_PRICE)
    assert (first.status_code, first.json()["seq"], first.json()["credit"]) == (200, 1, 2 * MODEL_PRICE)
    answers = [call(http, cid, d) for d in digits[1:3]]
    assert [(a.status_code, a.json()["seq"], a.json()["credit"]) for a in answers] == [
        (200, 2, MODEL_PRICE), (200, 3, 0)]
    used_up = call(http, cid, digits[3])
    assert (used_up.status_code, used_up.json()["detail"]) == (
        402, f"prepaid credit used up (0 wei left, this call costs {MODEL_PRICE}): send a voucher")
    assert books(worker, cid) == (3, 3 * MODEL_PRICE, 3 * MODEL_PRICE, 0)  # the refused call was not taken
    assert worker.status(cid)["pending_receipts"] == 3
    assert worker.settle().paid == {cid: 3 * MODEL_PRICE}
    assert system.PaymentChannels.channels(cid).settled == 3 * MODEL_PRICE


def test_credit__a_stranger_without_the_session__401_nothing_spent(system, api, wide, app_builder, digits):
    worker, http = api
    assert pay(system, app_builder, http, wide, digits[0], 5 * MODEL_PRICE).status_code == 200
    for session in (None, OTHER_SESSION):
        refused = call(http, wide, digits[1], session=session)
        assert (refused.status_code, refused.json()["detail"]) == (
            401, "a call without a voucher needs the session token sent with the channel's latest voucher")
    assert books(worker, wide) == (1, MODEL_PRICE, 5 * MODEL_PRICE, 4 * MODEL_PRICE)
    assert call(http, wide, digits[1]).json()["seq"] == 2  # the payer's session still spends it


def test_credit__voucher_without_a_session__its_credit_cannot_be_spent(system, api, wide, app_builder, digits):
    worker, http = api
    assert pay(system, app_builder, http, wide, digits[0], 3 * MODEL_PRICE, session=None).status_code == 200
    assert call(http, wide, digits[1]).status_code == 401
    # A later voucher with a session only needs to be newer and cover the calls taken plus this one.
    assert pay(system, app_builder, http, wide, digits[1], 3 * MODEL_PRICE + 1).json()["credit"] == MODEL_PRICE + 1
    assert books(worker, wide) == (2, 2 * MODEL_PRICE, 3 * MODEL_PRICE + 1, MODEL_PRICE + 1)


def test_credit__a_newer_voucher_replaces_the_session(system, api, wide, app_builder, digits):
    _, http = api
    assert pay(system, app_builder, http, wide, digits[0], 3 * MODEL_PRICE).status_code == 200
    assert pay(system, app_builder, http, wide, digits[1], 5 * MODEL_PRICE, OTHER_SESSION).json()["credit"] == (
        3 * MODEL_PRICE)
    assert call(http, wide, digits[2]).status_code == 401
    answer = call(http, wide, digits[2], session=OTHER_SESSION)
    assert (answer.status_code, answer.json()["seq"], answer.json()["credit"]) == (200, 3, 2 * MODEL_PRICE)


def test_credit__a_voucher_while_credit_is_left__must_still_be_newer(system, api, wide, app_builder, digits):
    worker, http = api
    assert pay(system, app_builder, http, wide, digits[0], 3 * MODEL_PRICE).status_code == 200
    again = pay(system, app_builder, http, wide, digits[1], 3 * MODEL_PRICE)
    assert (again.status_code, again.json()["detail"]) == (
        409, f"voucher for {3 * MODEL_PRICE} wei is not newer than the {3 * MODEL_PRICE} wei already accepted or "
             "settled")
    assert books(worker, wide) == (1, MODEL_PRICE, 3 * MODEL_PRICE, 2 * MODEL_PRICE)


def test_credit__survives_a_restart_of_the_worker(system, new_api, wide, app_builder, digits, tmp_path):
    worker, http = new_api(tmp_path / "books")
    assert pay(system, app_builder, http, wide, digits[0], 3 * MODEL_PRICE).status_code == 200
    http.__exit__(None, None, None)
    worker.close()
    again, http = new_api(tmp_path / "books")
    answer = call(http, wide, digits[1])
    assert (answer.status_code, answer.json()["seq"], answer.json()["credit"]) == (200, 2, MODEL_PRICE)
    assert books(again, wide) == (2, 2 * MODEL_PRICE, 3 * MODEL_PRICE, MODEL_PRICE)


def test_error__malformed_session__422(api, cid, digits):
    worker, http = api
    for session in ("0x1234", "11" * 16, "0x" + "zz" * 16, 16):
        response = http.post(f"/v1/channels/0x{cid.hex()}/infer", json={"input": digits[0].decode(),
                                                                         "session": session})
        assert (response.status_code, response.json()) == (
            422, {"detail": "session: must be 0x and 32 hex digits (16 bytes)"})
    assert cid not in worker.book


def test_openapi__the_call_takes_a_session_and_an_optional_voucher(api):
    _, http = api
    schema = http.get("/openapi.json").json()["components"]["schemas"]
    assert "session" in schema["CallBody"]["properties"] and schema["CallBody"]["required"] == ["input"]
    assert "credit" in schema["Answer"]["required"]


def test_credit__a_voucher_whose_commit_failed__its_credit_is_not_spent(system, api, wide, app_builder, digits):
    """A call takes a voucher paying ahead, its commit fails (the disk is full): the books in memory go back to
    the disk, and a call that read the channel before that cannot spend the lost voucher's credit."""
    worker, http = api
    assert pay(system, app_builder, http, wide, digits[0], MODEL_PRICE, session=SESSION).status_code == 200
    before = worker.channel(wide)  # what a concurrent call read
    amount = 5 * MODEL_PRICE
    signature = voucher(system.PaymentChannels, app_builder, wide, amount)
    _, _, generation = worker.stage_voucher(before, wide, amount, signature, OTHER_SESSION)
    saboteur = sqlite3.connect(worker.ledger.path)
    saboteur.execute("CREATE TRIGGER full BEFORE UPDATE OF calls ON channels BEGIN SELECT RAISE(ABORT, 'disk full'); "
                     "END")
    saboteur.commit()
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        worker.ledger.flush(generation)
    saboteur.execute("DROP TRIGGER full")
    saboteur.commit()
    saboteur.close()
    assert (before.voucher_amount, worker.book[wide].voucher_amount) == (amount, MODEL_PRICE)
    with pytest.raises(CallRejected) as refused:
        worker.stage_prepaid(before, wide, OTHER_SESSION)
    assert refused.value.status == 401
    assert books(worker, wide) == (1, MODEL_PRICE, MODEL_PRICE, 0)


def test_credit__a_commit_failing_between_the_check_and_the_stage__the_call_is_not_served(system, api, wide,
                                                                                          app_builder, digits):
    """A credit call is checked against a voucher whose commit then fails on another thread (the books go back to
    the disk) before the call is staged: the check and the stage hold the books' lock together, so the failure
    waits for the stage and the call fails with its commit; nothing is charged beyond a durable voucher."""
    worker, http = api
    assert pay(system, app_builder, http, wide, digits[0], MODEL_PRICE).status_code == 200
    amount = 5 * MODEL_PRICE
    _, _, generation = worker.stage_voucher(worker.channel(wide), wide, amount,
                                            voucher(system.PaymentChannels, app_builder, wide, amount), SESSION)
    stage_prepaid = worker.ledger.stage_prepaid
    saboteur = sqlite3.connect(worker.ledger.path)
    saboteur.execute("CREATE TRIGGER full BEFORE UPDATE OF calls ON channels BEGIN SELECT RAISE(ABORT, 'disk full'); "
                     "END")
    saboteur.commit()
    failed = []
    commit = threading.Thread(target=_raises, args=(lambda: worker.ledger.flush(generation), failed))

    def failing_commit_meanwhile(cid, price):
        commit.start()
        commit.join(timeout=0.5)  # the commit fails now, or waits for the books' lock the check holds
        return stage_prepaid(cid, price)

    worker.ledger.stage_prepaid = failing_commit_meanwhile
    _, _, prepaid_generation = worker.stage_prepaid(worker.channel(wide), wide, SESSION)
    worker.ledger.stage_prepaid = stage_prepaid
    commit.join()
    saboteur.execute("DROP TRIGGER full")
    saboteur.commit()
    saboteur.close()
    assert failed, "the commit did not fail"
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):  # failed with the voucher it spent
        worker.ledger.flush(prepaid_generation)
    book = worker.book[wide]
    assert (book.calls, book.charged, book.voucher_amount, book.durable_amount) == (
        1, MODEL_PRICE, MODEL_PRICE, MODEL_PRICE)


def _raises(action, errors):
    try:
        action()
    except sqlite3.IntegrityError as exc:
        errors.append(exc)


# ------------------------------------------------------------ the client


@pytest.fixture
def paying_ahead(system, app_builder):
    return ChannelClient(system.PaymentChannels, system.ModelRegistry, system.WorkerRegistry, app_builder,
                         chain_id=chain.chain_id, credit=3)


def test_client__signs_a_voucher_every_credit_calls__the_last_capped_at_the_deposit(api, paying_ahead, staked_worker,
                                                                                    model_id, digits, monkeypatch):
    worker, http = api
    signed = []
    sign_for = client_module.Voucher.sign_for
    monkeypatch.setattr(client_module.Voucher, "sign_for",
                        lambda *a, **k: signed.append(k["amount"]) or sign_for(*a, **k))
    paying_ahead.open(staked_worker, model_id, 7 * MODEL_PRICE, url="http://testserver")
    results = [paying_ahead.call(d, http) for d in (digits * 2)[:7]]
    assert [r.seq for r in results] == list(range(1, 8))
    assert signed == [3 * MODEL_PRICE, 6 * MODEL_PRICE, 7 * MODEL_PRICE]
    assert (paying_ahead.spent, paying_ahead.used) == (7 * MODEL_PRICE, 7 * MODEL_PRICE)
    assert books(worker, paying_ahead.channel_id) == (7, 7 * MODEL_PRICE, 7 * MODEL_PRICE, 0)


def test_client__a_worker_refusing_credit_it_took__raised_nothing_paid_again(api, paying_ahead, staked_worker, model_id,
                                                                            digits):
    worker, http = api
    paying_ahead.open(staked_worker, model_id, 7 * MODEL_PRICE, url="http://testserver")
    paying_ahead.call(digits[0], http)
    worker.book[paying_ahead.channel_id].session = b""  # a worker that goes back on the credit
    with pytest.raises(CallRejected) as refused:
        paying_ahead.call(digits[1], http)
    assert refused.value.status == 401
    assert (paying_ahead.spent, paying_ahead.used) == (3 * MODEL_PRICE, MODEL_PRICE)


def _failing_model(monkeypatch, runtime):
    def infer(arrays):
        raise RuntimeError("the accelerator fell over")

    monkeypatch.setattr(runtime, "infer", infer)


@pytest.mark.parametrize("credit,answered", [(1, 1), (3, 1), (3, 3)])
def test_client__a_call_charged_but_never_answered__the_next_calls_catch_up(system, api, app_builder, staked_worker,
                                                                           model_id, digits, runtime, monkeypatch,
                                                                           credit, answered):
    """The model fails after a call was taken (500: the worker charged it, as when a client times out): the
    client reads the worker's books once, takes that call as used, and goes on; with a voucher every call it
    used to be refused (409) from then on. The failed call spends credit (3, 1) or carries a voucher paying
    ahead, whose session the next calls must keep (3, 3)."""
    worker, http = api
    client = ChannelClient(system.PaymentChannels, system.ModelRegistry, system.WorkerRegistry, app_builder,
                           chain_id=chain.chain_id, credit=credit)
    client.open(staked_worker, model_id, 20 * MODEL_PRICE, url="http://testserver")
    for document in digits[:answered]:
        client.call(document, http)
    with monkeypatch.context() as broken:
        _failing_model(broken, runtime)
        with pytest.raises(Exception):
            client.call(digits[answered], http)
    assert client.unanswered == 1
    first = answered + 2
    assert [client.call(d, http).seq for d in digits[:5]] == list(range(first, first + 5))
    book = worker.book[client.channel_id]
    assert (client.spent, client.used, client.unanswered) == (book.voucher_amount, book.charged, 0)
    assert book.charged == (answered + 6) * MODEL_PRICE


def test_client__a_worker_claiming_the_credit_used_up__not_believed_beyond_unanswered_calls(api, paying_ahead,
                                                                                           staked_worker, model_id,
                                                                                           digits):
    """A worker that says the credit is spent when every call was answered gets no more than it held: the
    client raises (402) and signs nothing more for it."""
    worker, http = api
    paying_ahead.open(staked_worker, model_id, 7 * MODEL_PRICE, url="http://testserver")
    paying_ahead.call(digits[0], http)
    book = worker.book[paying_ahead.channel_id]
    book.charged = book.voucher_amount  # a worker that goes back on the credit, and says so in its books
    with pytest.raises(CallRejected) as refused:
        paying_ahead.call(digits[1], http)
    assert refused.value.status == 402
    assert (paying_ahead.spent, paying_ahead.used, paying_ahead.signed) == (3 * MODEL_PRICE, MODEL_PRICE,
                                                                            3 * MODEL_PRICE)


def test_client__a_fresh_session_per_channel_and_per_voucher_paying_ahead(system, api, paying_ahead, staked_worker,
                                                                         model_id, digits):
    worker, http = api
    paying_ahead.open(staked_worker, model_id, 7 * MODEL_PRICE, url="http://testserver")
    sessions = []
    for document in digits[:4]:  # vouchers at the first and the fourth call
        paying_ahead.call(document, http)
        sessions.append(worker.book[paying_ahead.channel_id].session)
    assert sessions[0] == sessions[1] == sessions[2] != sessions[3]
    first = paying_ahead.session
    system.PaymentChannels.close(paying_ahead.channel_id, sender=staked_worker)  # a worker may close at once
    paying_ahead.open(staked_worker, model_id, 7 * MODEL_PRICE, url="http://testserver")
    assert paying_ahead.session != first  # a worker holding one channel's session cannot spend another's


# ------------------------------------------------------------ the books


def test_ledger__books_from_before_credit__charged_every_voucher_whole(tmp_path):
    contract = "0x" + "22" * 20
    path = tmp_path / f"ledger-1337-{contract}.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE channels (id BLOB PRIMARY KEY, payer TEXT NOT NULL, model_id TEXT NOT NULL,
            calls INTEGER NOT NULL, voucher_amount TEXT NOT NULL, voucher_signature BLOB NOT NULL,
            settled TEXT NOT NULL, deposit TEXT NOT NULL, closes_at INTEGER NOT NULL, closed INTEGER NOT NULL,
            dead TEXT);
        CREATE TABLE receipts (id BLOB NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (id, seq));
    """)
    old.executemany("INSERT INTO channels VALUES (?, '0xp', '1', ?, ?, x'01', ?, '900', 0, 0, NULL)",
                    [(b"\x01" * 32, 2, "200", "100"), (b"\x02" * 32, 5, "0", "500")])  # the second: books lost once
    old.commit()
    old.close()
    ledger = Ledger(tmp_path, chain_id=1337, contract=contract)
    assert [(b.charged, b.session, b.credit) for b in ledger.books.values()] == [(200, b"", 0), (500, b"", 0)]
    seq, generation = ledger.stage_accept(b"\x01" * 32, 400, b"\x02", price=100, session=b"h" * 32)
    ledger.flush(generation)
    ledger.close()
    again = Ledger(tmp_path, chain_id=1337, contract=contract).books[b"\x01" * 32]
    assert (again.calls, again.charged, again.voucher_amount, again.session, again.credit) == (
        3, 300, 400, b"h" * 32, 100)


def test_ledger__prepaid_calls_on_disk_with_their_seq(tmp_path):
    ledger = Ledger(tmp_path, chain_id=1337, contract="0x" + "22" * 20)
    cid = b"\x01" * 32
    ledger.track(cid, ChannelBook(payer="0xp", model_id=1, deposit=10**18, settled=0))
    ledger.flush(ledger.stage_accept(cid, 300, b"\x02", price=100, session=b"h" * 32)[1])
    seq, generation = ledger.stage_prepaid(cid, 100)
    ledger.flush(generation)
    ledger.close()
    book = Ledger(tmp_path, chain_id=1337, contract="0x" + "22" * 20).books[cid]
    assert (seq, book.calls, book.charged, book.voucher_amount, book.durable_amount) == (2, 2, 200, 300, 300)


# ------------------------------------------------------------ any sequence of calls


def test_credit_state_machine(system, new_api, model_id, staked_worker, app_builder, mallory, digits):
    """Vouchers of any amount with or without a session, calls without a voucher with the right, a wrong or no
    session, and restarts of the worker: every call answered is charged exactly the price, every refused one
    nothing, and the books never let the payer spend more than its latest voucher."""
    channels = system.PaymentChannels
    cid = open_channel(channels, app_builder, staked_worker, model_id, 40 * MODEL_PRICE)
    state = {"api": new_api(), "answered": 0, "amount": 0, "session": None}

    class CreditMachine(RuleBasedStateMachine):
        @rule(calls=st.integers(-1, 4), session=st.sampled_from([SESSION, OTHER_SESSION, None]),
              signer=st.sampled_from(["payer", "payer", "payer", "mallory"]))
        def voucher_call(self, calls, session, signer):
            worker, http = state["api"]
            amount = max(state["amount"] + calls * MODEL_PRICE + (calls < 0), 1)
            key = app_builder if signer == "payer" else mallory
            response = call(http, cid, digits[0], amount=amount, signature=voucher(channels, key, cid, amount),
                            session=session)
            due = (state["answered"] + 1) * MODEL_PRICE
            ok = signer == "payer" and state["amount"] < amount <= 40 * MODEL_PRICE and amount >= due
            assert (response.status_code == 200) == ok, response.json()
            if ok:
                state["answered"] += 1
                state["amount"], state["session"] = amount, session

        @rule(session=st.sampled_from([SESSION, OTHER_SESSION, None]))
        def prepaid_call(self, session):
            worker, http = state["api"]
            response = call(http, cid, digits[1], session=session)
            ok = (session is not None and session == state["session"]
                  and state["amount"] >= (state["answered"] + 1) * MODEL_PRICE)
            assert (response.status_code == 200) == ok, response.json()
            if ok:
                state["answered"] += 1
                assert response.json()["credit"] == state["amount"] - state["answered"] * MODEL_PRICE

        @rule()
        def restart(self):
            worker, http = state["api"]
            path = worker.ledger.path.parent
            http.__exit__(None, None, None)
            worker.close()
            state["api"] = new_api(path)

        @invariant()
        def books_match(self):
            worker, _ = state["api"]
            book = worker.book.get(cid)
            if book is not None:
                assert (book.calls, book.charged, book.voucher_amount) == (
                    state["answered"], state["answered"] * MODEL_PRICE, state["amount"])
                assert book.charged <= book.voucher_amount <= book.deposit

    run_state_machine_as_test(CreditMachine, settings=settings(
        max_examples=6, stateful_step_count=12, deadline=None, suppress_health_check=list(HealthCheck)))
