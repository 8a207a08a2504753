"""Contributors, validators, backers and a trainer using `ape run bounty` and
`ape run campaign` as separate processes against anvil."""

import os
import re
import subprocess
import sys

from ape import chain
from eth_utils import keccak

import offchain.deploy
from offchain import contributions
from offchain.demos.inference import WORKER_ACCOUNTS, stake
from offchain.governance import Proposal, pass_locally
from offchain.trainer import _build_module, dataset_document
from tests.e2e.anvil import ROOT
from tests.utils.constants import DAY

QUEUED, TRAINING = 3, 4
NETWORK = ["--network", "ethereum:local:foundry"]


def ape_run(*args: str, account: int | None = None, status: int = 0) -> str:
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    command = ["ape", "run", *args, *NETWORK]
    if account is not None:
        command += ["--account", f"TEST::{account}"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == status, output
    return output


def one_error(output: str) -> str:
    """The CLI's error message, unwrapped; there must be exactly one and no traceback."""
    assert "Traceback" not in output, output
    assert output.count("error:") == 1, output
    return " ".join(output[output.index("error:"):].split())


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

    # The DAO accepts; the backer claims its half of the shares to another address it controls.
    accept = Proposal("accept the community digits model").call(d.TrainingFund, "accept", 1, 10**15)
    pass_locally(d.Governor, accept, accounts[0], [accounts[0]])
    model = d.TrainingFund.campaigns(1).model_id
    out = " ".join(ape_run("campaign", "claim-shares", "1", "--to", accounts[8].address, account=6).split())
    assert f"campaign 1: 500,000 shares of model {model} to {accounts[8].address}" in out
    assert d.ModelShares.balanceOf(accounts[8], model) == 500_000
    assert "no shares to claim" in one_error(ape_run("campaign", "claim-shares", "1", account=6, status=1))


def test_campaign_train__malformed_dataset__refused_unclaimed__stuck_claim_ends_by_miss(anvil, project, accounts,
                                                                                      tmp_path):
    d = offchain.deploy.deploy_system(project, accounts[0])
    d.GovernanceToken.invoke_transaction("delegate", accounts[0], sender=accounts[0])
    chain.mine(timestamp=chain.pending_timestamp + 1)
    bounty = Proposal("digits bounty").call(d.DataBounties, "open_bounty", "nc://digits", 10**18, 10_000 * 10**18,
                                            chain.pending_timestamp + 90 * DAY, [accounts[3], accounts[4]], 2, DAY)
    pass_locally(d.Governor, bounty, accounts[0], [accounts[0]])
    trainer = accounts[WORKER_ACCOUNTS[0]]
    stake(d, accounts[0], trainer, "http://127.0.0.1:8601")
    offchain.deploy.save_deployment(d)
    bounties, fund = d.DataBounties, d.TrainingFund
    # A contribution the validators accepted, whose bytes match their hash, but are not digits.
    document = b"[not, json"
    (tmp_path / "bad.json").write_bytes(document)
    contributions.submit(bounties, 1, keccak(document), "file://bad.json", 50, sender=accounts[1])
    for validator in (accounts[3], accounts[4]):
        bounties.vote(1, True, sender=validator)
    chain.mine(timestamp=chain.pending_timestamp + DAY + 1)
    bounties.claim_reward(1, sender=accounts[1])
    fund.open_campaign("nc://digits", [1], 10**18, chain.pending_timestamp + DAY, 2 * DAY, sender=accounts[3])
    fund.back(1, sender=accounts[6], value=10**18)
    chain.mine(timestamp=chain.pending_timestamp + DAY + 1)
    fund.close_funding(1, sender=accounts[3])

    out = ape_run("campaign", "train", "--out", str(tmp_path / "trained"), "--data-root", str(tmp_path),
                  account=WORKER_ACCOUNTS[0], status=1)
    assert one_error(out).startswith("error: campaign 1 not claimed: its data cannot be used: contribution 1 is not "
                                     "a labelled-digits document (JSONDecodeError")
    assert fund.campaigns(1).state == QUEUED and list(fund.queue()) == [1]
    assert list(fund.TrainingClaimed.range(0, None)) == []

    # A trainer that claimed (and then crashed) cannot deliver from this data: retrying says how the claim ends.
    fund.claim_head(sender=trainer)
    out = ape_run("campaign", "train", "--resume", "1", "--out", str(tmp_path / "trained"), "--data-root",
                  str(tmp_path), account=WORKER_ACCOUNTS[0], status=1)
    message = one_error(out)
    assert message.startswith("error: campaign 1 is claimed but not delivered: BadInput: contribution 1")
    assert "ape run campaign miss 1" in message
    assert fund.campaigns(1).state == TRAINING
    assert "delivery deadline not passed" in one_error(ape_run("campaign", "miss", "1", account=7, status=1))
    chain.mine(timestamp=fund.campaigns(1).delivery_deadline + 1)
    out = " ".join(ape_run("campaign", "miss", "1", account=7).split())
    assert f"campaign 1: queued again; trainer {trainer.address} penalised" in out
    assert fund.campaigns(1).state == QUEUED and list(fund.queue()) == [1]
    assert d.WorkerRegistry.missed(trainer) == 1

    # Another trainer claims and gives the campaign up at once: same penalty, no wait, back in the queue.
    second = accounts[9]
    stake(d, accounts[0], second, "http://127.0.0.1:8602")
    fund.claim_head(sender=second)
    assert "caller is not the trainer" in one_error(ape_run("campaign", "release", "1", account=7, status=1))
    out = " ".join(ape_run("campaign", "release", "1", account=9).split())
    assert "campaign 1: queued; released, penalised" in out
    assert d.WorkerRegistry.locked(second) == 0 and d.WorkerRegistry.missed(second) == 1
