"""TokenListing: a listing registry that acts on the contract-risk score through the market's callback."""

import urllib.parse

import ape
import pytest
from ape import chain
from eth_utils import keccak

from offchain import inputs
from tests.conftest import MODEL_PRICE
from tests.utils.market import CLAIMED, FINALIZED, FULFILLED, REFUNDED, past, past_window, signature

THRESHOLD = 5_000  # bps
CALLBACK_GAS = 120_000
DATA = "data:application/json,"


def scores(overall: int, *labels: int) -> bytes:
    """A `scores-uint256` result: overall first, then labels, basis points."""
    return b"".join(v.to_bytes(32, "big") for v in (overall, *(labels or (0,) * 5)))


@pytest.fixture
def listing(project, deployer, market, model_id):
    return deployer.deploy(project.TokenListing, market, model_id, THRESHOLD)


@pytest.fixture
def token(project, deployer):
    return deployer.deploy(project.SafeToken, 10**24)


@pytest.fixture
def other_token(project, deployer):
    return deployer.deploy(project.RiskyToken, 10**24)


def apply(listing, token, applicant, extra=0):
    tx = listing.apply(token, sender=applicant, value=listing.quote() + extra)
    return tx, tx.return_value if tx.return_value else listing.pending_request(token)


def serve(market, request_id, worker, key, result):
    """A worker claims and fulfils with `result`; the window passes; someone finalizes."""
    market.claim(request_id, sender=worker)
    sig = signature(market, request_id, key, result_hash=keccak(result))
    market.fulfill(request_id, keccak(result), "", sig, result, sender=worker)
    past_window(market)
    return market.finalize(request_id, sender=worker)


# ---------------------------------------------------------------- apply


def test_apply__builds_the_reference_on_chain__input_binds_the_code(listing, market, token, app_builder):
    tx, rid = apply(listing, token, app_builder)
    (requested,) = tx.decode_logs(market.InferenceRequested)
    code_hash = keccak(bytes(chain.provider.get_code(token.address)))
    document = inputs.encode_contract(chain.chain_id, token.address, tx.block_number, code_hash)
    assert bytes(requested.input_hash) == keccak(document)
    assert requested.input_uri.startswith(DATA)
    assert urllib.parse.unquote_to_bytes(requested.input_uri[len(DATA):]) == document
    ref = inputs.parse_contract(document)  # the worker's parser takes it as is
    assert ref.block == tx.block_number and ref.code_hash == code_hash
    assert requested.callback_gas_limit == CALLBACK_GAS
    app = listing.applications(rid)
    assert app.token == token.address and app.applicant == app_builder.address
    assert bytes(app.code_hash) == code_hash and app.block_number == tx.block_number
    assert app.paid == listing.quote() == market.quote(listing.model_id(), CALLBACK_GAS)
    assert listing.pending_request(token) == rid
    (event,) = tx.decode_logs(listing.ListingRequested)
    assert (event.request_id, event.token, event.applicant) == (rid, token.address, app_builder.address)
    assert bytes(event.code_hash) == code_hash and event.paid == app.paid


def test_apply__excess_payment__owed_to_the_applicant(listing, token, app_builder):
    apply(listing, token, app_builder, extra=12_345)
    assert listing.owed(app_builder) == 12_345
    tx = listing.withdraw(sender=app_builder)
    assert tx.decode_logs(listing.Withdrawn)[0].amount == 12_345
    assert listing.owed(app_builder) == 0


def test_apply__insufficient_payment__reverts(listing, token, app_builder):
    with ape.reverts("TokenListing: insufficient payment"):
        listing.apply(token, sender=app_builder, value=listing.quote() - 1)


def test_apply__account_without_code__reverts(listing, mallory, app_builder):
    with ape.reverts("TokenListing: token has no code"):
        listing.apply(mallory, sender=app_builder, value=listing.quote())


def test_apply__review_pending__reverts(listing, token, app_builder, mallory):
    apply(listing, token, app_builder)
    with ape.reverts("TokenListing: review pending"):
        listing.apply(token, sender=mallory, value=listing.quote())


def test_apply__already_listed__reverts(listing, market, token, app_builder, staked_worker, signer_key):
    _, rid = apply(listing, token, app_builder)
    serve(market, rid, staked_worker, signer_key, scores(100))
    assert listing.listed(token)
    with ape.reverts("TokenListing: token already listed"):
        listing.apply(token, sender=app_builder, value=listing.quote())


# ---------------------------------------------------------------- the callback


def test_callback__score_below_threshold__lists(listing, market, token, app_builder, staked_worker, signer_key):
    _, rid = apply(listing, token, app_builder)
    tx = serve(market, rid, staked_worker, signer_key, scores(1_330, 0, 0, 20, 1_330, 0))
    assert tx.decode_logs(market.CallbackDelivered)[0].success
    (event,) = tx.decode_logs(listing.TokenListed)
    assert (event.token, event.request_id, event.score, event.threshold) == (token.address, rid, 1_330, THRESHOLD)
    assert listing.listed(token) and listing.scored(token) and listing.score_of(token) == 1_330
    assert listing.pending_request(token) == 0
    assert listing.applications(rid).token == "0x" + "00" * 20


