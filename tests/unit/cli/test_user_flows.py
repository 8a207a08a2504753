"""The new commands' happy paths, in-process on the embedded chain: what each prints, and the chain state
it leaves (the fixture: digits listed as model 1, accounts[5] a staked worker, the deployer by default)."""

import re

from ape import chain

from tests.unit.cli.conftest import SCRIPTS

ETH = 10**18
SAMPLE = str(SCRIPTS.parent / "models" / "digits" / "sample.json")


def ok(ran) -> str:
    assert ran.code == 0, ran.out
    assert "error:" not in ran.out
    return ran.out


def test_token__transfer_delegate_balance(cli_system, run_cli, accounts):
    token, carol = cli_system.GovernanceToken, accounts[3]
    before = token.balanceOf(carol)
    assert "sent 2.500000 NCOM" in ok(run_cli("token", "transfer", carol.address, "2.5"))
    assert "sent 0.000000001 NCOM" in ok(run_cli("token", "transfer", carol.address, "1 gwei"))
    assert token.balanceOf(carol) == before + 25 * ETH // 10 + 10**9
    ok(run_cli("token", "delegate", "--account", "TEST::3"))
    assert token.delegates(carol) == carol.address
    out = ok(run_cli("token", "balance", carol.address))
    assert "delegates to" in out and carol.address in out


def test_model__register_show_price(cli_system, run_cli, accounts):
    registry, author = cli_system.ModelRegistry, accounts[8]
    out = ok(run_cli("model", "register", "models/digits/manifest.json", "--price", "500 gwei",
                     "--shareholder", f"{author.address}=600", "--shareholder", f"{accounts[9].address}=400",
                     "--account", "TEST::8"))
    model_id = int(re.search(r"model (\d+)", out).group(1))
    assert "pending" in out
    assert registry.models(model_id).price == 500 * 10**9
    assert registry.models(model_id).owner == author.address
    ok(run_cli("model", "price", str(model_id), "0.002 ether", "--account", "TEST::8"))
    assert registry.models(model_id).price == 2 * 10**15
    out = ok(run_cli("model", "show", str(model_id)))
    assert "pending" in out and "60.00%" in out and "40.00%" in out
    assert str(model_id) in ok(run_cli("model", "list"))


