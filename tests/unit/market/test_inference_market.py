"""InferenceMarket: escrow, claims, attested fulfilment, challenges, settlement, refunds."""

import ape
import pytest
from ape import chain
from eth_utils import keccak

from offchain.client import request_views
from offchain.governance import Proposal
from tests.conftest import MIN_STAKE, MODEL_PRICE, stake_worker
from tests.utils.court import by_address, decide, draw, members, new_verifiers, past as past_time, vote
from tests.unit.market.test_model_registry import set_storage
from tests.utils.governance import pass_proposal
from tests.utils.market import (
    CHALLENGED,
    CLAIMED,
    FINALIZED,
    FULFILLED,
    INPUT_HASH,
    REFUNDED,
    REQUESTED,
    RESULT_HASH,
    challenge as challenge_request,
    fulfil,
    past,
    past_window,
    request,
    signature,
)
from tests.utils.constants import DAY, ETH, ZERO_ADDRESS as ZERO

ACCOUNT_COUNT_SLOT = 15  # InferenceMarket.account_count (vyper -f layout)
PAYMENT = MODEL_PRICE * 105 // 100  # price + 5 % protocol fee
LOCK = 100 * ETH  # max(miss_slash, challenge_slash) with the deploy defaults: locked per request in flight


@pytest.fixture(scope="module")
def pool(accounts, system, deployer, model_id):
    """Three staked verifiers in the model's pool: the court's default committee."""
    return by_address(new_verifiers(accounts, system, deployer, model_id, 3))


@pytest.fixture
def rid(market, model_id, app_builder, staked_worker, pool):
    return request(market, model_id, app_builder)


@pytest.fixture
def claimed(market, rid, staked_worker):
    market.claim(rid, sender=staked_worker)
    return rid


@pytest.fixture
def fulfilled(market, claimed, staked_worker, signer_key):
    fulfil(market, claimed, staked_worker, signer_key)
    return claimed


@pytest.fixture
def second_worker(system, deployer, mallory):
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, mallory)
    return mallory


# ---------------------------------------------------------------- request


def test_request__escrows_payment_and_logs(market, model_id, app_builder):
    deadline = chain.pending_timestamp + 600
    tx = market.request_inference(model_id, INPUT_HASH, "data:,x", deadline, sender=app_builder, value=PAYMENT)
    request_id = market.request_count()
    state = market.get_request(request_id)
    assert (state.requester, state.model_id, state.deadline, state.state) == (
        app_builder.address, model_id, deadline, REQUESTED)
    assert state.payment == PAYMENT
    assert bytes(state.hash) == INPUT_HASH
    assert market.balance == PAYMENT
    log = tx.decode_logs(market.InferenceRequested)[0]
    assert (log.request_id, log.model_id, log.requester, bytes(log.input_hash), log.input_uri, log.payment) == (
        request_id, model_id, app_builder.address, INPUT_HASH, "data:,x", PAYMENT)


def test_request__excess__returned(market, model_id, app_builder):
    before = app_builder.balance
    tx = market.request_inference(
        model_id, INPUT_HASH, "", chain.pending_timestamp + 600, sender=app_builder, value=PAYMENT + 5 * ETH
    )
    assert app_builder.balance == before - PAYMENT - tx.total_fees_paid
    assert market.balance == PAYMENT


def test_quote__price_plus_fee(market, model_id):
    assert market.quote(model_id) == PAYMENT
    assert market.quote(model_id, 100_000) == PAYMENT + 100_000 * 10**9


@pytest.mark.parametrize(
    "kwargs,reason",
    [
        ({"value": PAYMENT - 1}, "InferenceMarket: insufficient payment"),
        ({"input_hash": b"\x00" * 32}, "InferenceMarket: empty input hash"),
        ({"deadline": 1}, "InferenceMarket: deadline passed"),
        ({"deadline": 2**32}, "InferenceMarket: deadline too far"),
    ],
)
def test_request__bad_input__reverts(market, model_id, app_builder, kwargs, reason):
    with ape.reverts(reason):
        request(market, model_id, app_builder, **kwargs)


def test_request__pending_model__reverts(market, models, author, app_builder):
    models.register_model(b"\x01" * 32, b"\x02" * 32, "", 1, [author], [1], sender=author)
    with ape.reverts("InferenceMarket: model not active"):
        request(market, models.model_count(), app_builder, value=10**18)
    with ape.reverts("InferenceMarket: model not active"):
        market.quote(models.model_count())


def test_request_with_callback__zero_gas__reverts(market, model_id, app_builder):
    with ape.reverts("InferenceMarket: callback gas limit is zero"):
        market.request_inference_with_callback(
            model_id, INPUT_HASH, "", chain.pending_timestamp + 60, 0, sender=app_builder, value=PAYMENT
        )


def test_request_with_callback__gas_no_block_carries__reverts(market, model_id, app_builder):
    # A limit above what any transaction can carry would make the request impossible to finalize or refund
    # once fulfilled: its escrow and the worker's exposure locked for good.
    count = market.request_count()
    for limit in (2_000_001, 40_000_000):
        with ape.reverts("InferenceMarket: callback gas limit too high"):
            market.request_inference_with_callback(model_id, INPUT_HASH, "", chain.pending_timestamp + 60, limit,
                                                   sender=app_builder, value=market.quote(model_id, limit))
    assert market.request_count() == count
    tx = market.request_inference_with_callback(model_id, INPUT_HASH, "", chain.pending_timestamp + 60, 2_000_000,
                                                sender=app_builder, value=market.quote(model_id, 2_000_000))
    assert tx.decode_logs(market.InferenceRequested)[0].callback_gas_limit == 2_000_000


# ---------------------------------------------------------------- batched request


def request_batch(market, model_id, requester, n, *, value=None, deadline=None, uris=None, hashes=None):
    hashes = [keccak(b"input %d" % i) for i in range(n)] if hashes is None else hashes
    uris = [f"data:,{i}" for i in range(len(hashes))] if uris is None else uris
    deadline = chain.pending_timestamp + 3_600 if deadline is None else deadline
    value = PAYMENT * len(hashes) if value is None else value
    return market.request_inference_batch(model_id, hashes, uris, deadline, sender=requester, value=value)


