"""`ape run risk` on the embedded chain: list-token and status against a TokenListing, one-line errors for
wrong inputs (the paid `score` with a worker runs in tests/e2e/test_risk_anvil.py)."""

import pytest

from offchain.demos import risk
from offchain.deploy import save_deployment


@pytest.fixture(scope="module")
def economy(project, accounts, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("NC_DEPLOYMENTS_DIR", str(tmp_path_factory.mktemp("deployments")))
    economy = risk.setup(project, accounts)
    save_deployment(economy.deployment)
    yield economy
    mp.undo()


@pytest.fixture(scope="module")
def tokens(project, accounts, economy):
    return risk.deploy_tokens(project, accounts[3])


def test_list_token__pays_and_opens_a_review(run_cli, economy, tokens, accounts):
    listing, token = economy.listing, tokens["safe"]
    ran = run_cli("risk", "list-token", "--listing", listing.address, "--token", token.address)
    assert ran.code == 0, ran.out
    rid = listing.pending_request(token)
    assert rid > 0 and f"request {rid}: paid" in ran.out
    assert listing.applications(rid).applicant == accounts[0].address  # the default account
    status = run_cli("risk", "status", "--listing", listing.address, "--token", token.address)
    assert status.code == 0 and f"request {rid}" in status.out and "none yet" in status.out
    again = run_cli("risk", "list-token", "--listing", listing.address, "--token", token.address)
    assert again.code == 1 and again.error_lines() == [f"error: {token.address} is under review already "
                                                       f"(request {rid})"]


@pytest.mark.parametrize("args,line", [
    (("list-token", "--listing", "0x12", "--token", "0x" + "12" * 20), "error: --listing '0x12' is not an address"),
    (("list-token", "--listing", "0x" + "12" * 20, "--token", "0x12"), "error: --token '0x12' is not an address"),
    (("status", "--listing", "0x12", "--token", "0x" + "12" * 20), "error: --listing '0x12' is not an address"),
    (("score", "--address", "nope"), "error: --address 'nope' is not an address"),
])
def test_risk__malformed_address__one_line_error(run_cli, economy, args, line):
    ran = run_cli("risk", *args)
    assert ran.code == 1 and ran.error_lines() == [f"{line} (0x and 40 hex digits)"], ran.out


def test_score__account_without_code__one_line_error(run_cli, economy, accounts):
    ran = run_cli("risk", "score", "--address", accounts[9].address)
    assert ran.code == 1 and ran.error_lines()[0].startswith(f"error: no contract code at {accounts[9].address}")


def test_score__future_block__one_line_error(run_cli, economy, tokens):
    ran = run_cli("risk", "score", "--address", tokens["safe"].address, "--block", str(10**9))
    assert ran.code == 1 and "is not mined yet" in ran.error_lines()[0]


def test_demo__unknown_models_section__one_line_error(run_cli):
    ran = run_cli("demo", "--models", "digits,nope")
    assert ran.code == 1 and ran.error_lines() == [
        "error: --models 'digits,nope': use all or a comma-separated list of digits, minilm, nft, risk"]
