"""NFTMinter: paid mints through the market's callback, on-chain images, refunds, hostile callers."""

import base64
import json

import ape
import numpy as np
import pytest
from ape import chain
from eth_utils import keccak

from offchain.images import decode_png, encode_png
from offchain.inputs import encode_image_seed
from tests.utils.constants import DAY, MODEL_PRICE
from tests.utils.market import CLAIMED, FINALIZED, REFUNDED, REQUESTED, past_window, signature

CALLBACK_GAS = 600_000
TTL = 3_600
PRICE = MODEL_PRICE * 105 // 100 + CALLBACK_GAS * 10**9  # model price + 5 % protocol fee + prepaid callback gas
PIXELS = (np.arange(256, dtype=np.uint32).reshape(16, 16) * 7 % 256).astype(np.uint8)
PNG = encode_png(PIXELS)
PENDING, MINTED, RECLAIMED = 1, 2, 3


@pytest.fixture
def nft(project, deployer, market, model_id):
    return deployer.deploy(project.NFTMinter, market, model_id, CALLBACK_GAS, TTL)


@pytest.fixture
def actor(project, deployer):
    return deployer.deploy(project.MockActor)


def mint(nft, buyer, digit=3, seed=42, value=PRICE):
    tx = nft.mint(digit, seed, sender=buyer, value=value)
    return tx.decode_logs(nft.MintRequested)[0].request_id, tx


def deliver(market, request_id, worker, key, result=PNG):
    """Claim, fulfil with `result`, let the window pass, finalize: the market calls the minter back."""
    market.claim(request_id, sender=worker)
    result_hash = keccak(result)
    market.fulfill(request_id, result_hash, "http://worker/r", signature(market, request_id, key,
                                                                       result_hash=result_hash),
                   result, sender=worker)
    past_window(market)
    return market.finalize(request_id, sender=worker)


def past_deadline(market, request_id):
    chain.mine(timestamp=market.get_request(request_id).deadline + 1)


# ---------------------------------------------------------------- deploy


@pytest.mark.parametrize("gas,ttl,reason", [
    (0, TTL, "NFTMinter: callback gas is zero"),
    (2_000_001, TTL, "NFTMinter: callback gas too high"),  # the market would refuse every mint
    (CALLBACK_GAS, 0, "NFTMinter: request ttl is zero"),
    (CALLBACK_GAS, 30 * DAY + 1, "NFTMinter: request ttl too long"),
])
def test_deploy__bad_parameters__reverts(project, deployer, market, model_id, gas, ttl, reason):
    with ape.reverts(reason):
        deployer.deploy(project.NFTMinter, market, model_id, gas, ttl)


def test_deploy__largest_callback_gas__accepted_and_priced(project, deployer, market, model_id):
    minter = deployer.deploy(project.NFTMinter, market, model_id, 2_000_000, TTL)
    assert minter.price() == market.quote(model_id, 2_000_000)


def test_deploy__collection__named_and_empty(nft, market, model_id):
    assert nft.name() == "Neural Commons Pixels"
    assert nft.symbol() == "PIXEL"
    assert nft.totalSupply() == 0
    assert nft.market() == market.address
    assert nft.model_id() == model_id
    assert nft.price() == market.quote(model_id, CALLBACK_GAS) == PRICE
    assert nft.supportsInterface(bytes.fromhex("80ac58cd"))  # ERC-721
    assert nft.supportsInterface(bytes.fromhex("5b5e139f"))  # ERC-721 metadata


# ---------------------------------------------------------------- mint