def test_request_batch__escrows_each_logs_each_returns_excess(market, model_id, app_builder):
    first = market.request_count() + 1
    deadline = chain.pending_timestamp + 600
    hashes = [keccak(b"a"), keccak(b"b"), keccak(b"c")]
    uris = ["data:,a", "data:,b", "data:,c"]
    assert market.request_inference_batch.call(model_id, hashes, uris, deadline, sender=app_builder,
                                               value=3 * PAYMENT) == first  # the first id is returned
    before, held = app_builder.balance, market.balance
    tx = market.request_inference_batch(model_id, hashes, uris, deadline, sender=app_builder, value=3 * PAYMENT + 5 * ETH)
    assert market.request_count() == first + 2  # the ids follow each other (the call returns the first)
    assert app_builder.balance == before - 3 * PAYMENT - tx.total_fees_paid
    assert market.balance == held + 3 * PAYMENT
    for offset, input_hash in enumerate(hashes):
        state = market.get_request(first + offset)
        assert (state.requester, state.model_id, state.deadline, state.state, state.has_callback) == (
            app_builder.address, model_id, deadline, REQUESTED, False)
        assert (state.worker, state.payment, bytes(state.hash), state.stamp) == (ZERO, PAYMENT, input_hash, 0)
    logs = tx.decode_logs(market.InferenceRequested)
    assert [(log.request_id, log.model_id, log.requester, bytes(log.input_hash), log.input_uri, log.deadline,
             log.payment, log.callback_gas_limit) for log in logs] == [
        (first + i, model_id, app_builder.address, h, f"data:,{c}", deadline, PAYMENT, 0)
        for i, (h, c) in enumerate(zip(hashes, "abc"))]


def test_request_batch__exact_payment__nothing_returned(market, model_id, app_builder):
    before = app_builder.balance
    tx = request_batch(market, model_id, app_builder, 2)
    assert app_builder.balance == before - 2 * PAYMENT - tx.total_fees_paid


@pytest.mark.parametrize(
    "kwargs,reason",
    [
        ({"n": 0}, "InferenceMarket: empty batch"),
        ({"n": 2, "uris": ["data:,only one"]}, "InferenceMarket: input count mismatch"),
        ({"n": 2, "uris": ["a", "b", "c"]}, "InferenceMarket: input count mismatch"),
        ({"n": 3, "value": 3 * PAYMENT - 1}, "InferenceMarket: insufficient payment"),
        ({"n": 3, "hashes": [keccak(b"a"), b"\x00" * 32, keccak(b"c")]}, "InferenceMarket: empty input hash"),
        ({"n": 2, "deadline": 1}, "InferenceMarket: deadline passed"),
        ({"n": 2, "deadline": 2**32}, "InferenceMarket: deadline too far"),
    ],
)
def test_request_batch__bad_input__reverts_whole_batch(market, model_id, app_builder, kwargs, reason):
    count, held = market.request_count(), market.balance
    with ape.reverts(reason):
        request_batch(market, model_id, app_builder, **kwargs)
    assert (market.request_count(), market.balance) == (count, held)


def test_request_batch__pending_model__reverts(market, models, author, app_builder):
    models.register_model(b"\x01" * 32, b"\x02" * 32, "", 1, [author], [1], sender=author)
    with ape.reverts("InferenceMarket: model not active"):
        request_batch(market, models.model_count(), app_builder, 2, value=10**18)


def test_request_batch__at_bounds__accepted_above__reverts(market, model_id, app_builder):
    tx = request_batch(market, model_id, app_builder, 100, uris=["x" * 256] * 100)  # MAX_BATCH of MAX_BATCH_INPUT_URI
    logs = tx.decode_logs(market.InferenceRequested)
    assert len(logs) == 100 and logs[-1].input_uri == "x" * 256
    assert market.request_count() == logs[-1].request_id
    with ape.reverts():
        request_batch(market, model_id, app_builder, 101)  # MAX_BATCH inputs
    with ape.reverts():
        request_batch(market, model_id, app_builder, 1, uris=["x" * 257])  # MAX_BATCH_INPUT_URI bytes


def test_request_batch__each_request_settles_on_its_own(market, workers, model_id, app_builder, staked_worker,
                                                         signer_key, mallory):
    """One of a batch is finalized, one refunded after a miss, one never claimed and refunded: each
    moves exactly its own escrow, and the market ends holding only what it owes."""
    held = market.balance
    deadline = chain.pending_timestamp + 600
    first = request_batch(market, model_id, app_builder, 3, deadline=deadline).decode_logs(
        market.InferenceRequested)[0].request_id
    done, missed, idle = first, first + 1, first + 2
    market.claim_batch([done, missed], sender=staked_worker)
    fulfil(market, done, staked_worker, signer_key)
    past(deadline)
    past_window(market)
    market.finalize(done, sender=mallory)
    refunds = [market.refund(i, sender=mallory).decode_logs(market.InferenceRefunded)[0] for i in (missed, idle)]
    assert [(log.request_id, log.requester, log.amount, log.missed_by) for log in refunds] == [
        (missed, app_builder.address, PAYMENT, staked_worker.address), (idle, app_builder.address, PAYMENT, ZERO)]
    assert [market.get_request(i).state for i in (done, missed, idle)] == [FINALIZED, REFUNDED, REFUNDED]
    assert market.owed(app_builder) == 2 * PAYMENT
    assert market.exposure(staked_worker) == (0, 0)
    assert workers.locked(staked_worker) == 0
    worker_cut = PAYMENT * 7_000 // 10_000
    treasury_cut = PAYMENT - worker_cut - PAYMENT * 2_000 // 10_000 - PAYMENT * 500 // 10_000
    assert market.balance == held + 2 * PAYMENT + worker_cut + treasury_cut


def test_account_ids__given_once_per_address(market, model_id, app_builder, staked_worker):
    count = market.account_count()
    known = market.account_id(app_builder)
    rid = request(market, model_id, app_builder)
    requester_id = market.account_id(app_builder)
    assert requester_id == (known or count + 1)
    request_batch(market, model_id, app_builder, 2)
    assert market.account_id(app_builder) == requester_id
    market.claim(rid, sender=staked_worker)
    worker_id = market.account_id(staked_worker)
    assert worker_id not in (0, requester_id)
    assert (market.account_at(requester_id), market.account_at(worker_id)) == (
        app_builder.address, staked_worker.address)
    assert market.account_at(0) == ZERO  # no claimant yet reads as the zero address
    assert market.get_request(rid).worker == staked_worker.address


def test_account_ids__exhausted__new_address_refused_known_ones_go_on(market, model_id, app_builder, carol):
    request(market, model_id, app_builder)  # app_builder has an id
    assert market.account_id(carol) == 0
    set_storage(market.address, ACCOUNT_COUNT_SLOT, 2**32 - 1)
    assert market.account_count() == 2**32 - 1
    with ape.reverts("InferenceMarket: account ids exhausted"):
        request(market, model_id, carol)
    with ape.reverts("InferenceMarket: account ids exhausted"):
        request_batch(market, model_id, carol, 2)
    rid = request(market, model_id, app_builder)
    assert market.get_request(rid).requester == app_builder.address


