"""Contributors, validators, backers and a trainer using `ape run bounty` and
`ape run campaign` as separate processes against anvil."""

import os
import re
import subprocess
import sys

from ape import chain

import offchain.deploy
from offchain.demos.inference import WORKER_ACCOUNTS, stake
from offchain.governance import Proposal, pass_locally
from offchain.trainer import _build_module, dataset_document
from tests.e2e.anvil import ROOT

DAY = 86_400
NETWORK = ["--network", "ethereum:local:foundry"]


def ape_run(*args: str, account: int | None = None) -> str:
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    command = ["ape", "run", *args, *NETWORK]
    if account is not None:
        command += ["--account", f"TEST::{account}"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_commons_commands__data_to_delivered_model(anvil, project, accounts, tmp_path):
    d = offchain.deploy.deploy_system(project, accounts[0])
    token = d.GovernanceToken
    token.invoke_transaction("delegate", accounts[0], sender=accounts[0])
    chain.mine(timestamp=chain.pending_timestamp + 1)
    bounty = Proposal("digits bounty").call(d.DataBounties, "open_bounty", "nc://digits", 10**18, 10_000 * 10**18,
                                            chain.pending_timestamp + 90 * DAY, [accounts[3], accounts[4]], 2, DAY)
    pass_locally(d.Governor, bounty, accounts[0], [accounts[0]])
    stake(d, accounts[0], accounts[WORKER_ACCOUNTS[0]], "http://127.0.0.1:8601")
    offchain.deploy.save_deployment(d)

    build = _build_module()
    x, _, y, _ = build.held_out_split()
    data = tmp_path / "part.json"
    data.write_bytes(dataset_document(x[:600], y[:600]))

    out = ape_run("bounty", "submit", "1", str(data), "--items", "600", account=1)
    contribution = re.search(r"contribution (\d+)", out).group(1)
    ape_run("bounty", "vote", contribution, "accept", account=3)
    assert "accepted" in ape_run("bounty", "vote", contribution, "accept", account=4)
    ape_run("dao", "advance", str(DAY + 1))
    assert "rewarded 600 NCOM" in ape_run("bounty", "claim", contribution, account=2)
    assert "600" in ape_run("bounty", "list")

    ape_run("campaign", "open", "nc://community-digits", "--dataset", "1", "--goal-eth", "1", "--days", "1",
            account=3)
    assert "raised 1.000000 ETH" in ape_run("campaign", "back", "1", "--eth", "1", account=6)
    ape_run("dao", "advance", str(DAY + 1))
    assert "queued" in ape_run("campaign", "close", "1")
    out = ape_run("campaign", "train", "--out", str(tmp_path / "trained"), "--data-root", str(tmp_path),
                  account=WORKER_ACCOUNTS[0])
    assert "trained on 600 items" in out
    assert "delivered" in ape_run("campaign", "list")
    assert d.TrainingFund.campaigns(1).state == 5
