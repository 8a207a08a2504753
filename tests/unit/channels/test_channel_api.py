"""The worker's channel API, every error it answers, and the client that checks it."""

import json
import sqlite3
import threading

import pytest
from ape import chain
from eth_utils import keccak

from dataclasses import replace

from offchain import inputs
from offchain.attestation import SECP256K1_N
from fastapi.testclient import TestClient

from offchain.channels import CallRejected, ChannelClient, ChannelWorker, Ledger, create_app
from offchain.channels.app import PaidCallLane
from offchain.channels.client import SIGNER_TTL, WrongSigner, evidence_uri
from offchain.errors import NeuralCommonsError
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.tamper import Tamper
from tests.conftest import MODEL_PRICE, stake_worker
from tests.unit.channels.conftest import post
from tests.utils.court import by_address, decide, new_verifiers
from tests.utils.channels import open_channel, voucher
from tests.utils.constants import ETH


@pytest.fixture
def client(system, app_builder):
    return ChannelClient(system.PaymentChannels, system.ModelRegistry, system.WorkerRegistry, app_builder,
                         chain_id=chain.chain_id)


def test_calls__answered_with_verified_receipts__one_settlement_pays(system, api, client, model_id, staked_worker,
                                                                     digits):
    worker, http = api
    client.open(staked_worker, model_id, ETH, url="http://testserver")
    results = [client.call(d, http) for d in digits]
    assert [r.seq for r in results] == list(range(1, 9))
    assert all(r.result_hash == keccak(r.result) for r in results)
    assert http.get(f"/v1/channels/0x{client.channel_id.hex()}").json()["calls"] == 8
    cid = "0x" + client.channel_id.hex()
    assert http.post("/v1/settle").json() == {"settled_wei": 8 * MODEL_PRICE, "paid": {cid: 8 * MODEL_PRICE},
                                              "failed": {}, "dropped": {}, "transactions": 1}
    assert system.PaymentChannels.channels(client.channel_id).settled == 8 * MODEL_PRICE
    assert system.PaymentChannels.owed(staked_worker) == 8 * MODEL_PRICE * 7_000 // 10_000
    assert http.post("/v1/settle").json()["settled_wei"] == 0


def test_openapi__describes_the_call(api):
    _, http = api
    schema = http.get("/openapi.json").json()
    assert "/v1/channels/{channel_id}/infer" in schema["paths"]


def test_error__voucher_by_someone_else__401(system, api, cid, mallory, digits):
    _, http = api
    response = post(http, cid, digits[0], MODEL_PRICE, voucher(system.PaymentChannels, mallory, cid, MODEL_PRICE))
    assert (response.status_code, response.json()["detail"]) == (401, "voucher is not signed by the channel's payer")


def test_error__voucher_too_small__402(system, api, cid, app_builder, digits):
    _, http = api
    response = post(http, cid, digits[0], MODEL_PRICE - 1, voucher(system.PaymentChannels, app_builder, cid,
                                                                    MODEL_PRICE - 1))
    assert (response.status_code, response.json()["detail"]) == (
        402, f"voucher covers {MODEL_PRICE - 1} wei; this call needs {MODEL_PRICE} (0 already charged + the price)")


def test_error__voucher_over_deposit__402(system, api, cid, app_builder, digits):
    _, http = api
    amount = 4 * MODEL_PRICE
    response = post(http, cid, digits[0], amount, voucher(system.PaymentChannels, app_builder, cid, amount))
    assert response.status_code == 402
    assert "exceeds the channel deposit" in response.json()["detail"]


def test_error__older_voucher_after_newer__409(system, api, cid, app_builder, digits):
    _, http = api
    channels = system.PaymentChannels
    assert post(http, cid, digits[0], 2 * MODEL_PRICE, voucher(channels, app_builder, cid, 2 * MODEL_PRICE)).status_code \
        == 200
    response = post(http, cid, digits[1], MODEL_PRICE, voucher(channels, app_builder, cid, MODEL_PRICE))
    assert response.status_code == 409