# ---------------------------------------------------------------- claim


def test_claim__by_active_worker__exclusive(market, rid, staked_worker, second_worker):
    tx = market.claim(rid, sender=staked_worker)
    state = market.get_request(rid)
    assert (state.state, state.worker, state.stamp) == (CLAIMED, staked_worker.address, chain.blocks.head.timestamp)
    assert tx.decode_logs(market.InferenceClaimed)[0].worker == staked_worker.address
    with ape.reverts("InferenceMarket: request already claimed"):
        market.claim(rid, sender=second_worker)


def test_claim__after_timeout__another_worker_takes_it_and_miss_recorded(market, workers, rid, staked_worker, second_worker):
    market.claim(rid, sender=staked_worker)
    chain.mine(timestamp=chain.pending_timestamp + market.params().claim_timeout + 1)
    market.claim(rid, sender=second_worker)
    assert market.get_request(rid).worker == second_worker.address
    assert workers.missed(staked_worker) == 1


def test_claim__not_a_worker__reverts(market, rid, mallory):
    with ape.reverts("InferenceMarket: caller is not an active worker"):
        market.claim(rid, sender=mallory)


def test_claim__unknown_or_settled__reverts(market, fulfilled, staked_worker):
    with ape.reverts("InferenceMarket: request not open"):
        market.claim(fulfilled, sender=staked_worker)
    with ape.reverts("InferenceMarket: request not open"):
        market.claim(999, sender=staked_worker)


def test_claim__after_deadline__reverts(market, rid, staked_worker):
    past(market.get_request(rid).deadline)
    with ape.reverts("InferenceMarket: request expired"):
        market.claim(rid, sender=staked_worker)


def test_claim_batch__skips_what_is_taken(market, model_id, app_builder, staked_worker, second_worker):
    ids = [request(market, model_id, app_builder) for _ in range(3)]
    market.claim(ids[1], sender=second_worker)
    tx = market.claim_batch(ids + [999], sender=staked_worker)
    assert len(tx.decode_logs(market.InferenceClaimed)) == 2
    assert [market.get_request(i).worker for i in ids] == [
        staked_worker.address, second_worker.address, staked_worker.address]


# ---------------------------------------------------------------- fulfil


def test_attack__relayer_swaps_the_result_uri__reverts_and_the_claimant_posts_its_own(
        market, claimed, staked_worker, signer_key, mallory, second_worker):
    """Attack: front-run the worker's fulfil with its signature (which does not cover the URI) and a URI that
    serves nothing; the committee would then find the result "not served as attested" and slash an honest
    worker. Only the claimant may post its result."""
    sig = signature(market, claimed, signer_key)
    for relayer in (mallory, second_worker):  # a stranger, and another active worker
        with ape.reverts("InferenceMarket: caller is not the claimant"):
            market.fulfill(claimed, RESULT_HASH, "data:,x", sig, sender=relayer)
    assert market.get_request(claimed).state == CLAIMED
    tx = fulfil(market, claimed, staked_worker, signer_key)
    state = market.get_request(claimed)
    assert (state.state, bytes(state.hash)) == (FULFILLED, RESULT_HASH)
    log = tx.decode_logs(market.InferenceFulfilled)[0]
    assert (log.worker, bytes(log.result_hash), log.result_uri) == (staked_worker.address, RESULT_HASH, "http://worker/r")


def _fulfil_with(market, request_id, sig, sender):
    return market.fulfill(request_id, RESULT_HASH, "", sig, sender=sender)


@pytest.mark.parametrize(
    "knob",
    [{"chain_id": 1}, {"market_address": "0x" + "12" * 20}, {"model_id": 99}, {"input_hash": b"\x05" * 32},
     {"result_hash": b"\x06" * 32}],
)
def test_fulfill__signature_for_something_else__reverts(market, claimed, signer_key, staked_worker, knob):
    sig = signature(market, claimed, signer_key, **knob)
    with ape.reverts("InferenceMarket: invalid signature"):
        _fulfil_with(market, claimed, sig, staked_worker)


def test_fulfill__signature_of_other_request__reverts(market, model_id, app_builder, claimed, staked_worker, signer_key):
    other = request(market, model_id, app_builder)
    market.claim(other, sender=staked_worker)
    sig = signature(market, other, signer_key)
    with ape.reverts("InferenceMarket: invalid signature"):
        _fulfil_with(market, claimed, sig, staked_worker)


def test_fulfill__signed_by_a_key_not_the_claimants__reverts(market, claimed, staked_worker, mallory):
    sig = signature(market, claimed, mallory.private_key)
    with ape.reverts("InferenceMarket: invalid signature"):
        _fulfil_with(market, claimed, sig, staked_worker)


def test_fulfill__unbonded_worker__reverts(market, workers, claimed, staked_worker, signer_key):
    sig = signature(market, claimed, signer_key)
    workers.unbond(sender=staked_worker)
    with ape.reverts("InferenceMarket: worker is not active"):
        _fulfil_with(market, claimed, sig, staked_worker)


def test_fulfill__not_claimed__reverts(market, rid, signer_key, staked_worker):
    with ape.reverts("InferenceMarket: request not claimed"):
        _fulfil_with(market, rid, signature(market, rid, signer_key), staked_worker)


def test_fulfill__after_deadline__reverts(market, claimed, signer_key, staked_worker):
    sig = signature(market, claimed, signer_key)
    past(market.get_request(claimed).deadline)
    with ape.reverts("InferenceMarket: request expired"):
        _fulfil_with(market, claimed, sig, staked_worker)


def test_fulfill__empty_result_hash__reverts(market, claimed, signer_key, staked_worker):
    sig = signature(market, claimed, signer_key, result_hash=b"\x00" * 32)
    with ape.reverts("InferenceMarket: empty result hash"):
        market.fulfill(claimed, b"\x00" * 32, "", sig, sender=staked_worker)


def test_fulfill__replayed__reverts(market, fulfilled, signer_key, staked_worker):
    with ape.reverts("InferenceMarket: request not claimed"):
        fulfil(market, fulfilled, staked_worker, signer_key)


def test_fulfill_batch__many_at_once(market, model_id, app_builder, staked_worker, signer_key):
    ids = [request(market, model_id, app_builder) for _ in range(3)]
    market.claim_batch(ids, sender=staked_worker)
    items = [(i, RESULT_HASH, "", signature(market, i, signer_key)) for i in ids]
    tx = market.fulfill_batch(items, sender=staked_worker)
    assert len(tx.decode_logs(market.InferenceFulfilled)) == 3
    assert all(market.get_request(i).state == FULFILLED for i in ids)


