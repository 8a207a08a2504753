"""A contract model (input: an on-chain reference whose code the worker reads from its node) is served per
request, not over channels: a channel call with one is refused before its voucher counts."""

from ape import chain
from eth_utils import keccak
from fastapi.testclient import TestClient

from offchain import inputs
from offchain.channels import ChannelWorker, create_app
from offchain.models import load_spec
from offchain.runtime import load_runtime
from tests.conftest import MODEL_PRICE
from tests.unit.channels.conftest import post
from tests.utils.channels import voucher


def test_channel_call__contract_model__422_and_not_charged(system, model_id, staked_worker, cid, app_builder,
                                                          tmp_path):
    worker = ChannelWorker(system.PaymentChannels, staked_worker, staked_worker.private_key,
                           {model_id: load_runtime(load_spec("risk"))}, {model_id: MODEL_PRICE},
                           chain_id=chain.chain_id, state_dir=tmp_path / "ledger", refresh_after=0, tick_every=None)
    document = inputs.encode_contract(chain.chain_id, system.GovernanceToken.address, chain.blocks.head.number,
                                      keccak(bytes(chain.provider.get_code(system.GovernanceToken.address))))
    try:
        with TestClient(create_app(worker)) as http:
            response = post(http, cid, document, MODEL_PRICE,
                            voucher(system.PaymentChannels, app_builder, cid, MODEL_PRICE))
        assert response.status_code == 422
        assert "served per request" in response.json()["detail"]
        assert worker.book[cid].calls == 0
    finally:
        worker.close()
