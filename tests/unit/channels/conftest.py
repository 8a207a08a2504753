"""Fixtures of the worker's channel API tests: the digits model, workers on their own ledgers, channels."""

import pytest
from ape import chain
from fastapi.testclient import TestClient

from offchain.channels import ChannelWorker, create_app, input_document
from offchain.demos.inference import held_out_digits
from offchain.models import load_spec
from offchain.runtime import load_runtime
from tests.conftest import MODEL_PRICE
from tests.utils.channels import open_channel


@pytest.fixture(scope="module")
def spec():
    return load_spec("digits")


@pytest.fixture(scope="module")
def digits(spec):
    return [input_document(p) for p, _ in held_out_digits(spec, 8)]


@pytest.fixture(scope="module")
def runtime(spec):
    return load_runtime(spec)


@pytest.fixture
def new_api(system, model_id, staked_worker, runtime, tmp_path):
    """Factory: a worker on a ledger in `state` (default: this test's own), and its HTTP client. The background
    task is off (tests drive `tick` themselves) and every call re-reads the channel from the chain."""
    opened = []

    def factory(state=None, **options):
        options = {"refresh_after": 0, "tick_every": None, **options}
        worker = ChannelWorker(system.PaymentChannels, staked_worker, staked_worker.private_key,
                               {model_id: runtime}, {model_id: MODEL_PRICE}, chain_id=chain.chain_id,
                               state_dir=state or tmp_path / "ledger", **options)
        http = TestClient(create_app(worker))
        http.__enter__()
        opened.append((worker, http))
        return worker, http

    yield factory
    for worker, http in opened:
        http.__exit__(None, None, None)
        worker.close()


@pytest.fixture
def api(new_api):
    return new_api()


@pytest.fixture
def cid(system, model_id, staked_worker, app_builder):
    return open_channel(system.PaymentChannels, app_builder, staked_worker, model_id, 3 * MODEL_PRICE)


def post(http, cid, document, amount, signature):
    return http.post(f"/v1/channels/0x{cid.hex()}/infer", json={
        "input": document.decode(), "voucher": {"amount": amount, "signature": "0x" + signature.hex()}})
