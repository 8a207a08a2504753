"""On-chain consumers (callbacks) and hostile contracts around the market."""

import ape
import pytest
from ape import chain
from eth_utils import keccak

from tests.conftest import MODEL_PRICE, stake_worker
from tests.utils.court import draw, past
from tests.utils.market import INPUT_HASH, RESULT, RESULT_HASH, past_window, signature

PAYMENT = MODEL_PRICE * 105 // 100
GAS = 200_000
CALLBACK_FEE = GAS * 10**9


@pytest.fixture
def consumer(project, deployer, market):
    return deployer.deploy(project.PredictionConsumer, market)


@pytest.fixture
def actor(project, deployer):
    return deployer.deploy(project.MockActor)


def consumer_request(consumer, model_id, owner, gas=GAS):
    consumer.request(
        model_id, INPUT_HASH, "data:,seven", chain.pending_timestamp + 3600, gas,
        sender=owner, value=PAYMENT + gas * 10**9,
    )


def claim_and_fulfil(market, request_id, worker, key, result=RESULT, result_hash=RESULT_HASH):
    market.claim(request_id, sender=worker)
    sig = signature(market, request_id, key, result_hash=result_hash)
    return market.fulfill(request_id, result_hash, "", sig, result, sender=worker)


def test_consumer__records_predicted_class_at_finalize(market, consumer, model_id, deployer, staked_worker,
                                                       signer_key, mallory):
    consumer_request(consumer, model_id, deployer)
    rid = market.request_count()
    assert market.get_request(rid).has_callback
    claim_and_fulfil(market, rid, staked_worker, signer_key)
    assert market.result_of(rid) == RESULT
    past_window(market)
    tx = market.finalize(rid, sender=mallory)
    assert consumer.predicted_class(rid) == 7
    assert bytes(consumer.result_hash(rid)) == RESULT_HASH
    assert tx.decode_logs(market.CallbackDelivered)[0].success
    assert tx.decode_logs(consumer.PredictionRecorded)[0].predicted_class == 7
    assert market.owed(mallory) == CALLBACK_FEE  # the finalizer is paid for the callback gas


def test_consumer__called_by_other_than_market__reverts(consumer, mallory):
    with ape.reverts("PredictionConsumer: caller is not the market"):
        consumer.on_inference_result(1, RESULT_HASH, RESULT, sender=mallory)


def test_consumer__short_result__callback_fails_settlement_goes_on(market, consumer, model_id, deployer,
                                                                   staked_worker, signer_key, mallory):
    consumer_request(consumer, model_id, deployer)
    rid = market.request_count()
    short = b"\x07" * 8
    claim_and_fulfil(market, rid, staked_worker, signer_key, result=short, result_hash=keccak(short))
    past_window(market)
    tx = market.finalize(rid, sender=mallory)
    assert not tx.decode_logs(market.CallbackDelivered)[0].success  # "PredictionConsumer: result too short"
    assert not consumer.has_prediction(rid)


def test_consumer__request_by_stranger__reverts(consumer, model_id, mallory):
    with ape.reverts("PredictionConsumer: caller is not the owner"):
        consumer.request(model_id, INPUT_HASH, "", chain.pending_timestamp + 60, GAS, sender=mallory, value=10**18)


@pytest.mark.parametrize("mode", [1, 2])  # reverts; burns all its gas
def test_callback__failing_consumer__settlement_still_pays_everyone(market, actor, model_id, deployer,
                                                                    staked_worker, signer_key, mallory, mode):
    actor.set_callback_mode(mode, sender=deployer)
    payload = market.request_inference_with_callback.encode_input(
        model_id, INPUT_HASH, "", chain.pending_timestamp + 3600, GAS)
    actor.act(market, payload, sender=deployer, value=PAYMENT + CALLBACK_FEE)
    rid = market.request_count()
    claim_and_fulfil(market, rid, staked_worker, signer_key)
    past_window(market)
    tx = market.finalize(rid, sender=mallory)
    assert not tx.decode_logs(market.CallbackDelivered)[0].success
    assert market.get_request(rid).state == 5
    assert market.owed(staked_worker) == PAYMENT * 7_000 // 10_000
    assert tx.gas_used < GAS + 300_000  # the hungry callback got its limit, not more


def test_callback__challenge_expired__delivered_at_finalize_and_fee_to_the_finalizer(
        system, market, consumer, model_id, deployer, staked_worker, signer_key, mallory, carol):
    court = system.DisputeCourt
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, carol)
    consumer_request(consumer, model_id, deployer)
    rid = market.request_count()
    claim_and_fulfil(market, rid, staked_worker, signer_key)
    tx = market.challenge(rid, keccak(b"other"), sender=carol, value=10**16)
    dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
    draw(court, dispute_id, mallory)  # no verifiers in the pool: escalated at once
    past(court.disputes(dispute_id).escalated_until)
    court.expire(dispute_id, sender=mallory)  # the result stands; the court calls back, no consumer callback yet
    with ape.reverts("InferenceMarket: insufficient gas for callback"):  # the 63/64 guard holds here too
        market.finalize(rid, sender=mallory, gas=150_000)
    tx = market.finalize(rid, sender=mallory)
    assert tx.decode_logs(market.CallbackDelivered)[0].success
    assert consumer.predicted_class(rid) == 7
    assert market.owed(mallory) == CALLBACK_FEE
    assert court.owed(carol) == 10**16
    assert market.owed(staked_worker) == PAYMENT * 7_000 // 10_000