def test_fulfill_batch__one_bad_signature__reverts_all(market, model_id, app_builder, staked_worker, signer_key, mallory):
    ids = [request(market, model_id, app_builder) for _ in range(2)]
    market.claim_batch(ids, sender=staked_worker)
    items = [(ids[0], RESULT_HASH, "", signature(market, ids[0], signer_key)),
             (ids[1], RESULT_HASH, "", signature(market, ids[1], mallory.private_key))]
    with ape.reverts("InferenceMarket: invalid signature"):
        market.fulfill_batch(items, sender=staked_worker)
    assert market.get_request(ids[0]).state == CLAIMED


def test_fulfill_batch__an_item_claimed_by_another_worker__reverts_all(market, model_id, app_builder, staked_worker,
                                                                        second_worker, signer_key):
    ids = [request(market, model_id, app_builder) for _ in range(2)]
    market.claim(ids[0], sender=staked_worker)
    market.claim(ids[1], sender=second_worker)
    items = [(i, RESULT_HASH, "", signature(market, i, signer_key)) for i in ids]
    with ape.reverts("InferenceMarket: caller is not the claimant"):
        market.fulfill_batch(items, sender=staked_worker)
    assert [market.get_request(i).state for i in ids] == [CLAIMED, CLAIMED]


# ---------------------------------------------------------------- finalize and the split


def test_finalize__splits_exactly_to_the_wei(market, token, shares, fulfilled, staked_worker, model_id, author, dave,
                                             system, mallory):
    past_window(market)
    holders_before = token.balance
    tx = market.finalize(fulfilled, sender=mallory)
    worker_cut = PAYMENT * 7_000 // 10_000
    share_cut = PAYMENT * 2_000 // 10_000
    holder_cut = PAYMENT * 500 // 10_000
    treasury_cut = PAYMENT - worker_cut - share_cut - holder_cut
    log = tx.decode_logs(market.InferenceFinalized)[0]
    assert (log.worker_amount, log.shareholders_amount, log.holders_amount, log.treasury_amount) == (
        worker_cut, share_cut, holder_cut, treasury_cut)
    assert market.owed(staked_worker) == worker_cut
    assert market.owed(system.Timelock) == treasury_cut
    assert token.balance == holders_before + holder_cut
    assert shares.withdrawable_revenue(author, [model_id]) == share_cut * 600 // 1000
    assert shares.withdrawable_revenue(dave, [model_id]) == share_cut * 400 // 1000
    assert market.get_request(fulfilled).state == FINALIZED
    assert system.WorkerRegistry.fulfilled(staked_worker) == 1
    assert market.balance == worker_cut + treasury_cut


def test_finalize__rounding_dust_goes_to_treasury(market, models, model_id, author, app_builder, staked_worker,
                                                  signer_key):
    models.set_price(model_id, 7, sender=author)
    rid = request(market, model_id, app_builder)  # payment 7 wei (fee rounds to 0)
    market.claim(rid, sender=staked_worker)
    fulfil(market, rid, staked_worker, signer_key)
    past_window(market)
    log = market.finalize(rid, sender=app_builder).decode_logs(market.InferenceFinalized)[0]
    assert (log.worker_amount, log.shareholders_amount, log.holders_amount, log.treasury_amount) == (4, 1, 0, 2)


def test_finalize__inside_window__reverts(market, fulfilled, mallory):
    with ape.reverts("InferenceMarket: challenge window open"):
        market.finalize(fulfilled, sender=mallory)


def test_finalize__not_fulfilled__reverts(market, claimed, mallory):
    with ape.reverts("InferenceMarket: request not fulfilled"):
        market.finalize(claimed, sender=mallory)


def test_finalize__twice__reverts(market, fulfilled, mallory):
    past_window(market)
    market.finalize(fulfilled, sender=mallory)
    with ape.reverts("InferenceMarket: request not fulfilled"):
        market.finalize(fulfilled, sender=mallory)