def test_mint__paid__requests_the_image_with_the_input_built_on_chain(nft, market, model_id, app_builder):
    before = market.balance
    request_id, tx = mint(nft, app_builder, digit=3, seed=42)
    document = encode_image_seed(42, 3)
    assert document == b'{"digit":3,"seed":42}'
    requested = tx.decode_logs(market.InferenceRequested)[0]
    assert requested.request_id == request_id
    assert requested.requester == nft.address
    assert requested.model_id == model_id
    assert bytes(requested.input_hash) == keccak(document)
    assert requested.input_uri == "data:application/json," + document.decode()
    assert requested.callback_gas_limit == CALLBACK_GAS
    assert requested.deadline == tx.timestamp + TTL
    event = tx.decode_logs(nft.MintRequested)[0]
    assert (event.buyer, event.digit, event.seed, event.paid) == (app_builder.address, 3, 42, PRICE)
    assert bytes(event.input_hash) == keccak(document)
    order = nft.orders(request_id)
    assert (order.buyer, order.status, order.digit, order.seed, order.paid) == (app_builder.address, PENDING, 3, 42,
                                                                                 PRICE)
    assert nft.taken(keccak(document)) == request_id
    assert market.balance == before + PRICE
    assert nft.balance == 0


def test_mint__largest_seed__fits_the_input(nft, market, app_builder):
    seed = 2**256 - 1
    _, tx = mint(nft, app_builder, digit=9, seed=seed)
    requested = tx.decode_logs(market.InferenceRequested)[0]
    assert bytes(requested.input_hash) == keccak(encode_image_seed(seed, 9))


def test_mint__overpaid__excess_returned(nft, market, app_builder):
    before = app_builder.balance
    _, tx = mint(nft, app_builder, value=PRICE + 10**18)
    assert app_builder.balance == before - PRICE - tx.total_fees_paid
    assert nft.balance == 0


def test_mint__digit_out_of_range__reverts(nft, app_builder):
    with ape.reverts("NFTMinter: digit out of range"):
        nft.mint(10, 1, sender=app_builder, value=PRICE)


def test_mint__underpaid__reverts(nft, app_builder):
    with ape.reverts("NFTMinter: insufficient payment"):
        nft.mint(3, 1, sender=app_builder, value=PRICE - 1)


def test_mint__pair_already_requested__reverts(nft, app_builder, mallory):
    mint(nft, app_builder, digit=3, seed=7)
    with ape.reverts("NFTMinter: image already taken"):
        nft.mint(3, 7, sender=mallory, value=PRICE)
    mint(nft, mallory, digit=4, seed=7)  # another digit with the same seed is another image


def test_mint__model_not_listed__reverts_with_the_market_reason(project, deployer, market, app_builder):
    unlisted = deployer.deploy(project.NFTMinter, market, 999, CALLBACK_GAS, TTL)
    with ape.reverts("InferenceMarket: model not active"):
        unlisted.mint(1, 1, sender=app_builder, value=PRICE)


# ---------------------------------------------------------------- the callback mints


def test_callback__image_delivered__token_minted_to_buyer_with_image_and_hash(nft, market, shares, model_id,
                                                                               app_builder, staked_worker,
                                                                               signer_key, author):
    request_id, _ = mint(nft, app_builder, digit=3, seed=42)
    revenue_before = shares.withdrawable_revenue(author, [model_id])
    tx = deliver(market, request_id, staked_worker, signer_key)
    assert tx.decode_logs(market.CallbackDelivered)[0].success
    minted = tx.decode_logs(nft.Minted)[0]
    assert (minted.token_id, minted.request_id, minted.owner) == (1, request_id, app_builder.address)
    assert bytes(minted.image_hash) == keccak(PNG)
    transfer = tx.decode_logs(nft.Transfer)[0]
    assert (transfer.sender, transfer.receiver, transfer.token_id) == ("0x" + "00" * 20, app_builder.address, 1)
    assert nft.ownerOf(1) == app_builder.address
    assert nft.balanceOf(app_builder) == 1
    assert nft.totalSupply() == 1
    assert nft.image(1) == PNG
    assert bytes(nft.image_hash(1)) == keccak(PNG) == bytes(market.get_request(request_id).hash)
    assert nft.token_request(1) == request_id
    order = nft.orders(request_id)
    assert (order.status, order.token_id) == (MINTED, 1)
    assert market.get_request(request_id).state & 0x7F == FINALIZED
    # The model's shareholders earn from the mint (the market's split).
    finalized = tx.decode_logs(market.InferenceFinalized)[0]
    assert finalized.shareholders_amount > 0
    assert shares.withdrawable_revenue(author, [model_id]) > revenue_before


