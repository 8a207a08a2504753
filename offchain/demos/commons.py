"""The commons loop: data bounty, contributions, validation, campaign,
funding, queue, training, acceptance, paid inferences, and revenue reaching
the backers and the data contributors of the model trained here."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from eth_utils import keccak

from offchain import contributions
from offchain import inputs
from offchain.cli import ETH, advance_time, console, fmt_eth, fmt_tokens, table
from offchain.client import InferenceClient
from offchain.demos.inference import DEMO_IN_FLIGHT, DemoSummary
from offchain.deploy import DAY, deploy_system
from offchain.governance import Proposal, acceptance, pass_locally
from offchain.market import stake_for
from offchain.runtime import load_runtime
from offchain.server import ResultServer
from offchain.store import ContentStore
from offchain.trainer import Trainer, _build_module, dataset_document
from offchain.worker import InferenceWorker


@dataclass
class CommonsSummary(DemoSummary):
    samples: int = 0
    accuracy: float = 0.0
    rows: list[tuple] = field(default_factory=list)  # (who, role, data reward, shares, ETH withdrawn)


def run(project, accounts, *, requests: int = 20, workdir: Path | None = None) -> CommonsSummary:
    from ape import chain

    deployer, alice, bob, carol, v1, trainer_account, app_builder, v2, c3, backer2 = (accounts[i] for i in range(10))
    contributors = {"carol": carol, "c3 (data)": c3, "alice": alice}
    workdir = Path(workdir or tempfile.mkdtemp(prefix="nc-commons-"))
    summary = CommonsSummary(requests=requests)
    d = deploy_system(project, deployer)
    token, bounties, fund, shares, market = (d.GovernanceToken, d.DataBounties, d.TrainingFund, d.ModelShares,
                                             d.InferenceMarket)
    for holder, amount in ((alice, 30_000_000), (bob, 20_000_000)):
        token.transfer(holder, amount * ETH, sender=deployer)
        token.invoke_transaction("delegate", holder, sender=holder)
    advance_time(1)
    gas = summary.gas

    # 1. The DAO posts a bounty for labelled digits.
    reward = 1 * ETH  # tokens per labelled digit
    bounty_call = Proposal("Bounty: labelled handwritten digits").call(
        bounties, "open_bounty", "nc://specs/digits-8x8", reward, 2_000 * reward,
        chain.pending_timestamp + 60 * DAY, [v1, v2], 2, DAY)
    pass_locally(d.Governor, bounty_call, alice, [alice, bob])
    bounty_id = bounties.bounty_count()
    console.print(f"bounty {bounty_id} opened by the DAO")

    # 2. Contributors submit slices of the training data; validators accept them.
    build = _build_module()
    x_train, _, y_train, _ = build.held_out_split()
    slices = np.array_split(np.arange(len(y_train)), len(contributors))
    data_dir = workdir / "contributions"
    data_dir.mkdir(parents=True, exist_ok=True)
    for (name, who), idx in zip(contributors.items(), slices, strict=True):
        document = dataset_document(x_train[idx], y_train[idx])
        path = data_dir / f"{name.split()[0]}.json"
        path.write_bytes(document)
        contribution, (committed, submitted) = contributions.submit(
            bounties, bounty_id, keccak(document), f"file://{path.name}", len(idx), sender=who)
        gas.setdefault("commit contribution", committed.gas_used)
        gas.setdefault("submit contribution", submitted.gas_used)
        for validator in (v1, v2):
            gas.setdefault("validator vote", bounties.vote(contribution, True, sender=validator).gas_used)
    advance_time(DAY + 1)
    for contribution in range(1, bounties.contribution_count() + 1):
        gas.setdefault("claim data reward", bounties.claim_reward(contribution, sender=v1).gas_used)
    console.print(f"{bounties.contribution_count()} contributions accepted and rewarded; "
                  f"dataset weight {bounties.dataset_total_weight(bounty_id)}")

    # 3. A campaign to train on that dataset; backers fund it; it enters the queue.
    tx = fund.open_campaign("nc://specs/community-digits", [bounty_id], 3 * ETH,
                            chain.pending_timestamp + 7 * DAY, 2 * DAY, sender=carol)
    gas["open campaign"] = tx.gas_used
    campaign = tx.decode_logs(fund.CampaignOpened)[0].campaign_id
    gas["back campaign"] = fund.back(campaign, sender=app_builder, value=2 * ETH).gas_used
    fund.back(campaign, sender=backer2, value=1 * ETH)
    advance_time(7 * DAY + 1)
    gas["close funding (enqueue)"] = fund.close_funding(campaign, sender=carol).gas_used
    console.print(f"campaign {campaign} funded with 3 ETH; queue {list(fund.queue())}")

    # 4. A staked trainer takes the head of the queue, trains on the verified data, delivers.
    # The stake covers the queue's penalty and every paid request the trainer's worker claims at once.
    stake = stake_for(d.InferenceMarket, d.WorkerRegistry, DEMO_IN_FLIGHT)
    token.transfer(trainer_account, stake, sender=deployer)
    token.approve(d.WorkerRegistry, stake, sender=trainer_account)
    results = ContentStore(workdir / "results")
    server = ResultServer(results).start()
    try:
        d.WorkerRegistry.register(trainer_account, server.url, stake, sender=trainer_account)
        trainer = Trainer(fund, bounties, trainer_account, ContentStore(workdir / "models"), workdir / "trained",
                          file_root=data_dir)
        delivery = trainer.run()
        summary.samples, summary.accuracy = delivery.samples, delivery.accuracy
        gas.update(delivery.gas)
        console.print(f"trained on {delivery.samples} community digits: held-out accuracy {delivery.accuracy:.2%}")

        # 5. The DAO accepts the delivery and lists the model in one proposal; the fund holds the shares
        #    and records who is entitled to what.
        gas["DAO execute: accept (register, record entitlements) + list"] = pass_locally(
            d.Governor, acceptance(fund, d.ModelRegistry, campaign, 10**15), alice, [alice, bob])["execute"].gas_used
        model_id = fund.campaigns(campaign).model_id
        console.print(f"model {model_id} accepted, shares held for their owners, listed: "
                      f"{d.ModelRegistry.model_terms(model_id)[0]}")

        # 6. Paid inferences served by the trainer's worker; results verified; settled.
        runtime = load_runtime(delivery.spec, expected_hash=bytes(d.ModelRegistry.models(model_id).artifact_hash))
        agent = InferenceWorker(market, trainer_account, trainer_account.private_key, {model_id: runtime}, results,
                                workdir / "worker.json", server.result_url)
        client = InferenceClient(market, app_builder)
        _, x_test, _, _ = build.held_out_split()
        ids = [client.request(model_id, inputs.encode_pixels(p)) for p in x_test[:requests]]
        agent.step()
        summary.verified = sum(1 for i in ids if client.fetch(i, delivery.spec))
        advance_time(market.params().challenge_window + 1)
        agent.step()
    finally:
        server.stop()

    # 7. Everyone claims its shares (with the revenue they earned while the fund held them) and withdraws.
    people = [("app builder", app_builder, "backer (2 ETH)"), ("backer2", backer2, "backer (1 ETH)"),
              *[(name, who, "data contributor") for name, who in contributors.items()],
              ("trainer", trainer_account, "trainer")]
    for name, who, role in people:
        claim = fund.claim_shares(campaign, who, sender=who)
        gas.setdefault("claim shares (+ revenue earned while held)", claim.gas_used)
        withdrawn = claim.decode_logs(fund.SharesClaimed)[0].revenue  # revenue earned before the claim
        if fund.owed(who):
            fund.withdraw(sender=who)  # that revenue, and for the trainer its payment
        owned = shares.balanceOf(who, model_id)
        if shares.withdrawable_revenue(who, [model_id]):  # revenue earned after the claim, if any
            withdrawn += shares.withdraw_revenue([model_id], sender=who).decode_logs(shares.RevenueWithdrawn)[0].amount
        data_reward = bounties.dataset_weight(bounty_id, who) * reward
        summary.rows.append((name, role, fmt_tokens(data_reward), f"{owned:,}", fmt_eth(withdrawn)))
    return summary


def print_summary(summary: CommonsSummary) -> None:
    console.print(table("The model the commons trained", ["what", "value"], [
        ("community digits trained on", summary.samples),
        ("held-out accuracy", f"{summary.accuracy:.2%}"),
        ("paid inferences, results verified", f"{summary.verified} / {summary.requests}"),
    ]))
    console.print(table("Who got what", ["who", "role", "data reward (NCOM)", "model shares (of 1,000,000)",
                                          "inference revenue withdrawn (ETH)"], summary.rows))
    console.print(table("Gas of each step", ["step", "gas"], summary.gas.items()))
