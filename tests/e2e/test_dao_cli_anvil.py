"""`ape run deploy` and `ape run dao` as separate processes against a real anvil node:
the terminal-governance path a DAO member uses."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.e2e.anvil import ROOT, running_anvil

NETWORK = ["--network", "ethereum:local:foundry"]


@pytest.fixture(scope="module")
def anvil():
    with running_anvil() as port:
        yield port


@pytest.fixture(scope="module")
def ape_run(tmp_path_factory):
    deployments = tmp_path_factory.mktemp("deployments")
    env = {**os.environ, "NC_DEPLOYMENTS_DIR": str(deployments)}
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}"

    def run(*args: str, ok: bool = True) -> str:
        result = subprocess.run(
            ["ape", "run", *args, *NETWORK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
        )
        output = result.stdout + result.stderr
        assert (result.returncode == 0) == ok, output
        return output

    run.deployments = deployments
    return run


def test_dao_cli__full_proposal_lifecycle_on_anvil(anvil, ape_run):
    out = ape_run("deploy")
    record = json.loads((ape_run.deployments / "ethereum-local-foundry.json").read_text())
    assert set(record["contracts"]) == {
        "GovernanceToken", "Timelock", "Governor", "ModelShares", "ModelRegistry", "WorkerRegistry", "InferenceMarket",
        "PaymentChannels", "DisputeCourt", "DataBounties", "TrainingFund",
    }
    assert record["chain_id"] == 31337
    assert "wrote" in out

    assert "100,000,000" in ape_run("dao", "delegate")
    ape_run("dao", "advance", "10")
    out = ape_run("dao", "propose", "Open listing", "--action", "ModelRegistry.set_open_listing(true)")
    short, full = re.search(r"proposal ([0-9a-f]{10}) submitted \(full id (\d+)\)", out).groups()
    proposal_id = short  # the short id is what users type; the full one works too
    assert f"{int(full):064x}".startswith(short)
    assert "Pending" in out

    out = ape_run("dao", "vote", proposal_id, "for", ok=False)
    assert out.strip().splitlines() == ["error: Governor: vote not currently active"], out  # no call trace

    ape_run("dao", "advance", "1d")
    ape_run("dao", "advance", "1s")
    assert "voted for with 100,000,000 votes" in ape_run("dao", "vote", proposal_id, "for", "--reason", "faster")
    ape_run("dao", "advance", str(5 * 86_400 + 1))
    assert "Queued" in ape_run("dao", "queue", proposal_id)
    ape_run("dao", "advance", str(2 * 86_400 + 1))
    assert "Executed" in ape_run("dao", "execute", proposal_id)
    assert "Executed" in ape_run("dao", "status")
    assert full in ape_run("dao", "status", "--full-ids")
    assert "Executed" in ape_run("dao", "status", full)

    out = ape_run("dao", "execute", proposal_id, ok=False)
    assert "error: Governor: proposal not queued" in out


def test_dao_cli__unknown_contract__one_line_error(anvil, ape_run):
    out = ape_run("dao", "propose", "x", "--action", "Treasury.pay(1)", ok=False)
    assert "error: unknown contract 'Treasury'" in out


def test_dao_cli__action_that_would_revert__refused_before_proposing(anvil, ape_run):
    """Simulated as the timelock with a real node's eth_call: the proposal is never submitted."""
    before = ape_run("dao", "status")
    out = ape_run("dao", "propose", "Zero voting", "--action", "Governor.setVotingPeriod(0)", ok=False)
    lines = [line for line in out.splitlines() if line.startswith("error:")]
    assert lines == ["error: action 1 would revert when the timelock executes it: Governor: voting period is zero "
                     "(fix it, or --no-simulate if it depends on an earlier action)"], out
    assert "Traceback" not in out
    assert ape_run("dao", "status") == before


def test_dao_cli__grant_beyond_the_treasury__refused(anvil, ape_run):
    out = ape_run("dao", "propose", "Grant", "--send-eth", "0x" + "12" * 20, "1000 ether", ok=False)
    assert "error: the proposal sends 1,000.000000 ETH but the treasury holds" in out