def test_error__unknown_channel__404(system, api, app_builder, digits):
    _, http = api
    unknown = b"\x07" * 32
    response = post(http, unknown, digits[0], 1, voucher(system.PaymentChannels, app_builder, unknown, 1))
    assert (response.status_code, response.json()["detail"]) == (404, f"unknown channel 0x{unknown.hex()}")


def test_error__channel_of_another_worker__403(system, api, model_id, deployer, mallory, app_builder, digits):
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, mallory)
    other = open_channel(system.PaymentChannels, app_builder, mallory, model_id, ETH)
    _, http = api
    response = post(http, other, digits[0], MODEL_PRICE, voucher(system.PaymentChannels, app_builder, other,
                                                                  MODEL_PRICE))
    assert response.status_code == 403


def test_error__call_after_request_close__409_and_not_charged(system, api, cid, app_builder, digits):
    worker, http = api
    channels = system.PaymentChannels
    assert post(http, cid, digits[0], MODEL_PRICE, voucher(channels, app_builder, cid, MODEL_PRICE)).status_code == 200
    channels.request_close(cid, sender=app_builder)
    response = post(http, cid, digits[1], 2 * MODEL_PRICE, voucher(channels, app_builder, cid, 2 * MODEL_PRICE))
    assert (response.status_code, response.json()["detail"]) == (
        409, "channel closing (its payer asked to close): open a new one")
    assert (worker.book[cid].calls, worker.book[cid].voucher_amount) == (1, MODEL_PRICE)


def test_error__call_after_close__409(system, api, cid, app_builder, digits):
    _, http = api
    channels = system.PaymentChannels
    assert post(http, cid, digits[0], MODEL_PRICE, voucher(channels, app_builder, cid, MODEL_PRICE)).status_code == 200
    channels.request_close(cid, sender=app_builder)
    chain.mine(timestamp=chain.pending_timestamp + channels.params().close_delay + 1)
    channels.close(cid, sender=app_builder)
    response = post(http, cid, digits[1], 2 * MODEL_PRICE, voucher(channels, app_builder, cid, 2 * MODEL_PRICE))
    assert (response.status_code, response.json()["detail"]) == (409, "channel closed: open a new one")
    assert http.get(f"/v1/channels/0x{cid.hex()}").json()["closed"] is True


def body(amount=MODEL_PRICE, signature="0x" + "11" * 65, document='{"pixels":[0]}'):
    return {"input": document, "voucher": {"amount": amount, "signature": signature}}


@pytest.mark.parametrize("amount,signature,reason", [
    (MODEL_PRICE, "0x1234", "voucher.signature: must be 0x and 130 hex digits (65 bytes)"),
    (MODEL_PRICE, "0x" + "zz" * 65, "voucher.signature: must be 0x and 130 hex digits (65 bytes)"),
    (MODEL_PRICE, "11" * 65, "voucher.signature: must be 0x and 130 hex digits (65 bytes)"),
    (MODEL_PRICE, "0x" + "11" * 66, "voucher.signature: must be 0x and 130 hex digits (65 bytes)"),
    (MODEL_PRICE, 65, "voucher.signature: must be 0x and 130 hex digits (65 bytes)"),
    (-1, "0x" + "11" * 65, "voucher.amount: must not be negative"),
    (2**256, "0x" + "11" * 65, "voucher.amount: must be below 2**256"),
    (2**300, "0x" + "11" * 65, "voucher.amount: must be below 2**256"),
    (str(MODEL_PRICE), "0x" + "11" * 65, "voucher.amount: must be a whole number of wei (a JSON integer)"),
    (True, "0x" + "11" * 65, "voucher.amount: must be a whole number of wei (a JSON integer)"),
    (1.5, "0x" + "11" * 65, "voucher.amount: must be a whole number of wei (a JSON integer)"),
    (None, "0x" + "11" * 65, "voucher.amount: must be a whole number of wei (a JSON integer)"),
])
def test_error__malformed_voucher_field__422_with_its_reason(api, cid, amount, signature, reason):
    worker, http = api
    response = http.post(f"/v1/channels/0x{cid.hex()}/infer", json=body(amount, signature))
    assert (response.status_code, response.json()) == (422, {"detail": reason})
    assert cid not in worker.book


