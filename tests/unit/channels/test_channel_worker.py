"""The worker's channel books against the chain: restarts, closing channels, settlement faults."""

import threading

import pytest
from ape import chain
from fastapi.testclient import TestClient

from offchain import inputs
from offchain.channels import ChannelClient, create_app
from tests.conftest import MODEL_PRICE
from tests.unit.channels.conftest import post
from tests.utils.channels import open_channel, voucher
from tests.utils.constants import ETH


@pytest.fixture
def client(system, app_builder):
    return ChannelClient(system.PaymentChannels, system.ModelRegistry, system.WorkerRegistry, app_builder,
                         chain_id=chain.chain_id)


def call(system, http, cid, payer, document, amount):
    return post(http, cid, document, amount, voucher(system.PaymentChannels, payer, cid, amount))


# ---------------------------------------------------------------- restarts


def test_restart__same_ledger__seq_continues_and_old_voucher_refused(system, new_api, cid, app_builder, digits,
                                                                       tmp_path):
    worker, http = new_api(tmp_path / "books")
    assert [call(system, http, cid, app_builder, digits[i], (i + 1) * MODEL_PRICE).json()["seq"]
            for i in range(2)] == [1, 2]
    http.__exit__(None, None, None)
    worker.close()

    worker, http = new_api(tmp_path / "books")
    replay = call(system, http, cid, app_builder, digits[2], 2 * MODEL_PRICE)
    assert (replay.status_code, replay.json()["detail"]) == (
        409, f"voucher for {2 * MODEL_PRICE} wei is not newer than the {2 * MODEL_PRICE} wei already accepted or "
             "settled")
    assert call(system, http, cid, app_builder, digits[2], 3 * MODEL_PRICE).json()["seq"] == 3
    assert worker.book[cid].calls == 3


def test_restart__after_crash__answered_call_already_on_disk(system, new_api, cid, app_builder, digits, tmp_path):
    _, http = new_api(tmp_path / "books")
    assert call(system, http, cid, app_builder, digits[0], MODEL_PRICE).json()["seq"] == 1
    # The first worker never shuts down cleanly: a second one opens the same books.
    worker, http = new_api(tmp_path / "books")
    assert (worker.book[cid].calls, worker.book[cid].voucher_amount) == (1, MODEL_PRICE)
    assert call(system, http, cid, app_builder, digits[1], MODEL_PRICE).status_code == 409
    assert worker.status(cid)["pending_receipts"] == 1


def test_restart__crash_between_the_model_and_the_commit__same_voucher_served_again_with_the_same_seq(
        system, new_api, cid, app_builder, digits, runtime, tmp_path):
    """The worker took the voucher (in memory) and ran the model, then died before the batch's commit: the
    client got no answer, and nothing of the call is on disk, so the restarted worker serves the same voucher
    with the same seq, once."""
    first, _ = new_api(tmp_path / "books")
    signature = voucher(system.PaymentChannels, app_builder, cid, MODEL_PRICE)
    book = first.channel(cid)
    first.check_voucher(book, cid, MODEL_PRICE, signature)
    _, seq, _ = first.stage_voucher(book, cid, MODEL_PRICE, signature)
    runtime.infer([inputs.parse(runtime.spec.input_schema, digits[0])])
    assert (seq, first.book[cid].calls, first.book[cid].unsettled) == (1, 1, 0)  # taken, not cashable
    assert first.settle().transactions == 0
    # Crash: no commit, no answer. A second worker opens the same books.
    worker, http = new_api(tmp_path / "books")
    assert (worker.book[cid].calls, worker.book[cid].voucher_amount) == (0, 0)
    answer = post(http, cid, digits[0], MODEL_PRICE, signature)
    assert (answer.status_code, answer.json()["seq"]) == (200, 1)
    replay = post(http, cid, digits[0], MODEL_PRICE, signature)
    assert replay.status_code == 409  # and only once
    assert (worker.book[cid].durable_calls, worker.book[cid].durable_amount) == (1, MODEL_PRICE)
    assert worker.status(cid)["pending_receipts"] == 1
    assert worker.settle().total == MODEL_PRICE