def test_finalize_batch__skips_unready(market, model_id, app_builder, staked_worker, signer_key, mallory):
    ids = [request(market, model_id, app_builder) for _ in range(3)]
    market.claim_batch(ids, sender=staked_worker)
    fulfil(market, ids[0], staked_worker, signer_key)
    fulfil(market, ids[2], staked_worker, signer_key)
    past_window(market)
    tx = market.finalize_batch(ids, sender=mallory)
    assert [log.request_id for log in tx.decode_logs(market.InferenceFinalized)] == [ids[0], ids[2]]
    assert market.owed(staked_worker) == 2 * (PAYMENT * 7_000 // 10_000)


def test_withdraw__pays_worker_once(market, fulfilled, staked_worker, mallory):
    past_window(market)
    market.finalize(fulfilled, sender=mallory)
    owed = market.owed(staked_worker)
    before = staked_worker.balance
    tx = market.withdraw(sender=staked_worker)
    assert staked_worker.balance == before + owed - tx.total_fees_paid
    assert tx.decode_logs(market.Withdrawn)[0].amount == owed
    with ape.reverts("pull_payments: nothing to withdraw"):
        market.withdraw(sender=staked_worker)


def test_withdraw_to__pays_receiver_logs_both(market, fulfilled, staked_worker, mallory, carol):
    past_window(market)
    market.finalize(fulfilled, sender=mallory)
    owed = market.owed(staked_worker)
    before = carol.balance
    tx = market.withdraw_to(carol, sender=staked_worker)
    log = tx.decode_logs(market.Withdrawn)[0]
    assert (log.account, log.to, log.amount) == (staked_worker.address, carol.address, owed)
    assert carol.balance == before + owed
    assert market.owed(staked_worker) == 0
    with ape.reverts("pull_payments: nothing to withdraw"):
        market.withdraw_to(carol, sender=staked_worker)


def test_withdraw_to__zero_address__reverts(market, fulfilled, staked_worker, mallory):
    past_window(market)
    market.finalize(fulfilled, sender=mallory)
    owed = market.owed(staked_worker)
    with ape.reverts("pull_payments: receiver is the zero address"):
        market.withdraw_to(ZERO, sender=staked_worker)
    assert market.owed(staked_worker) == owed


def test_split_views__read_params(market):
    p = market.params()
    assert tuple(market.split_bps()) == (p.worker_bps, p.shareholders_bps, p.holders_bps)


def test_sweep_treasury__sends_share_to_timelock(market, fulfilled, mallory, system):
    past_window(market)
    market.finalize(fulfilled, sender=mallory)
    owed = market.owed(system.Timelock)
    before = system.Timelock.balance
    market.sweep_treasury(sender=mallory)
    assert system.Timelock.balance == before + owed
    with ape.reverts("pull_payments: nothing to withdraw"):
        market.sweep_treasury(sender=mallory)


# ---------------------------------------------------------------- refunds


def test_refund__unclaimed_after_deadline__full_refund(market, rid, app_builder, mallory):
    past(market.get_request(rid).deadline)
    tx = market.refund(rid, sender=mallory)
    assert market.owed(app_builder) == PAYMENT
    assert market.get_request(rid).state == REFUNDED
    log = tx.decode_logs(market.InferenceRefunded)[0]
    assert (log.requester, log.amount) == (app_builder.address, PAYMENT)


def test_refund__claimed_and_missed__records_miss_and_slashes(market, workers, token, claimed, staked_worker,
                                                              system, mallory):
    stake = workers.workers(staked_worker).stake
    treasury_tokens = token.balanceOf(system.Timelock)
    past(market.get_request(claimed).deadline)
    market.refund(claimed, sender=mallory)
    assert workers.missed(staked_worker) == 1
    assert workers.slashed(staked_worker) == 1
    assert workers.workers(staked_worker).stake == stake - 10 * ETH
    assert token.balanceOf(system.Timelock) == treasury_tokens + 10 * ETH


def test_refund__before_deadline__reverts(market, rid, mallory):
    with ape.reverts("InferenceMarket: deadline not passed"):
        market.refund(rid, sender=mallory)


def test_refund__fulfilled__reverts(market, fulfilled, mallory):
    past(market.get_request(fulfilled).deadline)
    with ape.reverts("InferenceMarket: request not refundable"):
        market.refund(fulfilled, sender=mallory)


# ---------------------------------------------------------------- challenges


WRONG = keccak(b"the honest answer")


BOND, FEE = 10**16, 10**15  # challenge bond, court member fee (deploy defaults)


def challenge(market, court, request_id, challenger) -> int:
    return challenge_request(market, court, request_id, challenger, result_hash=WRONG)


def test_challenge__posts_bond_to_the_court(market, court, fulfilled, second_worker):
    tx = market.challenge(fulfilled, WRONG, sender=second_worker, value=10**16)
    assert market.get_request(fulfilled).state == CHALLENGED
    recorded = market.challenges(fulfilled)
    assert (recorded.challenger, recorded.bond, bytes(recorded.result_hash)) == (second_worker.address, BOND, WRONG)
    log = tx.decode_logs(market.InferenceChallenged)[0]
    assert (log.bond, log.dispute_id) == (10**16, recorded.dispute_id)
    assert court.disputes(recorded.dispute_id).subject_id == fulfilled
    assert court.balance == BOND
    with ape.reverts("InferenceMarket: request not fulfilled"):
        market.finalize(fulfilled, sender=second_worker)


@pytest.mark.parametrize(
    "case,reason",
    [
        ("bond", "InferenceMarket: wrong challenge bond"),
        ("same", "InferenceMarket: challenge repeats the result"),
        ("self", "InferenceMarket: worker cannot challenge itself"),
        ("outsider", "InferenceMarket: caller is not an active worker"),
        ("late", "InferenceMarket: challenge window closed"),
    ],
)
def test_challenge__invalid__reverts(market, fulfilled, second_worker, staked_worker, mallory, app_builder, case, reason):
    sender, value, result = second_worker, 10**16, WRONG
    if case == "bond":
        value = 1
    elif case == "same":
        result = RESULT_HASH
    elif case == "self":
        sender = staked_worker
    elif case == "outsider":
        sender = app_builder
    elif case == "late":
        past_window(market)
    with ape.reverts(reason):
        market.challenge(fulfilled, result, sender=sender, value=value)


def test_challenge__not_fulfilled__reverts(market, claimed, second_worker):
    with ape.reverts("InferenceMarket: request not fulfilled"):
        market.challenge(claimed, WRONG, sender=second_worker, value=10**16)


def test_verdict__worker_right__takes_bond_rest_and_finalizes_at_once(market, court, fulfilled, second_worker,
                                                                   staked_worker, pool, mallory):
    dispute_id = challenge(market, court, fulfilled, second_worker)
    tx = decide(court, dispute_id, pool, True, mallory)
    log = tx.decode_logs(market.ChallengeResolved)[0]
    assert (log.request_id, log.worker_was_right, log.slashed) == (fulfilled, True, 0)
    assert court.owed(staked_worker) == BOND - 3 * FEE
    market.finalize(fulfilled, sender=mallory)
    assert market.owed(staked_worker) == PAYMENT * 7_000 // 10_000


def test_verdict__challenger_right__slashes_worker_half_to_challenger_refunds_requester(
        market, court, token, workers, system, fulfilled, second_worker, staked_worker, app_builder, pool, mallory):
    dispute_id = challenge(market, court, fulfilled, second_worker)
    challenger_tokens = token.balanceOf(second_worker)
    treasury_tokens = token.balanceOf(system.Timelock)
    tx = decide(court, dispute_id, pool, False, mallory)
    assert tx.decode_logs(market.ChallengeResolved)[0].slashed == 100 * ETH  # the total
    # Half to the challenger, the rest to the treasury (a sybil challenger of the worker's must still lose).
    assert [(str(s.recipient), s.amount) for s in tx.decode_logs(workers.Slashed)] == [
        (second_worker.address, 50 * ETH), (system.Timelock.address, 50 * ETH)]
    assert token.balanceOf(second_worker) == challenger_tokens + 50 * ETH
    assert token.balanceOf(system.Timelock) == treasury_tokens + 50 * ETH
    assert court.owed(second_worker) == BOND - 3 * FEE
    assert market.owed(app_builder) == PAYMENT
    assert market.get_request(fulfilled).state == REFUNDED
    assert workers.slashed(staked_worker) == 1
    with ape.reverts("InferenceMarket: request not fulfilled"):
        market.finalize(fulfilled, sender=mallory)


# ---------------------------------------------------------------- batched reads


def test_get_requests__same_views_in_order(market, model_id, app_builder, claimed, staked_worker, signer_key):
    fulfilled = request(market, model_id, app_builder)
    market.claim(fulfilled, sender=staked_worker)
    fulfil(market, fulfilled, staked_worker, signer_key)
    ids = [fulfilled, 999, claimed]  # 999: never requested, state 0
    views = list(market.get_requests(ids))
    assert views == [market.get_request(i) for i in ids]
    assert [view.state for view in views] == [FULFILLED, 0, CLAIMED]


def test_get_requests__above_batch_bound__reverts(market):
    with ape.reverts():
        market.get_requests(list(range(101)))


def test_request_views__chunks_above_batch_bound(market, model_id, app_builder, rid):
    views = request_views(market, range(1, 151))  # 150 ids: two get_requests calls
    assert list(views) == list(range(1, 151))
    assert views[rid].state == REQUESTED and views[rid].requester == app_builder.address
    assert all(views[i].state == 0 for i in range(1, 151) if i != rid)


# ---------------------------------------------------------------- parameters


def _params(market, **changes):
    current = market.params()
    fields = ["protocol_fee_bps", "worker_bps", "shareholders_bps", "holders_bps", "claim_timeout",
              "challenge_window", "challenge_bond", "challenge_slash", "miss_slash", "callback_gas_price",
              "max_result_size"]
    return tuple(changes.get(f, getattr(current, f)) for f in fields)


def test_set_params__by_governance__changes_and_logs(market, govern):
    tx = govern((market, "set_params", _params(market, worker_bps=6_000, claim_timeout=60)))
    assert market.params().worker_bps == 6_000
    log = tx.decode_logs(market.ParamsChanged)[0]
    assert (log.old_params[1], log.new_params[1]) == (7_000, 6_000)  # worker_bps


def test_set_params__direct__reverts(market, deployer):
    with ape.reverts("InferenceMarket: caller is not governance"):
        market.set_params(_params(market), sender=deployer)


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"worker_bps": 9_000}, "InferenceMarket: fee split above 100%"),
        ({"protocol_fee_bps": 10_001}, "InferenceMarket: protocol fee above 100%"),
        ({"claim_timeout": 0}, "InferenceMarket: claim timeout is zero"),
        ({"challenge_window": 0}, "InferenceMarket: challenge window is zero"),
        ({"max_result_size": 1_025}, "InferenceMarket: result size above bound"),
        ({"challenge_window": 30 * DAY + 1}, "InferenceMarket: challenge window above bound"),
        ({"challenge_slash": 2**128 + 1}, "InferenceMarket: challenge slash above bound"),
        ({"miss_slash": 2**128 + 1}, "InferenceMarket: miss slash above bound"),
    ],
)
def test_set_params__incoherent__reverts(market, govern, changes, reason):
    with ape.reverts(reason):
        govern((market, "set_params", _params(market, **changes)))