def test_error__no_voucher_and_no_session__401_nothing_charged(api, cid, digits):
    worker, http = api
    response = http.post(f"/v1/channels/0x{cid.hex()}/infer", json={"input": digits[0].decode()})
    assert (response.status_code, response.json()) == (401, {
        "detail": "a call without a voucher needs the session token sent with the channel's latest voucher"})
    assert (worker.book[cid].calls, worker.book[cid].charged) == (0, 0)


@pytest.mark.parametrize("channel_id", ["0x1234", "0x" + "zz" * 32, "0x" + "11" * 33])
def test_error__malformed_channel_id__422_with_its_reason(api, channel_id):
    _, http = api
    response = http.post(f"/v1/channels/{channel_id}/infer", json=body())
    assert (response.status_code, response.json()) == (
        422, {"detail": "channel_id: must be 0x and 64 hex digits (32 bytes)"})


def test_error__well_formed_but_invalid_signature__401(api, cid, digits):
    worker, http = api
    response = http.post(f"/v1/channels/0x{cid.hex()}/infer", json=body(signature="0x" + "00" * 65,
                                                                         document=digits[0].decode()))
    assert (response.status_code, response.json()["detail"]) == (401, "voucher signature is not a valid signature")
    assert worker.book[cid].calls == 0


def test_error__malleable_voucher_signature__401_and_not_charged(system, api, cid, app_builder, digits):
    """The payer's own voucher with s flipped to the upper half: ecrecover gives the payer, but the contract's
    settle refuses it, so a worker that took it would serve for free."""
    worker, http = api
    signature = voucher(system.PaymentChannels, app_builder, cid, MODEL_PRICE)
    s = int.from_bytes(signature[32:64], "big")
    flipped = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes((55 - signature[64],))
    response = post(http, cid, digits[0], MODEL_PRICE, flipped)
    assert (response.status_code, response.json()["detail"]) == (401, "voucher signature is not a valid signature")
    assert (worker.book[cid].calls, worker.book[cid].voucher_amount) == (0, 0)


def test_calls__concurrent__answered_from_group_commits_and_on_disk(system, api, accounts, staked_worker,
                                                                 model_id, digits):
    """Calls on many channels at once: each answered with its own seq, every voucher and receipt on disk
    when answered (read back through a second connection, as after a crash)."""
    worker, http = api
    payers = {open_channel(system.PaymentChannels, payer, staked_worker, model_id, 3 * MODEL_PRICE): payer
              for payer in (accounts[i] for i in (1, 2, 3, 4, 6, 7))}
    channels = list(payers)
    barrier = threading.Barrier(len(channels))
    answers = {}

    def one(cid):
        barrier.wait()
        answers[cid] = post(http, cid, digits[0], MODEL_PRICE, voucher(system.PaymentChannels, payers[cid], cid,
                                                                       MODEL_PRICE))

    threads = [threading.Thread(target=one, args=(cid,)) for cid in channels]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [answers[cid].status_code for cid in channels] == [200] * len(channels)
    assert [answers[cid].json()["seq"] for cid in channels] == [1] * len(channels)
    again = Ledger(worker.ledger.path.parent, chain_id=chain.chain_id, contract=str(system.PaymentChannels.address),
                   genesis=bytes(chain.blocks[0].hash))
    for cid in channels:
        assert (again.get(cid).calls, again.get(cid).voucher_amount) == (1, MODEL_PRICE)
        assert [seq for seq, _ in again.receipts(cid, 1)] == [1]
    again.close()