def test_token_uri__on_chain_metadata__decodes_to_the_png(nft, market, app_builder, staked_worker, signer_key,
                                                          model_id):
    request_id, _ = mint(nft, app_builder, digit=3, seed=42)
    deliver(market, request_id, staked_worker, signer_key)
    uri = nft.tokenURI(1)
    prefix = "data:application/json;base64,"
    assert uri.startswith(prefix)
    metadata = json.loads(base64.b64decode(uri[len(prefix):]))
    assert metadata["name"] == "Neural Commons Pixels #1"
    assert f"model {model_id}" in metadata["description"] and f"request {request_id}" in metadata["description"]
    assert metadata["attributes"] == [{"trait_type": "digit", "value": 3}, {"trait_type": "seed", "value": "42"}]
    image_prefix = "data:image/png;base64,"
    assert metadata["image"].startswith(image_prefix)
    png = base64.b64decode(metadata["image"][len(image_prefix):])
    assert png == PNG
    assert (decode_png(png) == PIXELS).all()


def test_token_uri__unminted_token__reverts(nft):
    with ape.reverts("erc721: invalid token ID"):
        nft.tokenURI(1)
    with ape.reverts("erc721: invalid token ID"):
        nft.image(1)


def test_callback__buyer_is_a_contract_without_receiver_hook__still_minted(nft, market, actor, deployer,
                                                                           staked_worker, signer_key):
    actor.act(nft, nft.mint.encode_input(5, 5), sender=deployer, value=PRICE)
    request_id = market.request_count()
    tx = deliver(market, request_id, staked_worker, signer_key)
    assert tx.decode_logs(market.CallbackDelivered)[0].success
    assert nft.ownerOf(1) == actor.address


@pytest.mark.parametrize("result,what", [
    (b"GIF89a" + b"\x00" * 100, "not a png"),
    (b"\x89PNG", "shorter than the signature"),
    (PNG + b"\x00" * (384 - len(PNG) + 1), "over MAX_IMAGE"),
])
def test_callback__bad_image__callback_fails_nothing_minted(nft, market, app_builder, staked_worker, signer_key,
                                                            result, what):
    request_id, _ = mint(nft, app_builder)
    tx = deliver(market, request_id, staked_worker, signer_key, result=result)
    assert not tx.decode_logs(market.CallbackDelivered)[0].success, what
    assert tx.decode_logs(nft.Minted) == []
    assert nft.totalSupply() == 0
    assert nft.orders(request_id).status == PENDING
    assert market.get_request(request_id).state & 0x7F == FINALIZED  # settlement went on


def test_callback__largest_image__minted(nft, market, app_builder, staked_worker, signer_key):
    result = PNG + b"\x00" * (384 - len(PNG))
    request_id, _ = mint(nft, app_builder)
    tx = deliver(market, request_id, staked_worker, signer_key, result=result)
    assert tx.decode_logs(market.CallbackDelivered)[0].success
    assert nft.image(1) == result


@pytest.mark.parametrize("result,reason", [
    (b"GIF89a", "NFTMinter: result is not a png"),
    (b"\x89P", "NFTMinter: result is not a png"),
    (PNG + b"\x00" * (384 - len(PNG) + 1), "NFTMinter: image too large"),
    (PNG, "NFTMinter: unknown request"),
])
def test_callback__direct_from_the_market_account__checks_the_image_then_the_order(project, deployer, mallory,
                                                                                   result, reason):
    # The real market swallows a callback's revert reason (above); a minter whose market is an
    # account we hold shows each reason. The image checks come first, the order lookup last.
    direct = deployer.deploy(project.NFTMinter, mallory, 1, CALLBACK_GAS, TTL)
    with ape.reverts(reason):
        direct.on_inference_result(1, keccak(result), result, sender=mallory)