def test_verdict__challenge_slash_disabled__refund_without_slashing(market, court, govern, workers, model_id,
                                                                   second_worker, staked_worker, signer_key,
                                                                   app_builder, pool, mallory):
    govern((market, "set_params", _params(market, challenge_slash=0)))  # takes days: request afterwards
    rid = request(market, model_id, app_builder)
    market.claim(rid, sender=staked_worker)
    fulfil(market, rid, staked_worker, signer_key)
    dispute_id = challenge(market, court, rid, second_worker)
    tx = decide(court, dispute_id, pool, False, mallory)
    assert tx.decode_logs(market.ChallengeResolved)[0].slashed == 0
    assert workers.slashed(staked_worker) == 0
    assert market.owed(app_builder) == PAYMENT


# ---------------------------------------------------------------- stake locks (issue 11)


def test_claim__locks_stake_for_miss_and_challenge(market, workers, rid, staked_worker):
    tx = market.claim(rid, sender=staked_worker)
    log = tx.decode_logs(workers.StakeLocked)[0]
    assert (log.worker, log.slasher, log.amount, log.locked) == (staked_worker.address, market.address, LOCK, LOCK)
    assert market.exposure(staked_worker) == (1, LOCK)
    assert workers.locked(staked_worker) == LOCK
    assert workers.locked_by(market, staked_worker) == LOCK
    assert workers.free_stake(staked_worker) == MIN_STAKE - LOCK


def test_claim_batch__one_lock_for_the_batch(market, workers, model_id, app_builder, staked_worker):
    ids = [request(market, model_id, app_builder) for _ in range(3)]
    tx = market.claim_batch(ids, sender=staked_worker)
    assert [log.amount for log in tx.decode_logs(workers.StakeLocked)] == [3 * LOCK]
    assert market.exposure(staked_worker) == (3, 3 * LOCK)
    assert workers.locked(staked_worker) == 3 * LOCK


def test_claim_batch__nothing_claimed__nothing_locked(market, workers, fulfilled, staked_worker):
    before = market.exposure(staked_worker)
    tx = market.claim_batch([fulfilled], sender=staked_worker)
    assert tx.decode_logs(workers.StakeLocked) == []
    assert market.exposure(staked_worker) == before


COVERED = MIN_STAKE // LOCK  # requests a minimum stake may hold claimed at once (10)


def test_claim__stake_fully_locked_by_its_claims__reverts_and_takes_nothing(market, workers, model_id, app_builder,
                                                                     staked_worker):
    """The attack the check closes: a minimum stake holding more claims than it answers for (each caught
    wrong result beyond the tenth would have cost the worker nothing)."""
    ids = [request(market, model_id, app_builder) for _ in range(COVERED + 1)]
    market.claim_batch(ids[:COVERED], sender=staked_worker)
    assert workers.free_stake(staked_worker) == 0
    with ape.reverts("InferenceMarket: stake below the claim's lock"):
        market.claim(ids[COVERED], sender=staked_worker)
    assert market.get_request(ids[COVERED]).state == REQUESTED
    assert market.exposure(staked_worker) == (COVERED, COVERED * LOCK)


def test_claim_batch__claims_in_order_as_far_as_the_stake_covers(market, workers, model_id, app_builder,
                                                                  staked_worker, second_worker):
    ids = [request(market, model_id, app_builder) for _ in range(COVERED + 3)]
    market.claim(ids[0], sender=second_worker)  # taken: skipped, and does not use up the room
    tx = market.claim_batch(ids, sender=staked_worker)
    claimed = [log.request_id for log in tx.decode_logs(market.InferenceClaimed)]
    assert claimed == ids[1:COVERED + 1]
    assert [log.amount for log in tx.decode_logs(workers.StakeLocked)] == [COVERED * LOCK]
    assert market.exposure(staked_worker) == (COVERED, MIN_STAKE)
    assert [market.get_request(i).state for i in ids[COVERED + 1:]] == [REQUESTED, REQUESTED]
    # Full: a batch claims nothing and locks nothing (it does not revert: a bot's batch may race)
    again = market.claim_batch(ids[COVERED + 1:], sender=staked_worker)
    assert again.decode_logs(market.InferenceClaimed) == [] and again.decode_logs(workers.StakeLocked) == []