@pytest.mark.parametrize("score", [THRESHOLD, 9_640])  # strictly below lists: the threshold itself does not
def test_callback__score_at_or_above_threshold__rejects(listing, market, other_token, app_builder, staked_worker,
                                                        signer_key, score):
    _, rid = apply(listing, other_token, app_builder)
    tx = serve(market, rid, staked_worker, signer_key, scores(score))
    (event,) = tx.decode_logs(listing.TokenRejected)
    assert (event.token, event.request_id, event.score, event.threshold) == (other_token.address, rid, score,
                                                                             THRESHOLD)
    assert not event.code_changed
    assert not listing.listed(other_token) and listing.score_of(other_token) == score
    assert listing.pending_request(other_token) == 0
    assert not tx.decode_logs(listing.TokenListed)


def test_callback__rejected_token__may_apply_again(listing, market, other_token, app_builder, staked_worker,
                                                   signer_key):
    _, rid = apply(listing, other_token, app_builder)
    serve(market, rid, staked_worker, signer_key, scores(9_000))
    _, again = apply(listing, other_token, app_builder)
    assert again == rid + 1 and listing.pending_request(other_token) == again


def test_callback__called_by_other_than_market__reverts(listing, token, app_builder, mallory):
    _, rid = apply(listing, token, app_builder)
    with ape.reverts("TokenListing: caller is not the market"):
        listing.on_inference_result(rid, keccak(scores(0)), scores(0), sender=mallory)
    assert listing.pending_request(token) == rid and not listing.listed(token)


def test_callback__unknown_request__reverts(project, deployer, mallory, model_id):
    # A registry whose "market" is mallory's account: only so that the market check passes and the next one speaks.
    direct = deployer.deploy(project.TokenListing, mallory, model_id, THRESHOLD)
    with ape.reverts("TokenListing: unknown request"):
        direct.on_inference_result(99, keccak(scores(0)), scores(0), sender=mallory)


@pytest.mark.parametrize("result,reason", [
    ((7).to_bytes(31, "big"), "TokenListing: result too short"),
    (scores(10_001), "TokenListing: score above scale"),
])
def test_callback__malformed_result__reverts_in_the_callback_and_lists_nothing(
        listing, market, token, app_builder, staked_worker, signer_key, result, reason):
    _, rid = apply(listing, token, app_builder)
    market.claim(rid, sender=staked_worker)
    sig = signature(market, rid, signer_key, result_hash=keccak(result))
    market.fulfill(rid, keccak(result), "", sig, result, sender=staked_worker)
    with ape.reverts(reason):  # what the market's callback meets (an eth_call from the market's address)
        listing.on_inference_result.call(rid, keccak(result), result, sender=market.address)
    past_window(market)
    tx = market.finalize(rid, sender=staked_worker)
    assert not tx.decode_logs(market.CallbackDelivered)[0].success  # settlement went on
    assert market.get_request(rid).state & 0x7F == FINALIZED
    assert not listing.listed(token) and not listing.scored(token)
    assert listing.pending_request(token) == rid  # until `release`


# ---------------------------------------------------------------- release and refunds


def test_release__unserved_past_deadline__refunds_the_applicant(listing, market, token, app_builder, mallory):
    _, rid = apply(listing, token, app_builder)
    paid = listing.applications(rid).paid
    past(market.get_request(rid).deadline)
    tx = listing.release(rid, sender=mallory)  # anyone may release
    (event,) = tx.decode_logs(listing.ApplicationReleased)
    assert (event.request_id, event.token, event.applicant, event.refunded) == (rid, token.address,
                                                                               app_builder.address, paid)
    assert market.get_request(rid).state & 0x7F == REFUNDED
    assert market.owed(listing) == 0 and listing.balance == paid  # pulled from the market
    assert listing.owed(app_builder) == paid and listing.owed(mallory) == 0
    assert listing.pending_request(token) == 0
    before = app_builder.balance
    tx = listing.withdraw(sender=app_builder)
    assert app_builder.balance == before + paid - tx.total_fees_paid
    assert listing.balance == 0


def test_release__claimed_but_unserved__refunds_and_token_may_apply_again(listing, market, token, app_builder,
                                                                          staked_worker):
    _, rid = apply(listing, token, app_builder)
    paid = listing.applications(rid).paid
    market.claim(rid, sender=staked_worker)
    assert market.get_request(rid).state & 0x7F == CLAIMED
    past(market.get_request(rid).deadline)
    listing.release(rid, sender=app_builder)
    assert listing.owed(app_builder) == paid
    _, again = apply(listing, token, app_builder)
    assert listing.pending_request(token) == again