def test_callback__finalizer_starving_the_callback__reverts(market, consumer, model_id, deployer, staked_worker,
                                                           signer_key, mallory):
    consumer_request(consumer, model_id, deployer, gas=1_000_000)
    rid = market.request_count()
    claim_and_fulfil(market, rid, staked_worker, signer_key)
    past_window(market)
    with ape.reverts("InferenceMarket: insufficient gas for callback"):
        market.finalize(rid, sender=mallory, gas=400_000)
    market.finalize(rid, sender=mallory)  # with enough gas it goes through
    assert consumer.predicted_class(rid) == 7


@pytest.mark.parametrize(
    "result,result_hash,reason",
    [
        (b"", RESULT_HASH, "InferenceMarket: callback request needs the result"),
        (RESULT, keccak(b"other"), "InferenceMarket: result does not match hash"),
        (b"\x01" * 1_024 + b"", keccak(b"\x01" * 1_024), None),
    ],
)
def test_callback__fulfil_result_checks(market, consumer, govern, model_id, deployer, staked_worker, signer_key,
                                        result, result_hash, reason):
    consumer_request(consumer, model_id, deployer)
    rid = market.request_count()
    market.claim(rid, sender=staked_worker)
    sig = signature(market, rid, signer_key, result_hash=result_hash)
    if reason is None:
        market.fulfill(rid, result_hash, "", sig, result, sender=staked_worker)  # exactly the bound: accepted
        return
    with ape.reverts(reason):
        market.fulfill(rid, result_hash, "", sig, result, sender=staked_worker)


def test_callback__result_above_governed_size__reverts(market, consumer, govern, model_id, deployer, staked_worker,
                                                       signer_key):
    params = list(market.params())
    params[10] = 16  # max_result_size
    govern((market, "set_params", tuple(params)))
    consumer_request(consumer, model_id, deployer)
    rid = market.request_count()
    market.claim(rid, sender=staked_worker)
    sig = signature(market, rid, signer_key)
    with ape.reverts("InferenceMarket: result too large"):
        market.fulfill(rid, RESULT_HASH, "", sig, RESULT, sender=staked_worker)


def test_callback__refund_returns_prepaid_gas(market, consumer, model_id, deployer, mallory):
    consumer_request(consumer, model_id, deployer)
    rid = market.request_count()
    chain.mine(timestamp=market.get_request(rid).deadline + 1)
    market.refund(rid, sender=mallory)
    assert market.owed(consumer) == PAYMENT + CALLBACK_FEE


def test_consumer__refund_and_excess__owner_withdraws_them(market, consumer, model_id, deployer, mallory, carol):
    """A review found the consumer's refunds (credited by the market to its requester, the consumer) and the
    excess a request returns stuck in it for good. The owner collects both."""
    excess = 12_345
    consumer.request(model_id, INPUT_HASH, "data:,seven", chain.pending_timestamp + 3600, GAS, sender=deployer,
                     value=PAYMENT + CALLBACK_FEE + excess)
    assert consumer.balance == excess  # returned at once by the market
    rid = market.request_count()
    chain.mine(timestamp=market.get_request(rid).deadline + 1)
    market.refund(rid, sender=mallory)
    with ape.reverts("PredictionConsumer: caller is not the owner"):
        consumer.withdraw(mallory, sender=mallory)
    with ape.reverts("PredictionConsumer: recipient is the zero address"):
        consumer.withdraw("0x" + "00" * 20, sender=deployer)
    before = carol.balance
    tx = consumer.withdraw(carol, sender=deployer)
    log = tx.decode_logs(consumer.Withdrawn)[0]
    assert (log.to, log.amount) == (carol.address, PAYMENT + CALLBACK_FEE + excess)
    assert carol.balance == before + PAYMENT + CALLBACK_FEE + excess
    assert (market.owed(consumer), consumer.balance) == (0, 0)
    with ape.reverts("PredictionConsumer: nothing to withdraw"):
        consumer.withdraw(carol, sender=deployer)


# ---------------------------------------------------------------- reentrancy


def test_reentrancy__requester_reenters_on_excess_refund__reverts(market, actor, model_id, deployer):
    actor.arm(market, market.withdraw.encode_input(), sender=deployer)
    payload = market.request_inference.encode_input(model_id, INPUT_HASH, "", chain.pending_timestamp + 3600)
    with ape.reverts():
        actor.act(market, payload, sender=deployer, value=PAYMENT + 1)  # the excess triggers the re-entry
    assert market.balance == 0


def test_reentrancy__requester_reenters_withdraw__reverts_and_keeps_credit(market, actor, model_id, deployer, mallory):
    payload = market.request_inference.encode_input(model_id, INPUT_HASH, "", chain.pending_timestamp + 60)
    actor.act(market, payload, sender=deployer, value=PAYMENT)
    rid = market.request_count()
    chain.mine(timestamp=chain.pending_timestamp + 61)
    market.refund(rid, sender=mallory)
    actor.arm(market, market.withdraw.encode_input(), sender=deployer)
    with ape.reverts():
        actor.act(market, market.withdraw.encode_input(), sender=deployer)
    assert market.owed(actor) == PAYMENT
    assert market.balance == PAYMENT


def test_reentrancy__shareholder_reenters_withdraw__reverts(market, shares, actor, model_id, author, deployer,
                                                           app_builder, staked_worker, signer_key):
    shares.safeTransferFrom(author, actor, model_id, 600, b"", sender=author)
    from tests.utils.market import fulfil, request

    rid = request(market, model_id, app_builder)
    market.claim(rid, sender=staked_worker)
    fulfil(market, rid, staked_worker, signer_key)
    past_window(market)
    market.finalize(rid, sender=app_builder)
    owed = shares.withdrawable_revenue(actor, [model_id])
    assert owed > 0
    reenter = shares.withdraw_revenue.encode_input([model_id])
    actor.arm(shares, reenter, sender=deployer)
    with ape.reverts():
        actor.act(shares, reenter, sender=deployer)
    assert shares.withdrawable_revenue(actor, [model_id]) == owed