def test_restart__empty_ledger__settled_voucher_refused(system, new_api, cid, app_builder, digits, tmp_path):
    worker, http = new_api(tmp_path / "first")
    for i in range(2):
        assert call(system, http, cid, app_builder, digits[i], (i + 1) * MODEL_PRICE).status_code == 200
    assert worker.settle().total == 2 * MODEL_PRICE

    worker, http = new_api(tmp_path / "lost")  # the books are gone; the chain still knows what was settled
    replay = call(system, http, cid, app_builder, digits[2], 2 * MODEL_PRICE)
    assert (replay.status_code, replay.json()["detail"]) == (
        409, f"voucher for {2 * MODEL_PRICE} wei is not newer than the {2 * MODEL_PRICE} wei already accepted or "
             "settled")
    short = call(system, http, cid, app_builder, digits[2], 2 * MODEL_PRICE + 1)
    assert short.status_code == 402
    answer = call(system, http, cid, app_builder, digits[2], 3 * MODEL_PRICE)
    assert (answer.status_code, answer.json()["seq"]) == (200, 3)  # above the seqs the settled amount paid for
    assert system.PaymentChannels.channels(cid).settled == 2 * MODEL_PRICE


# ---------------------------------------------------------------- closing channels


def test_tick__close_requested__settled_before_the_close_delay_ends(system, new_api, cid, app_builder, digits):
    worker, http = new_api(refresh_after=3_600)  # only the events tell the worker
    channels = system.PaymentChannels
    for i in range(3):
        assert call(system, http, cid, app_builder, digits[i], (i + 1) * MODEL_PRICE).status_code == 200
    worker.sync()
    closes_at = channels.request_close(cid, sender=app_builder).decode_logs(channels.CloseRequested)[0].closes_at
    done = worker.tick()
    assert done.paid == {cid: 3 * MODEL_PRICE}
    assert chain.pending_timestamp < closes_at
    assert channels.channels(cid).settled == 3 * MODEL_PRICE
    assert worker.status(cid)["pending_receipts"] == 0
    refused = call(system, http, cid, app_builder, digits[3], 4 * MODEL_PRICE)
    assert (refused.status_code, refused.json()["detail"]) == (
        409, "channel closing (its payer asked to close): open a new one")
    chain.mine(timestamp=closes_at + 1)
    tx = channels.close(cid, sender=app_builder)
    assert tx.decode_logs(channels.ChannelClosed)[0].refunded == 0  # 3 x price was the whole deposit


def test_restart__close_requested_while_down__settled_at_first_tick(system, new_api, cid, app_builder, digits,
                                                                    tmp_path):
    worker, http = new_api(tmp_path / "books")
    channels = system.PaymentChannels
    assert call(system, http, cid, app_builder, digits[0], MODEL_PRICE).status_code == 200
    http.__exit__(None, None, None)
    worker.close()
    channels.request_close(cid, sender=app_builder)
    chain.mine(5)

    worker, _ = new_api(tmp_path / "books", refresh_after=3_600)
    assert worker.tick().paid == {cid: MODEL_PRICE}
    assert channels.channels(cid).settled == MODEL_PRICE


def test_background__close_requested__worker_settles_by_itself(system, new_api, cid, app_builder, digits):
    worker, http = new_api()
    channels = system.PaymentChannels
    assert call(system, http, cid, app_builder, digits[0], MODEL_PRICE).status_code == 200
    channels.request_close(cid, sender=app_builder)
    worker.tick_every = 0.5
    settled = threading.Event()
    with TestClient(create_app(worker)):  # its background task, not this test, settles
        for _ in range(600):
            if worker.book[cid].settled == MODEL_PRICE:
                settled.set()
                break
            settled.wait(0.1)
    assert settled.is_set()
    assert worker.tick_interval() == 0.5
    assert channels.channels(cid).settled == MODEL_PRICE


def test_tick__no_closing_channel_under_threshold__sends_nothing(system, new_api, cid, app_builder, digits):
    worker, http = new_api()
    assert call(system, http, cid, app_builder, digits[0], MODEL_PRICE).status_code == 200
    head = chain.blocks.head.number
    assert worker.tick().transactions == 0
    assert chain.blocks.head.number == head


# ---------------------------------------------------------------- settlement faults


@pytest.fixture
def two_channels(system, model_id, staked_worker, app_builder, mallory):
    channels = system.PaymentChannels
    return (open_channel(channels, app_builder, staked_worker, model_id, ETH),
            open_channel(channels, mallory, staked_worker, model_id, ETH))