def test_error__commit_fails__call_fails_and_not_charged(system, api, cid, app_builder, digits):
    """The batch's one commit (voucher, seq and receipt) fails: the call is not answered, nothing of it stays
    in the books, and the same voucher is served once the disk works again."""
    worker, http = api
    signature = voucher(system.PaymentChannels, app_builder, cid, MODEL_PRICE)
    worker.channel(cid)
    saboteur = sqlite3.connect(worker.ledger.path)
    saboteur.execute("CREATE TRIGGER full BEFORE INSERT ON receipts BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    saboteur.commit()
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):  # the app answers 500
        post(http, cid, digits[0], MODEL_PRICE, signature)
    book = worker.book[cid]
    assert (book.calls, book.voucher_amount, book.unsettled, worker.status(cid)["pending_receipts"]) == (0, 0, 0, 0)
    saboteur.execute("DROP TRIGGER full")
    saboteur.commit()
    saboteur.close()
    answer = post(http, cid, digits[0], MODEL_PRICE, signature)
    assert (answer.status_code, answer.json()["seq"]) == (200, 1)


class FailingRuntime:
    """The real runtime whose graph call fails (a fault in the model's process)."""

    def __init__(self, runtime):
        self.spec = runtime.spec

    def infer(self, arrays):
        raise RuntimeError("the graph failed")


def test_error__model_fails__call_fails_and_its_voucher_stays_taken(system, cid, app_builder, digits, staked_worker,
                                                                     model_id, runtime, tmp_path):
    """As before the model runs: a voucher the worker took is never lost, even when the model then fails."""
    worker = ChannelWorker(system.PaymentChannels, staked_worker, staked_worker.private_key,
                           {model_id: FailingRuntime(runtime)}, {model_id: MODEL_PRICE}, chain_id=chain.chain_id,
                           state_dir=tmp_path, refresh_after=0, tick_every=None)
    with TestClient(create_app(worker)) as http:
        with pytest.raises(RuntimeError, match="the graph failed"):
            post(http, cid, digits[0], MODEL_PRICE, voucher(system.PaymentChannels, app_builder, cid, MODEL_PRICE))
    book = worker.book[cid]
    assert (book.durable_calls, book.durable_amount, worker.status(cid)["pending_receipts"]) == (1, MODEL_PRICE, 0)
    worker.close()


@pytest.mark.parametrize("document,reason", [
    (json.dumps({"pixels": [1] * 3}), "must hold 64 numbers, got 3"),
    (json.dumps({"pixels": ["a"] * 64}), "values must be numbers"),
    ("not json", "not JSON"),
])
def test_error__bad_input__422_and_not_charged(system, api, cid, app_builder, document, reason):
    worker, http = api
    response = post(http, cid, document.encode(), MODEL_PRICE, voucher(system.PaymentChannels, app_builder, cid,
                                                                        MODEL_PRICE))
    assert response.status_code == 422
    assert reason in response.json()["detail"]
    assert worker.book[cid].calls == 0