def test_callback__not_the_market__reverts(nft, mallory):
    with ape.reverts("NFTMinter: caller is not the market"):
        nft.on_inference_result(1, keccak(PNG), PNG, sender=mallory)


def test_callback__gas__within_the_limit_with_room(nft, market, app_builder, staked_worker, signer_key):
    request_id, _ = mint(nft, app_builder)
    tx = deliver(market, request_id, staked_worker, signer_key)
    # The whole finalize, callback included, stays under the callback's limit plus settlement.
    assert tx.decode_logs(market.CallbackDelivered)[0].success
    assert tx.gas_used < CALLBACK_GAS + 300_000  # the callback cannot take more than its limit


# ---------------------------------------------------------------- reclaim


def test_reclaim__unserved_after_deadline__refunds_buyer_and_frees_the_pair(nft, market, app_builder):
    request_id, _ = mint(nft, app_builder, digit=2, seed=9)
    past_deadline(market, request_id)
    before = app_builder.balance
    tx = nft.reclaim(request_id, sender=app_builder)
    refunded = tx.decode_logs(market.InferenceRefunded)[0]
    assert (refunded.request_id, refunded.requester, refunded.amount) == (request_id, nft.address, PRICE)
    event = tx.decode_logs(nft.Reclaimed)[0]
    assert (event.request_id, event.buyer, event.amount) == (request_id, app_builder.address, PRICE)
    assert app_builder.balance == before + PRICE - tx.total_fees_paid
    assert nft.orders(request_id).status == RECLAIMED
    assert nft.taken(keccak(encode_image_seed(9, 2))) == 0
    assert nft.balance == 0
    assert market.owed(nft) == 0
    assert market.get_request(request_id).state & 0x7F == REFUNDED
    mint(nft, app_builder, digit=2, seed=9)  # the pair is free again


def test_reclaim__claimed_but_missed__refunds_buyer(nft, market, app_builder, staked_worker):
    request_id, _ = mint(nft, app_builder)
    market.claim(request_id, sender=staked_worker)
    assert market.get_request(request_id).state & 0x7F == CLAIMED
    past_deadline(market, request_id)
    tx = nft.reclaim(request_id, sender=app_builder)
    assert tx.decode_logs(nft.Reclaimed)[0].amount == PRICE
    assert tx.decode_logs(market.InferenceRefunded)[0].missed_by == staked_worker.address


def test_reclaim__market_refund_made_by_anyone__still_reclaimable(nft, market, app_builder, mallory):
    first, _ = mint(nft, app_builder, seed=1)
    second, _ = mint(nft, app_builder, seed=2)
    past_deadline(market, second)
    market.refund(first, sender=mallory)
    market.refund(second, sender=mallory)
    assert market.owed(nft) == 2 * PRICE
    nft.reclaim(first, sender=app_builder)  # withdraws both refunds into the minter
    assert market.owed(nft) == 0
    assert nft.balance == PRICE  # the second buyer's refund, held for it
    tx = nft.reclaim(second, sender=app_builder)
    assert tx.decode_logs(nft.Reclaimed)[0].amount == PRICE
    assert nft.balance == 0


def test_reclaim__before_deadline__reverts_with_the_market_reason(nft, market, app_builder):
    request_id, _ = mint(nft, app_builder)
    assert market.get_request(request_id).state & 0x7F == REQUESTED
    with ape.reverts("InferenceMarket: deadline not passed"):
        nft.reclaim(request_id, sender=app_builder)
    assert nft.orders(request_id).status == PENDING