def test_settle__one_channel_closed__others_paid_and_closed_one_dropped(system, new_api, two_channels, app_builder,
                                                                        mallory, digits):
    worker, http = new_api()
    channels = system.PaymentChannels
    a, b = two_channels
    for i in range(2):
        assert call(system, http, a, app_builder, digits[i], (i + 1) * MODEL_PRICE).status_code == 200
        assert call(system, http, b, mallory, digits[i], (i + 1) * MODEL_PRICE).status_code == 200
    channels.request_close(a, sender=app_builder)
    chain.mine(timestamp=chain.pending_timestamp + channels.params().close_delay + 1)
    channels.close(a, sender=app_builder)  # the worker missed its chance: a's voucher can never pay

    answer = http.post("/v1/settle")
    reason = f"closed on chain with {2 * MODEL_PRICE} wei unsettled; dropped"
    assert (answer.status_code, answer.json()) == (200, {
        "settled_wei": 2 * MODEL_PRICE, "paid": {"0x" + b.hex(): 2 * MODEL_PRICE}, "failed": {},
        "dropped": {"0x" + a.hex(): reason}, "transactions": 1})
    assert channels.channels(b).settled == 2 * MODEL_PRICE
    assert (worker.book[a].dead, worker.status(a)["pending_receipts"]) == (reason, 0)
    assert worker.settle().as_json()["transactions"] == 0  # not retried forever


def test_settle__batch_reverts__falls_back_per_channel_and_keeps_the_bad_one(system, new_api, two_channels,
                                                                            app_builder, mallory, digits):
    worker, http = new_api()
    channels = system.PaymentChannels
    a, b = two_channels
    assert call(system, http, a, app_builder, digits[0], MODEL_PRICE).status_code == 200
    assert call(system, http, b, mallory, digits[0], MODEL_PRICE).status_code == 200
    # Books that hold a voucher the contract refuses (e.g. restored from another deployment's backup).
    worker.ledger.accept(a, 2 * MODEL_PRICE, voucher(channels, mallory, a, 2 * MODEL_PRICE))

    done = worker.settle()
    assert done.paid == {b: MODEL_PRICE}
    assert "PaymentChannels: invalid voucher signature" in done.failed[a]
    assert (channels.channels(a).settled, channels.channels(b).settled) == (0, MODEL_PRICE)
    assert (worker.status(a)["pending_receipts"], worker.status(b)["pending_receipts"]) == (1, 0)
    assert worker.book[a].dead is None  # open on chain: tried again next time


def test_settle__transaction_fails__receipts_kept_until_confirmed(system, new_api, cid, app_builder, digits,
                                                                 staked_worker, deployer):
    worker, http = new_api()
    for i in range(3):
        assert call(system, http, cid, app_builder, digits[i], (i + 1) * MODEL_PRICE).status_code == 200
    gas_price = chain.provider.gas_price * 2
    funds = staked_worker.balance - 21_000 * gas_price
    staked_worker.transfer(deployer, funds, type=0, gas_price=gas_price, gas_limit=21_000)
    assert staked_worker.balance == 0  # the worker cannot pay for gas
    failed = worker.settle()
    assert (failed.total, list(failed.failed)) == (0, [cid])
    assert worker.status(cid)["pending_receipts"] == 3
    assert system.PaymentChannels.channels(cid).settled == 0

    deployer.transfer(staked_worker, funds)
    done = worker.settle()
    assert (done.paid, done.failed) == ({cid: 3 * MODEL_PRICE}, {})
    assert worker.status(cid)["pending_receipts"] == 0
    assert system.PaymentChannels.channels(cid).settled == 3 * MODEL_PRICE


def test_settle__concurrent_calls__one_transaction(system, new_api, two_channels, app_builder, mallory, digits):
    worker, http = new_api()
    channels = system.PaymentChannels
    a, b = two_channels
    assert call(system, http, a, app_builder, digits[0], MODEL_PRICE).status_code == 200
    assert call(system, http, b, mallory, digits[0], MODEL_PRICE).status_code == 200
    start, results = threading.Barrier(4), []

    def settle():
        start.wait()
        results.append(worker.settle())

    threads = [threading.Thread(target=settle) for _ in range(4)]
    head = chain.blocks.head.number
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.transactions for r in results) == 1
    assert sum(r.total for r in results) == 2 * MODEL_PRICE
    assert chain.blocks.head.number == head + 1
    assert (channels.channels(a).settled, channels.channels(b).settled) == (MODEL_PRICE, MODEL_PRICE)


def test_read_channel__raw_call__equals_the_contracts_getter(system, new_api, cid, app_builder, digits):
    worker, http = new_api()
    assert call(system, http, cid, app_builder, digits[0], MODEL_PRICE).status_code == 200
    worker.settle()
    system.PaymentChannels.request_close(cid, sender=app_builder)
    onchain = system.PaymentChannels.channels(cid)
    state = worker.read_channel(cid)
    assert (state.payer, state.worker, state.model_id, state.deposit, state.settled, state.closes_at, state.closed) \
        == (onchain.payer, onchain.worker, onchain.model_id, onchain.deposit, onchain.settled, onchain.closes_at,
            onchain.closed)
    assert state.settled == MODEL_PRICE and state.closes_at > 0