def test_claim__room_comes_back_when_a_request_settles(market, workers, model_id, app_builder, staked_worker,
                                                       signer_key, mallory):
    deadline = chain.pending_timestamp + 30 * DAY  # still open after the challenge window
    ids = [request(market, model_id, app_builder, deadline=deadline) for _ in range(COVERED + 1)]
    market.claim_batch(ids, sender=staked_worker)
    fulfil(market, ids[0], staked_worker, signer_key)
    past_window(market)
    market.finalize(ids[0], sender=mallory)
    market.claim(ids[COVERED], sender=staked_worker)
    assert market.exposure(staked_worker) == (COVERED, MIN_STAKE)


def test_claim__other_contracts_locks_do_not_count_against_the_room(market, workers, govern, dave, model_id,
                                                                    app_builder, staked_worker):
    """A lock another slasher holds (PaymentChannels for a pending receipt dispute, the court for committee
    duty) does not shrink the room: a stranger's bonded challenges must not stop a worker's claims. The
    market's own locks never exceed the stake."""
    govern((workers, "set_permissions", dave, True, False))
    workers.lock(staked_worker, 3 * LOCK, sender=dave)
    ids = [request(market, model_id, app_builder) for _ in range(COVERED + 1)]
    tx = market.claim_batch(ids, sender=staked_worker)
    assert [log.request_id for log in tx.decode_logs(market.InferenceClaimed)] == ids[:COVERED]
    assert market.exposure(staked_worker) == (COVERED, MIN_STAKE)
    assert workers.free_stake(staked_worker) == 0


def test_fulfil__lock_held_until_finalize_then_released(market, workers, fulfilled, staked_worker, mallory):
    assert market.exposure(staked_worker) == (1, LOCK)  # a fulfilled result may still be challenged
    past_window(market)
    tx = market.finalize(fulfilled, sender=mallory)
    log = tx.decode_logs(workers.StakeUnlocked)[0]
    assert (log.worker, log.slasher, log.amount, log.locked) == (staked_worker.address, market.address, LOCK, 0)
    assert market.exposure(staked_worker) == (0, 0)
    assert workers.locked(staked_worker) == 0


def test_finalize_batch__one_unlock_per_worker_run(market, workers, model_id, app_builder, staked_worker,
                                                   signer_key, mallory):
    ids = [request(market, model_id, app_builder) for _ in range(3)]
    market.claim_batch(ids, sender=staked_worker)
    for rid in ids:
        fulfil(market, rid, staked_worker, signer_key)
    past_window(market)
    tx = market.finalize_batch(ids, sender=mallory)
    assert [log.amount for log in tx.decode_logs(workers.StakeUnlocked)] == [3 * LOCK]
    assert workers.locked(staked_worker) == 0


def test_claim__after_timeout__previous_claimant_unlocked_new_claimant_locked(market, workers, rid, staked_worker,
                                                                              second_worker):
    market.claim(rid, sender=staked_worker)
    chain.mine(timestamp=chain.pending_timestamp + market.params().claim_timeout + 1)
    tx = market.claim(rid, sender=second_worker)
    unlocked = tx.decode_logs(workers.StakeUnlocked)[0]
    assert (unlocked.worker, unlocked.amount) == (staked_worker.address, LOCK)
    assert (workers.locked(staked_worker), workers.locked(second_worker)) == (0, LOCK)
    assert (market.exposure(staked_worker), market.exposure(second_worker)) == ((0, 0), (1, LOCK))
    assert workers.slashed(staked_worker) == 0  # a timed-out claim is a miss, not slashed


def test_challenge__worker_unbonds_and_withdraws__locked_stake_stays_and_ruling_slashes_in_full(
        market, court, governor, alice, bob, token, workers, fulfilled, staked_worker, second_worker, app_builder,
        pool, mallory):
    """Issue 11: fulfil, get challenged, unbond; the committee ties, governance rules (a critical proposal:
    day 18) after the worker withdrew what it could on day 7."""
    dispute_id = challenge(market, court, fulfilled, second_worker)
    withdrawable_at = workers.unbond(sender=staked_worker).decode_logs(workers.UnbondingStarted)[0].withdrawable_at
    draw(court, dispute_id, mallory)
    committee = members(court, dispute_id, pool)
    vote(court, dispute_id, [(committee[0], True), (committee[1], False), (committee[2], None)])
    court.settle(dispute_id, sender=mallory)  # no majority: escalated to governance
    # Governance votes to rule against the worker; the proposal is queued, executable on day 18.
    proposal = Proposal("rule against the worker who ran").call(court, "rule", dispute_id, False)
    proposal_id = pass_proposal(governor, proposal, alice, [alice, bob], execute=False)
    assert governor.proposalEta(proposal_id) > withdrawable_at
    # Day 7: the worker withdraws all it can: only the stake no dispute may take leaves.
    chain.mine(timestamp=max(chain.pending_timestamp, withdrawable_at))
    tx = workers.withdraw_stake(sender=staked_worker)
    log = tx.decode_logs(workers.StakeWithdrawn)[0]
    assert (log.amount, log.remaining) == (MIN_STAKE - LOCK, LOCK)
    assert token.balanceOf(staked_worker) == MIN_STAKE - LOCK
    with ape.reverts("WorkerRegistry: stake locked"):
        workers.withdraw_stake(sender=staked_worker)
    # Day 18: the ruling executes and slashes the full challenge_slash.
    chain.mine(timestamp=max(chain.pending_timestamp, governor.proposalEta(proposal_id)))
    challenger_tokens = token.balanceOf(second_worker)
    tx = governor.execute(*proposal.args(), sender=alice)
    assert tx.decode_logs(market.ChallengeResolved)[0].slashed == 100 * ETH
    assert token.balanceOf(second_worker) == challenger_tokens + 50 * ETH  # half; the treasury the rest
    assert court.owed(second_worker) == BOND  # a ruling: the whole bond, no member fees
    assert workers.workers(staked_worker).stake == 0
    assert workers.locked(staked_worker) == 0
    assert market.exposure(staked_worker) == (0, 0)
    assert market.owed(app_builder) == PAYMENT
    # The dispute is over: the (now empty) registration can be closed.
    assert workers.withdraw_stake(sender=staked_worker).decode_logs(workers.StakeWithdrawn)[0].amount == 0
    assert workers.signer_of(staked_worker) == ZERO