def test_reclaim__fulfilled__reverts(nft, market, app_builder, staked_worker, signer_key):
    request_id, _ = mint(nft, app_builder)
    market.claim(request_id, sender=staked_worker)
    market.fulfill(request_id, keccak(PNG), "", signature(market, request_id, signer_key, result_hash=keccak(PNG)),
                   PNG, sender=staked_worker)
    past_deadline(market, request_id)
    with ape.reverts("NFTMinter: request not refunded"):
        nft.reclaim(request_id, sender=app_builder)


def test_reclaim__minted__reverts(nft, market, app_builder, staked_worker, signer_key):
    request_id, _ = mint(nft, app_builder)
    deliver(market, request_id, staked_worker, signer_key)
    with ape.reverts("NFTMinter: order not pending"):
        nft.reclaim(request_id, sender=app_builder)


def test_reclaim__twice__reverts(nft, market, app_builder):
    request_id, _ = mint(nft, app_builder)
    past_deadline(market, request_id)
    nft.reclaim(request_id, sender=app_builder)
    with ape.reverts("NFTMinter: order not pending"):
        nft.reclaim(request_id, sender=app_builder)


def test_reclaim__by_someone_else__reverts(nft, market, app_builder, mallory):
    request_id, _ = mint(nft, app_builder)
    past_deadline(market, request_id)
    with ape.reverts("NFTMinter: caller is not the buyer"):
        nft.reclaim(request_id, sender=mallory)


def test_reclaim__unknown_request__reverts(nft, app_builder):
    with ape.reverts("NFTMinter: unknown request"):
        nft.reclaim(12345, sender=app_builder)


# ---------------------------------------------------------------- hostile callers


def test_default__eth_from_anyone_but_the_market__reverts(nft, mallory):
    with ape.reverts("NFTMinter: only the market pays in"):
        mallory.transfer(nft, 1)


def test_reentrancy__buyer_reenters_reclaim_on_refund__reverts_and_keeps_funds(nft, market, actor, deployer):
    actor.act(nft, nft.mint.encode_input(1, 1), sender=deployer, value=PRICE)
    request_id = market.request_count()
    past_deadline(market, request_id)
    market.refund(request_id, sender=deployer)
    actor.arm(nft, nft.reclaim.encode_input(request_id), sender=deployer)
    with ape.reverts():
        actor.act(nft, nft.reclaim.encode_input(request_id), sender=deployer)
    assert nft.orders(request_id).status == PENDING
    assert market.owed(nft) == PRICE  # nothing moved
    actor.arm(deployer, b"", sender=deployer)  # a harmless hook: the honest reclaim goes through, once
    tx = actor.act(nft, nft.reclaim.encode_input(request_id), sender=deployer)
    assert tx.decode_logs(nft.Reclaimed)[0].amount == PRICE
    assert actor.balance == PRICE
    assert nft.balance == 0


def test_reentrancy__buyer_reenters_mint_on_excess__reverts(nft, market, actor, deployer):
    actor.arm(nft, nft.mint.encode_input(1, 2), sender=deployer)
    with ape.reverts():
        actor.act(nft, nft.mint.encode_input(1, 1), sender=deployer, value=2 * PRICE)
    assert nft.taken(keccak(encode_image_seed(1, 1))) == 0


def test_transfer__owner_moves_token__ownership_and_enumeration_follow(nft, market, app_builder, mallory,
                                                                       staked_worker, signer_key):
    request_id, _ = mint(nft, app_builder)
    deliver(market, request_id, staked_worker, signer_key)
    tx = nft.transferFrom(app_builder, mallory, 1, sender=app_builder)
    assert tx.decode_logs(nft.Transfer)[0].receiver == mallory.address
    assert nft.ownerOf(1) == mallory.address
    assert nft.tokenOfOwnerByIndex(mallory, 0) == 1
    with ape.reverts("erc721: caller is not token owner or approved"):
        nft.transferFrom(mallory, app_builder, 1, sender=app_builder)