def test_error__oversized_body__413(api, cid):
    _, http = api
    response = http.post(f"/v1/channels/0x{cid.hex()}/infer", content=b"x" * 20_000,
                         headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_error__oversized_body_without_a_declared_length__413(api, cid):
    """A chunked body (no content-length to refuse it by) is read only up to the limit."""
    worker, http = api
    response = http.post(f"/v1/channels/0x{cid.hex()}/infer", content=iter([b"x" * 10_000] * 3),
                         headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (413, {"detail": "body over 16384 bytes"})
    assert cid not in worker.book


def test_error__oversized_body_on_a_path_the_lane_passes_on__413(api, cid):
    """An encoded newline after `infer` is not the lane's path, but the route's pattern still matches it: the
    route reads its body within the same bound, so no path reads an unbounded body."""
    worker, http = api
    response = http.post(f"/v1/channels/0x{cid.hex()}/infer%0A", content=iter([b"x" * 10_000] * 3),
                         headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (413, {"detail": "body over 16384 bytes"})
    assert cid not in worker.book


def test_lane__client_gone_mid_body__nothing_served_or_sent():
    """A client that disconnects before its body is complete is not served on the part that arrived (its
    voucher would be taken for an answer nobody receives)."""
    import asyncio

    served, sent = [], []

    async def answer_call(channel_id, body):
        served.append(body)
        return 200, {}

    async def run():
        messages = iter([{"type": "http.request", "body": b'{"input": "{}", "voucher": ', "more_body": True},
                         {"type": "http.disconnect"}])

        async def receive():
            return next(messages)

        async def send(message):
            sent.append(message)

        lane = PaidCallLane(None, answer_call)
        await lane({"type": "http", "method": "POST", "path": "/v1/channels/0x" + "11" * 32 + "/infer"}, receive, send)

    asyncio.run(run())
    assert (served, sent) == ([], [])


def test_lane__answers_as_the_fastapi_route_does(system, api, cid, app_builder, digits):
    """The paid call is served by `PaidCallLane` ahead of FastAPI; FastAPI's declared route (reached here
    through an app built without the lane) validates and serves the same way: same errors, same books."""
    worker, lane = api
    app = create_app(worker)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not PaidCallLane]
    route = TestClient(app)
    channels = system.PaymentChannels
    bodies = [
        body(-1),  # a malformed field
        {"input": "{}"},  # a missing one
        body(MODEL_PRICE, "0x" + "00" * 65, digits[0].decode()),  # not a signature
        body(MODEL_PRICE - 1, "0x" + voucher(channels, app_builder, cid, MODEL_PRICE - 1).hex(), digits[0].decode()),
    ]
    for one in bodies:
        by_lane = lane.post(f"/v1/channels/0x{cid.hex()}/infer", json=one)
        by_route = route.post(f"/v1/channels/0x{cid.hex()}/infer", json=one)
        assert (by_lane.status_code, by_lane.json()) == (by_route.status_code, by_route.json())
        assert by_lane.status_code in (401, 402, 422)
    for malformed in (b"{not json", b""):
        answers = [http.post(f"/v1/channels/0x{cid.hex()}/infer", content=malformed) for http in (lane, route)]
        assert [(a.status_code, a.json()["detail"].split(":")[0]) for a in answers] == [(422, "body")] * 2
    assert worker.book[cid].calls == 0
    first = post(lane, cid, digits[0], MODEL_PRICE, voucher(channels, app_builder, cid, MODEL_PRICE))
    second = post(route, cid, digits[0], 2 * MODEL_PRICE, voucher(channels, app_builder, cid, 2 * MODEL_PRICE))
    assert (first.status_code, second.status_code) == (200, 200)
    assert [first.json()["seq"], second.json()["seq"]] == [1, 2]
    assert {k: v for k, v in first.json().items() if k not in ("seq", "receipt")} == \
        {k: v for k, v in second.json().items() if k not in ("seq", "receipt")}
    assert worker.book[cid].durable_calls == 2


def test_client__bad_receipt_challenged__committee_slashes_worker(system, accounts, deployer, api, client, model_id,
                                                                  staked_worker, digits, workers, mallory):
    pool = by_address(new_verifiers(accounts, system, deployer, model_id, 3))
    _, http = api
    client.open(staked_worker, model_id, ETH, url="http://testserver")
    call = client.call(digits[0], http)
    challenge_id = client.challenge(call, keccak(b"what re-execution gave"))
    dispute_id = system.PaymentChannels.challenges(challenge_id).dispute_id
    tx = decide(system.DisputeCourt, dispute_id, pool, False, mallory)
    assert tx.decode_logs(system.PaymentChannels.ReceiptChallengeResolved)[0].slashed == 100 * ETH
    assert workers.slashed(staked_worker) == 1


def test_client__worker_rotated_but_signs_with_the_old_key__refused_once_the_key_read_is_stale(
        system, api, client, model_id, staked_worker, dave, digits):
    """A worker rotates its key on chain and goes on signing with the old one (which binds it only for the
    unbonding delay). The client trusts its read of the active key for SIGNER_TTL, then reads it again and
    refuses the old key's receipts."""
    _, http = api
    client.open(staked_worker, model_id, ETH, url="http://testserver")
    system.WorkerRegistry.set_signer(dave, sender=staked_worker)
    assert client.call(digits[0], http).seq == 1  # the read at open is fresh; the old key still binds
    assert client.worker_signer == staked_worker.address
    client.signer_read_at -= SIGNER_TTL
    with pytest.raises(WrongSigner):
        client.call(digits[1], http)
    assert client.worker_signer == dave.address


def test_client__rejection__raises_with_status(system, api, client, model_id, staked_worker, app_builder):
    _, http = api
    client.open(staked_worker, model_id, ETH, url="http://testserver")
    with pytest.raises(CallRejected) as raised:
        client.call(b'{"pixels":[1]}', http)
    assert raised.value.status == 422


def test_client__challenge__publishes_the_kept_input_and_result_as_evidence(system, api, client, model_id,
                                                                           staked_worker, digits, mallory):
    _, http = api
    client.open(staked_worker, model_id, ETH, url="http://testserver")
    call = client.call(digits[0], http)
    assert call.document == digits[0]
    challenge_id = client.challenge(call, keccak(b"what re-execution gave"))
    (logged,) = system.PaymentChannels.ReceiptChallenged.range(0, None, search_topics={"challenge_id": challenge_id})
    assert logged.input_uri.startswith("data:application/json,")
    assert logged.result_uri.startswith("data:application/octet-stream;base64,")
    assert inputs.fetch(logged.input_uri, call.input_hash, 10_000) == digits[0]
    assert inputs.fetch(logged.result_uri, call.result_hash, 10_000) == call.result


def test_client__challenge_without_the_kept_input__refused_before_any_transaction(system, api, client, model_id,
                                                                                  staked_worker, digits):
    _, http = api
    client.open(staked_worker, model_id, ETH, url="http://testserver")
    call = replace(client.call(digits[0], http), document=b"")
    count = system.PaymentChannels.challenge_count()
    with pytest.raises(NeuralCommonsError, match="the call's input was not kept: cannot publish the evidence"):
        client.challenge(call, keccak(b"x"))
    assert system.PaymentChannels.challenge_count() == count


def test_evidence_uri__too_large_for_data_uri__published_by_hash_or_refused(tmp_path):
    large = bytes(range(256)) * 4  # 1,024 bytes: base64 is over the contract's 1,024-byte bound
    with pytest.raises(NeuralCommonsError, match="1024 bytes of evidence do not fit a data: URI"):
        evidence_uri(large)
    store = ContentStore(tmp_path)
    server = ResultServer(store).start()
    try:
        uri = evidence_uri(large, lambda data: server.result_url(store.put(data)))
        assert uri.startswith("http://") and inputs.fetch(uri, keccak(large), 2_048) == large
    finally:
        server.stop()
    with pytest.raises(NeuralCommonsError, match="published evidence needs an http"):
        evidence_uri(large, lambda data: "file:///etc/passwd")
    small = b'{"pixels":[0]}'
    assert evidence_uri(small, json=True) == inputs.data_uri(small)  # inline, no publishing


def test_tamper__channel_worker__signs_and_serves_the_altered_bytes(new_api, client, model_id, staked_worker,
                                                                    digits, runtime):
    _, http = new_api(tamper=Tamper.parse("flip"))
    client.open(staked_worker, model_id, ETH, url="http://testserver")
    call = client.call(digits[0], http)  # the client's checks pass: hashes and receipt are consistent
    (honest,) = runtime.infer([inputs.parse(runtime.spec.input_schema, digits[0])])
    assert call.result == honest[:-1] + bytes([honest[-1] ^ 0x01])
    assert call.result_hash == keccak(call.result)