def test_refund__pending_miss__locked_through_withdraw_then_slashed_and_released(
        market, token, workers, model_id, app_builder, staked_worker, system, mallory):
    rid = request(market, model_id, app_builder, deadline=chain.pending_timestamp + 8 * DAY)
    market.claim(rid, sender=staked_worker)
    withdrawable_at = workers.unbond(sender=staked_worker).decode_logs(workers.UnbondingStarted)[0].withdrawable_at
    chain.mine(timestamp=withdrawable_at)
    assert workers.withdraw_stake(sender=staked_worker).decode_logs(workers.StakeWithdrawn)[0].amount == MIN_STAKE - LOCK
    past(market.get_request(rid).deadline)
    treasury_tokens = token.balanceOf(system.Timelock)
    tx = market.refund(rid, sender=mallory)
    assert tx.decode_logs(workers.Slashed)[0].amount == 10 * ETH  # miss_slash, out of the locked stake
    assert tx.decode_logs(workers.StakeUnlocked)[0].amount == LOCK
    assert token.balanceOf(system.Timelock) == treasury_tokens + 10 * ETH
    assert (workers.workers(staked_worker).stake, workers.locked(staked_worker)) == (LOCK - 10 * ETH, 0)
    assert workers.withdraw_stake(sender=staked_worker).decode_logs(workers.StakeWithdrawn)[0].amount == LOCK - 10 * ETH
    assert token.balanceOf(staked_worker) == MIN_STAKE - 10 * ETH


def test_refund__unclaimed__nothing_unlocked(market, workers, rid, mallory):
    past(market.get_request(rid).deadline)
    tx = market.refund(rid, sender=mallory)
    assert tx.decode_logs(workers.StakeUnlocked) == []


def test_verdict__worker_right__lock_released_at_finalize(market, court, workers, fulfilled, second_worker,
                                                         staked_worker, pool, mallory):
    dispute_id = challenge(market, court, fulfilled, second_worker)
    decide(court, dispute_id, pool, True, mallory)
    assert workers.locked(staked_worker) == LOCK  # fulfilled again: settled by finalize
    market.finalize(fulfilled, sender=mallory)
    assert (workers.locked(staked_worker), market.exposure(staked_worker)) == (0, (0, 0))


def test_verdict__challenger_right__lock_taken_then_released(market, court, workers, fulfilled, second_worker,
                                                           staked_worker, pool, mallory):
    dispute_id = challenge(market, court, fulfilled, second_worker)
    tx = decide(court, dispute_id, pool, False, mallory)
    assert [log.amount for log in tx.decode_logs(workers.Slashed) if log.slasher == market.address] == [
        50 * ETH, 50 * ETH]  # challenger, treasury
    assert [log.amount for log in tx.decode_logs(workers.StakeUnlocked) if log.slasher == market.address] == [LOCK]
    assert (workers.workers(staked_worker).stake, workers.locked(staked_worker)) == (MIN_STAKE - 100 * ETH, 0)
    assert market.exposure(staked_worker) == (0, 0)


def test_slash_params_changed_in_flight__unlocks_exactly_what_was_locked(market, govern, workers, model_id,
                                                                        app_builder, staked_worker, signer_key,
                                                                        mallory):
    first = request(market, model_id, app_builder, deadline=chain.pending_timestamp + 20 * DAY)
    market.claim(first, sender=staked_worker)  # locks 100 (challenge_slash)
    govern((market, "set_params", _params(market, challenge_slash=300 * ETH, miss_slash=0)))
    second = request(market, model_id, app_builder)
    market.claim(second, sender=staked_worker)  # locks 300 at the new terms
    assert market.exposure(staked_worker) == (2, 400 * ETH)
    assert workers.locked(staked_worker) == 400 * ETH
    fulfil(market, second, staked_worker, signer_key)
    past_window(market)
    tx = market.finalize(second, sender=mallory)
    assert tx.decode_logs(workers.StakeUnlocked)[0].amount == 200 * ETH  # an equal share of the lock
    past(market.get_request(first).deadline)
    tx = market.refund(first, sender=mallory)
    assert tx.decode_logs(workers.Slashed) == []  # miss_slash is now zero
    assert tx.decode_logs(workers.StakeUnlocked)[0].amount == 200 * ETH  # the rest: all of it
    assert (workers.locked(staked_worker), market.exposure(staked_worker)) == (0, (0, 0))


# ---------------------------------------------------------------- bounded challenges (issue 11, through the court)


def test_challenge__escalated_and_unruled__expires_result_stands_everyone_paid_once(
        market, court, token, shares, workers, fulfilled, second_worker, staked_worker, system, pool, mallory):
    dispute_id = challenge(market, court, fulfilled, second_worker)
    draw(court, dispute_id, mallory)
    past_time(court.disputes(dispute_id).commit_deadline)
    court.settle(dispute_id, sender=mallory)  # nobody voted: escalated
    balance = market.balance
    shares_before, token_before = shares.balance, token.balance
    past_time(court.disputes(dispute_id).escalated_until)
    tx = court.expire(dispute_id, sender=mallory)
    resolved = tx.decode_logs(market.ChallengeResolved)[0]
    assert (resolved.request_id, resolved.worker_was_right, resolved.slashed) == (fulfilled, True, 0)
    assert court.owed(second_worker) == BOND  # the bond returns: unproven either way
    tx = market.finalize(fulfilled, sender=mallory)
    final = tx.decode_logs(market.InferenceFinalized)[0]
    worker_cut, share_cut, holder_cut = PAYMENT * 7_000 // 10_000, PAYMENT * 2_000 // 10_000, PAYMENT * 500 // 10_000
    assert (final.worker, final.worker_amount, final.shareholders_amount, final.holders_amount) == (
        staked_worker.address, worker_cut, share_cut, holder_cut)
    assert market.get_request(fulfilled).state == FINALIZED
    assert market.owed(staked_worker) == worker_cut
    assert market.owed(system.Timelock) == PAYMENT - worker_cut - share_cut - holder_cut
    assert (shares.balance, token.balance) == (shares_before + share_cut, token_before + holder_cut)
    assert market.balance == balance - share_cut - holder_cut
    assert workers.slashed(staked_worker) == 0 and workers.fulfilled(staked_worker) == 1
    assert (workers.locked(staked_worker), market.exposure(staked_worker)) == (0, (0, 0))
    # Once: neither finalize nor a second expiry pays again.
    with ape.reverts("InferenceMarket: request not fulfilled"):
        market.finalize(fulfilled, sender=mallory)
    with ape.reverts("DisputeCourt: dispute not escalated"):
        court.expire(dispute_id, sender=mallory)
