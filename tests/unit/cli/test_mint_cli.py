"""`ape run mint`: wrong inputs refused in one line before any transaction; a mint paid, drawn by a
worker, settled and shown as an image file; an unserved mint reclaimed."""

import pytest
from ape import chain

from offchain.cli import advance_time
from offchain.deploy import save_deployment
from offchain.models import load_spec
from offchain.runtime import load_runtime
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.worker import InferenceWorker
from tests.unit.cli.conftest import load_script


def test_mint__no_collection_deployed__one_line_error(cli_system, run_cli):
    ran = run_cli("mint", "--digit", "1", "--seed", "1")
    assert ran.code == 1 and "run `ape run mint deploy` first" in ran.error_lines()[0], ran.out


def test_mint_deploy__pixels_not_listed__one_line_error(cli_system, run_cli):
    ran = run_cli("mint", "deploy")
    assert ran.code == 1 and "register the pixels model and list it through the DAO first" in ran.out, ran.out


@pytest.fixture(scope="module")
def collection(cli_system, project, accounts):
    from offchain.demos.nft import list_pixels

    model_id = list_pixels(cli_system, accounts, load_spec("pixels"))
    save_deployment(cli_system)
    return cli_system, model_id


def test_mint_deploy__listed_model__collection_recorded(collection, run_cli):
    d, model_id = collection
    ran = run_cli("mint", "deploy", "--ttl", "1h")
    assert ran.code == 0, ran.out
    assert f"for model {model_id}" in ran.out
    again = run_cli("mint", "deploy")
    assert again.code == 1 and "already has an NFTMinter" in again.out


CASES = [
    (["mint", "--digit", "12", "--seed", "1"], "--digit 12 is not a digit"),
    (["mint", "--digit", "1", "--seed", "abc"], "--seed 'abc' is not a whole number"),
    (["mint", "--digit", "1", "--seed", str(2**256)], "is out of range"),
    (["mint", "--digit", "1", "--seed", "1", "--max-price", "1 wei"], "more than --max-price 1 wei"),
    (["mint", "--digit", "1", "--seed", "1", "--timeout", "soon"], "'soon' is not a duration"),
    (["mint", "show", "5"], "no token 5: 0 minted so far"),
    (["mint", "reclaim", "999"], "request 999 is not a mint of this collection"),
]


@pytest.mark.parametrize("argv,says", CASES, ids=[" ".join(c[0])[:50] for c in CASES])
def test_mint__wrong_input__one_line_error_no_transaction(collection, run_cli, argv, says):
    if "NFTMinter" not in collection[0].contracts:
        run_cli("mint", "deploy")
    block = chain.blocks.height
    ran = run_cli(*argv)
    assert ran.code == 1, ran.out
    assert len(ran.error_lines()) == 1 and says in ran.error_lines()[0], ran.out
    assert chain.blocks.height == block


def test_mint__paid_drawn_settled__show_writes_the_image(collection, run_cli, accounts, tmp_path):
    d, model_id = collection
    if "NFTMinter" not in d.contracts:
        run_cli("mint", "deploy")
    from ape import project

    from offchain.deploy import load_deployment

    d = load_deployment(project, chain.provider)
    minter, market, worker = d.NFTMinter, d.InferenceMarket, accounts[5]
    ran = run_cli("mint", "--digit", "6", "--seed", "31", "--account", "TEST::6")
    assert ran.code == 0, ran.out
    request_id = market.request_count()
    assert f"request {request_id}: paid" in ran.out
    taken = run_cli("mint", "--digit", "6", "--seed", "31", "--account", "TEST::6")
    assert taken.code == 1 and f"already taken (request {request_id})" in taken.out

    results = ContentStore(tmp_path / "results")
    server = ResultServer(results).start()
    try:
        runtime = load_runtime(load_spec("pixels"), expected_hash=bytes(d.ModelRegistry.models(model_id).artifact_hash))
        agent = InferenceWorker(market, worker, worker.private_key, {model_id: runtime}, results,
                                tmp_path / "worker.json", server.result_url)
        assert agent.step().fulfilled == 1
        advance_time(market.params().challenge_window + 1)
        assert agent.step().finalized == 1
    finally:
        server.stop()
    token_id = minter.orders(request_id).token_id
    assert token_id == minter.minted_count() and minter.ownerOf(token_id) == accounts[6].address
    assert load_script("mint")._wait_minted(minter, market, request_id, 5) == token_id

    shown = run_cli("mint", "show", str(token_id), "--out", str(tmp_path / "images"))
    assert shown.code == 0, shown.out
    path = tmp_path / "images" / f"pixels-{token_id}.png"
    assert path.exists() and path.name in shown.out.replace("\n", "")


def test_mint_reclaim__unserved_after_deadline__payment_back(collection, run_cli, accounts):
    d, _ = collection
    if "NFTMinter" not in d.contracts:
        run_cli("mint", "deploy")
    from ape import project

    from offchain.deploy import load_deployment

    d = load_deployment(project, chain.provider)
    ran = run_cli("mint", "--digit", "2", "--seed", "5", "--account", "TEST::6")
    assert ran.code == 0, ran.out
    request_id = d.InferenceMarket.request_count()
    early = run_cli("mint", "reclaim", str(request_id), "--account", "TEST::6")
    assert early.code == 1 and "may still be served until" in early.out
    stranger = run_cli("mint", "reclaim", str(request_id))
    assert stranger.code == 1 and "was paid by" in stranger.out
    chain.mine(timestamp=d.InferenceMarket.get_request(request_id).deadline + 1)
    done = run_cli("mint", "reclaim", str(request_id), "--account", "TEST::6")
    assert done.code == 0 and f"request {request_id} reclaimed" in done.out, done.out
    assert d.NFTMinter.orders(request_id).status == 3
    again = run_cli("mint", "reclaim", str(request_id), "--account", "TEST::6")
    assert again.code == 1 and "already reclaimed" in again.out