def test_release__refunded_at_the_market_by_someone_else__credits_once(listing, market, token, app_builder, mallory):
    _, rid = apply(listing, token, app_builder)
    paid = listing.applications(rid).paid
    past(market.get_request(rid).deadline)
    market.refund(rid, sender=mallory)
    assert market.owed(listing) == paid
    listing.release(rid, sender=mallory)
    assert listing.owed(app_builder) == paid and listing.balance == paid
    with ape.reverts("TokenListing: unknown request"):  # a second release finds nothing
        listing.release(rid, sender=mallory)
    assert listing.owed(app_builder) == paid


def test_release__before_deadline__reverts(listing, market, token, app_builder):
    _, rid = apply(listing, token, app_builder)
    with ape.reverts("InferenceMarket: deadline not passed"):
        listing.release(rid, sender=app_builder)
    assert listing.pending_request(token) == rid


def test_release__fulfilled_awaiting_finalize__reverts(listing, market, token, app_builder, staked_worker,
                                                       signer_key):
    _, rid = apply(listing, token, app_builder)
    market.claim(rid, sender=staked_worker)
    result = scores(10)
    market.fulfill(rid, keccak(result), "", signature(market, rid, signer_key, result_hash=keccak(result)), result,
                   sender=staked_worker)
    assert market.get_request(rid).state & 0x7F == FULFILLED
    with ape.reverts("TokenListing: request still open"):
        listing.release(rid, sender=app_builder)


def test_release__unknown_request__reverts(listing, app_builder):
    with ape.reverts("TokenListing: unknown request"):
        listing.release(42, sender=app_builder)


def test_release__after_failed_callback__clears_without_refund(listing, market, token, app_builder, staked_worker,
                                                              signer_key):
    _, rid = apply(listing, token, app_builder)
    serve(market, rid, staked_worker, signer_key, b"\x01" * 8)  # too short: the callback fails
    tx = listing.release(rid, sender=app_builder)
    assert tx.decode_logs(listing.ApplicationReleased)[0].refunded == 0  # the worker was paid for its work
    assert listing.owed(app_builder) == 0 and listing.pending_request(token) == 0


def test_default__ether_from_other_than_market__reverts(listing, mallory):
    with ape.reverts("TokenListing: only the market sends ether"):
        mallory.transfer(listing, 1)


# ---------------------------------------------------------------- governance


def test_set_threshold__owner__changes_and_logs(listing, deployer):
    tx = listing.set_threshold(2_500, sender=deployer)
    assert listing.threshold_bps() == 2_500
    (event,) = tx.decode_logs(listing.ThresholdChanged)
    assert (event.old_threshold, event.new_threshold) == (THRESHOLD, 2_500)


def test_set_threshold__stranger__reverts(listing, mallory):
    with ape.reverts("ownable: caller is not the owner"):
        listing.set_threshold(10_000, sender=mallory)
    assert listing.threshold_bps() == THRESHOLD


def test_set_threshold__above_scale__reverts(listing, deployer):
    with ape.reverts("TokenListing: threshold above scale"):
        listing.set_threshold(10_001, sender=deployer)


def test_deploy__threshold_above_scale__reverts(project, deployer, market, model_id):
    with ape.reverts("TokenListing: threshold above scale"):
        deployer.deploy(project.TokenListing, market, model_id, 10_001)


def test_set_model__owner__changes_and_logs(listing, deployer, model_id):
    tx = listing.set_model(model_id + 1, sender=deployer)
    assert listing.model_id() == model_id + 1
    (event,) = tx.decode_logs(listing.ModelChanged)
    assert (event.old_model_id, event.new_model_id) == (model_id, model_id + 1)


def test_set_model__stranger__reverts(listing, mallory, model_id):
    with ape.reverts("ownable: caller is not the owner"):
        listing.set_model(7, sender=mallory)
    assert listing.model_id() == model_id


def test_delist__owner__removes_and_logs(listing, market, token, app_builder, staked_worker, signer_key, deployer):
    _, rid = apply(listing, token, app_builder)
    serve(market, rid, staked_worker, signer_key, scores(0))
    tx = listing.delist(token, sender=deployer)
    assert not listing.listed(token)
    assert tx.decode_logs(listing.TokenDelisted)[0].token == token.address


def test_delist__not_listed__reverts(listing, token, deployer):
    with ape.reverts("TokenListing: token not listed"):
        listing.delist(token, sender=deployer)


def test_delist__stranger__reverts(listing, market, token, app_builder, staked_worker, signer_key, mallory):
    _, rid = apply(listing, token, app_builder)
    serve(market, rid, staked_worker, signer_key, scores(0))
    with ape.reverts("ownable: caller is not the owner"):
        listing.delist(token, sender=mallory)
    assert listing.listed(token)


def test_quote__is_the_market_quote_with_callback_gas(listing, market, model_id):
    assert listing.quote() == market.quote(model_id, CALLBACK_GAS)
    assert listing.quote() > MODEL_PRICE