def test_worker__register_status_unbond_withdraw(cli_system, run_cli, accounts):
    workers, token, dave = cli_system.WorkerRegistry, cli_system.GovernanceToken, accounts[6]
    minimum = workers.min_stake()
    ok(run_cli("token", "transfer", dave.address, str(2 * minimum // ETH)))
    out = ok(run_cli("worker", "register", "--stake", str(minimum // ETH), "--endpoint", "http://127.0.0.1:9",
                     "--account", "TEST::6"))
    assert "registered" in out
    assert workers.workers(dave).stake == minimum
    ok(run_cli("worker", "stake", "10", "--account", "TEST::6"))
    assert workers.workers(dave).stake == minimum + 10 * ETH
    out = ok(run_cli("worker", "status", dave.address))
    assert "free (NCOM)" in out and "no (bonded)" in out
    assert "unbonding: withdraw from" in ok(run_cli("worker", "unbond", "--account", "TEST::6"))
    ran = run_cli("worker", "withdraw", "--account", "TEST::6")
    assert ran.code == 1 and "the unbonding delay ends" in ran.out
    ok(run_cli("dao", "advance", f"{workers.unbonding_delay() + 1}s"))
    held = token.balanceOf(dave)
    ok(run_cli("worker", "withdraw", "--account", "TEST::6"))
    assert token.balanceOf(dave) == held + minimum + 10 * ETH


def test_worker_start__dry_run__prints_the_silverback_command(cli_system, run_cli):
    out = ok(run_cli("worker", "start", "--dry-run", "--account", "TEST::5", "--models", "digits"))
    assert ("NC_MODELS=digits silverback run bots.worker:bot --runner bots.runner:WorkerRunner "
            "--network ethereum:local:test --account TEST::5") in out


def test_worker_verify__dry_run__joins_the_pool_once_and_prints_the_verifier_command(cli_system, run_cli, accounts):
    court, worker = cli_system.DisputeCourt, accounts[5]
    out = ok(run_cli("worker", "verify", "--dry-run", "--account", "TEST::5", "--models", "digits"))
    assert "joined the verifier pool of digits (model 1)" in out
    assert ("NC_MODELS=digits silverback run bots.verifier:bot --runner bots.runner:WorkerRunner "
            "--network ethereum:local:test --account TEST::5") in out
    assert court.is_member(1, worker) and worker.address in list(court.pool(1))
    again = ok(run_cli("worker", "verify", "--dry-run", "--account", "TEST::5", "--models", "digits"))
    assert "already in the verifier pool of digits (model 1)" in again
    assert list(court.pool(1)).count(worker.address) == 1


def test_worker_verify__not_a_worker__refused(cli_system, run_cli):
    ran = run_cli("worker", "verify", "--dry-run", "--account", "TEST::3", "--models", "digits")
    assert ran.code == 1 and "is not a registered worker" in ran.out


def test_infer__several_inputs__one_batched_transaction(cli_system, run_cli):
    market = cli_system.InferenceMarket
    before = market.request_count()
    out = ok(run_cli("infer", "--model", "digits", "--input", SAMPLE, "--input", SAMPLE, "--input", SAMPLE,
                     "--no-wait", "--ttl", "1m"))
    ids = [int(i) for i in re.findall(r"request (\d+): paid", out)]
    assert ids == [before + 1, before + 2, before + 3]
    views = [market.get_request(i) for i in ids]
    assert [v.state for v in views] == [1, 1, 1]
    logs = [log for log in market.InferenceRequested.range(0, None) if log.request_id in ids]
    assert len({log.transaction_hash for log in logs}) == 1  # one transaction for the three
    assert len({v.deadline for v in views}) == 1
    assert [v.payment for v in views] == [market.quote(views[0].model_id)] * 3


def test_infer__no_wait_list_refund_withdraw(cli_system, run_cli, accounts):
    market = cli_system.InferenceMarket
    out = ok(run_cli("infer", "--model", "digits", "--input", SAMPLE, "--no-wait", "--ttl", "1m",
                     "--url", "https://inputs.example/sample.json"))
    request_id = int(re.search(r"request (\d+)", out).group(1))
    assert market.get_request(request_id).state == 1
    assert "requested" in ok(run_cli("infer", "list"))
    ran = run_cli("infer", "refund", str(request_id))
    assert ran.code == 1 and "may still be served until" in ran.out
    ok(run_cli("dao", "advance", "2m"))
    ok(run_cli("infer", "refund", str(request_id)))
    assert market.get_request(request_id).state == 6
    paid = market.owed(accounts[0])
    balance = accounts[0].balance
    receipt_out = ok(run_cli("infer", "withdraw"))
    assert "withdrew" in receipt_out
    assert market.owed(accounts[0]) == 0
    assert accounts[0].balance > balance + paid - ETH // 100  # less gas


def test_channel__open_fund_status_close_withdraw(cli_system, run_cli, accounts, tmp_path):
    channels, worker = cli_system.PaymentChannels, accounts[5].address
    out = ok(run_cli("channel", "open", worker, "1", "--deposit", "0.01 ether", "--account", "TEST::7"))
    channel_id = re.search(r"channel (0x[0-9a-f]{64})", out).group(1)
    raw = bytes.fromhex(channel_id[2:])
    assert channels.channels(raw).deposit == ETH // 100
    ok(run_cli("channel", "fund", channel_id, "5000000 gwei", "--account", "TEST::7"))
    assert channels.channels(raw).deposit == ETH // 100 + 5 * 10**15
    assert "open" in ok(run_cli("channel", "status", channel_id, "--state-dir", str(tmp_path)))
    assert channel_id in ok(run_cli("channel", "list", "--account", "TEST::7"))
    assert "close requested" in ok(run_cli("channel", "close", channel_id, "--account", "TEST::7"))
    ran = run_cli("channel", "close", channel_id, "--account", "TEST::7")
    assert ran.code == 1 and "the close delay ends" in ran.out
    ok(run_cli("dao", "advance", f"{channels.params().close_delay + 1}s"))
    ok(run_cli("channel", "close", channel_id, "--account", "TEST::7"))
    assert channels.channels(raw).closed
    assert channels.owed(accounts[7]) == 15 * 10**15
    ok(run_cli("channel", "withdraw", "--account", "TEST::7"))
    assert channels.owed(accounts[7]) == 0


def test_dao__list_argument_short_ids_and_vote(cli_system, run_cli, accounts):
    governor = cli_system.Governor
    out = ok(run_cli("dao", "propose", "Open a bounty",
                     "--action", "DataBounties.open_bounty('nc://spec, v1', 10e18, 1000e18, 4000000000, "
                     f"[{accounts[1].address}, {accounts[2].address}], 1, 86400)"))
    short, full = re.search(r"proposal ([0-9a-f]{10}) submitted \(full id (\d+)\)", out).groups()
    assert f"{int(full):064x}".startswith(short)
    assert governor.state(int(full)) == 0
    assert short in ok(run_cli("dao", "status"))
    assert full in ok(run_cli("dao", "status", "--full-ids"))
    ok(run_cli("dao", "advance", f"{governor.votingDelay() + 1}s"))
    assert "voted for" in ok(run_cli("dao", "vote", short, "for"))
    assert governor.hasVoted(int(full), accounts[0])
    out = ok(run_cli("dao", "status", short))
    assert "UTC" in out and "Active" in out


def test_dao_advance__moves_the_clock_by_the_duration(cli_system, run_cli):
    before = chain.blocks.head.timestamp
    assert "advanced 6h" in ok(run_cli("dao", "advance", "6h"))
    assert chain.blocks.head.timestamp >= before + 6 * 3_600


def test_treasury__balance_and_owed(cli_system, run_cli):
    assert "ETH held" in ok(run_cli("treasury", "balance"))
    assert "InferenceMarket" in ok(run_cli("treasury", "owed"))
