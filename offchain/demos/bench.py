"""Gas measurements from real transactions, shared by the bench scripts and their tests."""

from __future__ import annotations

from offchain.cli import ETH, advance_time, advance_to
from offchain.deploy import deploy_system
from offchain.governance import Proposal, Support


def governance_gas(project, accounts) -> list[tuple[str, int]]:
    """Deploys a fresh system and returns (operation, gas used) rows."""
    deployer, alice, bob, carol = accounts[:4]
    d = deploy_system(project, deployer)
    token, governor = d.GovernanceToken, d.Governor
    rows: list[tuple[str, int]] = []

    def record(label: str, receipt) -> None:
        rows.append((label, receipt.gas_used))

    token.transfer(alice, 30_000_000 * ETH, sender=deployer)
    token.transfer(bob, 20_000_000 * ETH, sender=deployer)
    record("delegate (first, to self)", token.invoke_transaction("delegate", alice, sender=alice))
    token.invoke_transaction("delegate", bob, sender=bob)
    advance_time(1)
    record("transfer (both delegated, warm)", token.transfer(bob, 1 * ETH, sender=alice))
    record("transfer (to a new holder)", token.transfer(carol, 1 * ETH, sender=alice))
    record("delegate (re-delegate)", token.invoke_transaction("delegate", bob, sender=carol))
    record("deposit_revenue", token.deposit_revenue(sender=deployer, value=1 * ETH))
    record("withdraw_revenue", token.withdraw_revenue(sender=alice))

    routine = Proposal("bench: open listing").call(d.ModelRegistry, "set_open_listing", True)
    record(
        "propose (1 routine action)",
        governor.propose(routine.targets, routine.values, routine.calldatas, routine.description, sender=alice),
    )
    markdown = ("# Bench proposal\n\n" + "- label the next batch of digits and publish them\n" * 500)[:20_000]
    long = Proposal(markdown).call(d.ModelRegistry, "set_open_listing", True)
    record(
        "propose (20,000-byte description)",
        governor.propose(long.targets, long.values, long.calldatas, long.description, sender=alice),
    )
    proposal = Proposal("bench: shorten voting period").call(governor, "setVotingPeriod", 3 * 86_400)
    record(
        "propose (1 critical action)",
        governor.propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description, sender=alice),
    )
    proposal_id = proposal.id(governor)
    advance_time(governor.votingDelay() + 1)
    record("castVote", governor.castVote(proposal_id, Support.For, sender=alice))
    record("castVoteWithReason", governor.castVoteWithReason(proposal_id, Support.Against, "no", sender=bob))
    advance_to(governor.proposalDeadline(proposal_id) + 1)
    record("queue (1 action)", governor.queue(*proposal.args(), sender=alice))
    advance_to(governor.proposalEta(proposal_id) + 1)
    record("execute (1 action)", governor.execute(*proposal.args(), sender=alice))

    # Why the Governor schedules one timelock operation per action: snekmate's
    # batch entry point sizes memory for 255 payloads of 1 KiB.
    bare = deployer.deploy(project.Timelock, 0, [deployer], [deployer], "0x" + "00" * 20)
    salt, zero = b"\x01" * 32, b"\x00" * 32
    record("timelock.schedule_batch (1 action)", bare.schedule_batch([alice], [0], [b""], zero, salt, 0, sender=deployer))
    record("timelock.schedule (1 action)", bare.schedule(alice, 0, b"", zero, salt, 0, sender=deployer))
    return rows


BATCH_SIZES = (1, 10, 100)
EIP170_LIMIT = 24_576  # bytes of deployed code a contract may have (EIP-170)


def code_sizes(project, accounts) -> list[tuple[str, str, str, str]]:
    """Deployed bytecode size of every contract of a fresh system against the
    EIP-170 limit: rows of (contract, bytes, share of the limit, headroom)."""
    from ape import chain

    d = deploy_system(project, accounts[0])
    rows = []
    for name, contract in sorted(d.contracts.items()):
        size = len(chain.provider.get_code(contract.address))
        rows.append((name, f"{size:,}", f"{size / EIP170_LIMIT:.0%}", f"{EIP170_LIMIT - size:,}"))
    return rows


def setup_market(project, accounts, *, price: int = 10**15):
    """A fresh system with one approved model and one staked worker. Returns
    (deployment, model_id, worker, requester)."""
    from offchain.governance import Proposal, pass_locally
    from offchain.market import MARKET_BATCH, stake_for

    deployer, worker, requester, author = accounts[0], accounts[5], accounts[6], accounts[8]
    d = deploy_system(project, deployer)
    token, registry, workers = d.GovernanceToken, d.ModelRegistry, d.WorkerRegistry
    token.invoke_transaction("delegate", deployer, sender=deployer)
    # A batch of MARKET_BATCH claims in flight (a claim locks stake until it settles), and room for the
    # slashes the benchmark causes.
    stake = stake_for(d.InferenceMarket, workers, MARKET_BATCH) + workers.min_stake()
    token.transfer(worker, stake, sender=deployer)
    token.approve(workers, stake, sender=worker)
    workers.register(worker, "http://127.0.0.1:0", stake, sender=worker)
    registry.register_model(b"\x11" * 32, b"\x22" * 32, "bench", price, [author], [1], sender=author)
    model_id = registry.model_count()
    advance_time(1)
    pass_locally(d.Governor, Proposal(f"approve model {model_id}").call(registry, "approve_model", model_id),
                 deployer, [deployer])
    return d, model_id, worker, requester


def market_gas(project, accounts) -> tuple[list[tuple[str, int]], list[tuple]]:
    """Gas of single market operations, and of the batched forms per request.

    Returns (single rows [(operation, gas)], batch rows [(size, request (batched), claim, fulfil,
    finalize, request + claim + fulfil + finalize: the lifecycle gas per inference)]), gas per request.
    The first `request_inference` of a new requester also gives it its account id (two fresh words,
    once); `request gas (typical)` is a later one.
    """
    from ape import chain
    from eth_utils import keccak

    from offchain.attestation import ResultClaim, sign_result

    d, model_id, worker, requester = setup_market(project, accounts)
    market = d.InferenceMarket
    window = market.params().challenge_window
    payment = market.quote(model_id)
    result_hash = keccak(b"bench result")

    def new_requests(n: int, ttl: int = 86_400) -> tuple[list[int], list]:
        receipts = []
        for i in range(n):
            receipts.append(market.request_inference(
                model_id, keccak(i.to_bytes(8, "big")), "data:,bench", chain.pending_timestamp + ttl,
                sender=requester, value=payment))
        last = market.request_count()
        return list(range(last - n + 1, last + 1)), receipts

    def sign(request_id: int) -> bytes:
        state = market.get_request(request_id)
        claim = ResultClaim(request_id, state.model_id, bytes(state.hash), result_hash)
        return sign_result(worker.private_key, claim, chain_id=chain.chain_id, market=str(market.address))

    def batch_request(n: int, ttl: int = 86_400) -> tuple[list[int], int]:
        receipt = market.request_inference_batch(
            model_id, [keccak(b"batch" + i.to_bytes(8, "big")) for i in range(n)], ["data:,bench"] * n,
            chain.pending_timestamp + ttl, sender=requester, value=payment * n)
        last = market.request_count()
        return list(range(last - n + 1, last + 1)), receipt.gas_used

    single: list[tuple[str, int]] = []
    (_,), (first,) = new_requests(1)
    single.append(("request gas (first, new requester)", first.gas_used))
    (rid,), (receipt,) = new_requests(1)
    single.append(("request gas (typical)", receipt.gas_used))
    single.append(("claim", market.claim(rid, sender=worker).gas_used))
    single.append(("fulfill", market.fulfill(rid, result_hash, "http://w/r", sign(rid), sender=worker).gas_used))
    advance_time(window + 1)
    single.append(("finalize", market.finalize(rid, sender=requester).gas_used))
    single.append(("withdraw (worker)", market.withdraw(sender=worker).gas_used))

    (unclaimed, claimed), _ = new_requests(2, ttl=60)
    market.claim(claimed, sender=worker)
    advance_time(61)
    single.append(("refund (unclaimed)", market.refund(unclaimed, sender=requester).gas_used))
    single.append(("refund (claimed: miss + slash)", market.refund(claimed, sender=requester).gas_used))
    single.append(("withdraw (requester)", market.withdraw(sender=requester).gas_used))

    batches = []
    for size in BATCH_SIZES:
        ids, request = batch_request(size)
        single.append((f"request gas (batched, per request at {size})", request // size))
        claim = market.claim_batch(ids, sender=worker).gas_used
        items = [(i, result_hash, "http://w/r", sign(i)) for i in ids]
        fulfil = market.fulfill_batch(items, sender=worker).gas_used
        advance_time(window + 1)
        finalize = market.finalize_batch(ids, sender=requester).gas_used
        batches.append((size, request // size, claim // size, fulfil // size, finalize // size,
                        (request + claim + fulfil + finalize) // size))
    single.append(("lifecycle gas per inference (batches of 100)", batches[-1][5]))
    return single, batches


def worker_bench(project, accounts, *, count: int = 100, workers: int = 1) -> list[tuple[str, str]]:
    """Throughput and latency of paid inference through worker bots on a local
    node, against ONNX Runtime on the same inputs, and gas per settled request.
    Returns (measure, value) rows."""
    import statistics
    import tempfile
    import threading
    import time
    from pathlib import Path

    from ape import chain

    from offchain import inputs
    from offchain.client import InferenceClient, request_views
    from offchain.demos.inference import WORKER_ACCOUNTS, WORKER_PORT, held_out_digits, prepare, stake
    from offchain.deploy import save_deployment
    from offchain.localnet import BotProcess, running
    from offchain.models import load_spec
    from offchain.runtime import load_runtime

    spec = load_spec("digits")
    samples = [inputs.parse(spec.input_schema, inputs.encode_pixels(p)) for p, _ in held_out_digits(spec, count)]

    # Raw ONNX Runtime on the same inputs, in this process.
    runtime = load_runtime(spec)
    runtime.infer(samples[:1])  # warm-up
    single = []
    for sample in samples:
        start = time.perf_counter()
        runtime.infer([sample])
        single.append(time.perf_counter() - start)
    start = time.perf_counter()
    runtime.infer(samples)
    batch_seconds = time.perf_counter() - start

    # The protocol: requests on-chain, worker bots, attested results.
    d, model_id = prepare(project, accounts, spec)
    market = d.InferenceMarket
    worker_accounts = [accounts[i] for i in WORKER_ACCOUNTS[:workers]]
    for i, worker in enumerate(worker_accounts):
        stake(d, accounts[0], worker, f"http://127.0.0.1:{WORKER_PORT + i}")
    save_deployment(d)
    workdir = Path(tempfile.mkdtemp(prefix="nc-bench-"))
    bots = [BotProcess(WORKER_ACCOUNTS[i], WORKER_PORT + i, workdir / f"w{i}") for i in range(workers)]
    first_block = chain.blocks.head.number + 1
    with running(*bots):
        client = InferenceClient(market, accounts[6])
        sent: dict[int, float] = {}
        done: dict[int, float] = {}
        stop = threading.Event()

        def watch() -> None:
            # Notes when each request's result lands on-chain, while requests are still being sent.
            while not stop.is_set():
                waiting = [i for i in list(sent) if i not in done]
                for request_id, view in request_views(market, waiting).items():
                    if view.state == 3:
                        done[request_id] = time.perf_counter()
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        for sample in samples:
            request_id = client.request(model_id, inputs.encode_pixels(sample.astype(int).tolist()))
            sent[request_id] = time.perf_counter()
        deadline = time.perf_counter() + 300
        while len(done) < len(sent) and time.perf_counter() < deadline:
            time.sleep(0.5)
            if len(done) < len(sent):
                chain.mine()  # nudge block-driven bots if the chain went quiet
        stop.set()
        watcher.join()
        if len(done) < len(sent):
            raise RuntimeError(f"{len(sent) - len(done)} requests not fulfilled within 300 s")
        chain.mine(timestamp=chain.pending_timestamp + market.params().challenge_window + 1)
        while any(view.state != 5 for view in request_views(market, sent).values()):
            time.sleep(0.2)
            chain.mine()

    worker_addresses = {w.address for w in worker_accounts}
    worker_gas = 0
    for block in chain.blocks.range(first_block, chain.blocks.head.number + 1):
        for txn in block.transactions:
            if txn.sender in worker_addresses:
                worker_gas += chain.provider.get_receipt(txn.txn_hash.hex()).gas_used
    latencies = sorted(done[i] - sent[i] for i in sent)
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    ort_p50 = statistics.median(single)
    span = max(done.values()) - min(sent.values())
    return [
        ("requests", str(count)),
        ("worker bots", str(workers)),
        ("ONNX Runtime, one input: p50 latency", f"{ort_p50 * 1e3:.3f} ms"),
        ("ONNX Runtime, one batch of all inputs: throughput", f"{count / batch_seconds:,.0f} inferences/s"),
        ("protocol, request mined to result on-chain: p50 latency", f"{p50 * 1e3:.0f} ms"),
        ("protocol: p95 latency", f"{p95 * 1e3:.0f} ms"),
        ("protocol throughput (first request to last fulfilment)", f"{count / span:.1f} requests/s"),
        ("overhead ratio, p50 latency: protocol / ONNX Runtime", f"{p50 / ort_p50:,.0f}x"),
        ("gas per settled request: request (app builder)", f"{client.gas_used // count:,}"),
        ("gas per settled request: claim + fulfil + finalize (workers)", f"{worker_gas // count:,}"),
        ("results equal to local ONNX Runtime", str(_same_results(market, sent, runtime, samples))),
    ]


def _same_results(market, sent, runtime, samples) -> bool:
    from eth_utils import keccak

    from offchain.client import request_views

    expected = [keccak(r) for r in runtime.infer(samples)]
    views = request_views(market, sorted(sent))
    return [bytes(view.hash) for view in views.values()] == expected


SETTLEMENT_SIZES = (1, 10, 100, 1_000, 10_000)


def channel_gas(project, accounts) -> tuple[list[tuple[str, int]], list[tuple]]:
    """Gas of channel operations from real transactions, and gas per paid
    inference amortized over n inferences per settlement, beside the
    per-request path measured in the same run."""
    from ape import chain

    from offchain.attestation import InferenceReceipt, keccak256, sign_typed, voucher_message

    d, model_id, worker, payer = setup_market(project, accounts)
    channels = d.PaymentChannels
    price = d.ModelRegistry.model_terms(model_id)[1]

    def voucher(owner, cid, amount):
        return sign_typed(owner.private_key, "Voucher", voucher_message(cid, amount), chain_id=chain.chain_id,
                          contract=str(channels.address))

    payers = [payer] + [accounts[i] for i in (1, 2, 3, 4, 7, 8, 9)] + [accounts[0], accounts[6]]
    opened = []
    single = []
    for i, owner in enumerate(payers[:9]):
        tx = channels.open_channel(worker, model_id, sender=owner, value=10 * 10**18)
        opened.append((owner, bytes(tx.decode_logs(channels.ChannelOpened)[0].channel_id)))
        if i == 0:
            single.append(("open_channel", tx.gas_used))
    owner, cid = opened[0]
    single.append(("settle (1 voucher, first)", channels.settle(
        [(cid, 1_000 * price, voucher(owner, cid, 1_000 * price), b"\x00" * 32)], sender=worker).gas_used))
    settle_gas = channels.settle(
        [(cid, 2_000 * price, voucher(owner, cid, 2_000 * price), b"\x00" * 32)], sender=worker).gas_used
    single.append(("settle (1 voucher, later)", settle_gas))
    many = [(c, 1_000 * price, voucher(o, c, 1_000 * price), b"\x00" * 32) for o, c in opened[1:9]]
    many_gas = channels.settle(many, sender=worker).gas_used
    single.append(("settle (8 channels in one transaction), per channel", many_gas // 8))
    challenger, challenged = opened[1]  # the payer of a call: two ~100-byte data: URIs of evidence
    input_hash, result_hash = keccak256(b"input"), keccak256(b"result")
    signed = InferenceReceipt.sign_for(worker.private_key, chain_id=chain.chain_id, contract=str(channels.address),
                                       channelId=challenged, seq=1, inputHash=input_hash, resultHash=result_hash)
    evidence = "data:application/octet-stream;base64," + "A" * 64
    single.append(("challenge_receipt (opens the dispute, locks the stake)", channels.challenge_receipt(
        challenged, 1, input_hash, result_hash, signed, keccak256(b"right"), evidence, evidence,
        sender=challenger, value=channels.params().challenge_bond).gas_used))
    single.append(("request_close", channels.request_close(cid, sender=owner).gas_used))
    advance_time(channels.params().close_delay + 1)
    close_gas = channels.close(cid, sender=payer).gas_used
    single.append(("close", close_gas))
    lifetime = single[0][1] + close_gas

    _, batches = market_gas(project, accounts)
    per_request = next(row for row in batches if row[0] == 100)[5]  # batched request + claim + fulfil + finalize
    rows = []
    for n in SETTLEMENT_SIZES:
        rows.append((f"{n:,}", f"{settle_gas / n:,.1f}", f"{(settle_gas + lifetime) / n:,.1f}",
                     f"{per_request:,}"))
    return single, rows


BENCH_MODELS = ("digits", "minilm")  # what `channel_latency` can serve: a tiny model and a real one


def bench_documents(spec, count: int) -> list[bytes]:
    """`count` input documents of the model (`BENCH_MODELS`) that its build never trained on: held-out digits,
    or MiniLM corpus sentences."""
    from offchain import inputs
    from offchain.channels import input_document
    from offchain.demos.embeddings import corpus_texts
    from offchain.demos.inference import held_out_digits

    if spec.name == "digits":
        return [input_document(p) for p, _ in held_out_digits(spec, count)]
    return [inputs.encode_text(text) for text in corpus_texts(spec, count)]


def channel_latency(project, accounts, *, calls: int = 200, clients: int = 8, rounds: int = 2,
                    model: str = "digits", credit: int = 10) -> list[tuple]:
    """Paid calls through the worker's channel API beside the same calls to the unpaid baseline (a plain
    FastAPI + ONNX Runtime server, `offchain.channels.baseline`), from one run: latency with one client
    and throughput with `clients` concurrent ones, paying with a voucher every call and, where `credit` is
    above 1, with a voucher every `credit` calls (paid ahead). Both servers run in this process (one at a
    time under load); every client is its own process (`offchain.channels.loadgen`). Each measure is taken
    `rounds` times, unpaid and paid alternating, and the best of each kept. Rows: (measure, unpaid, paid,
    ratio)."""
    import statistics
    import time

    from ape import chain

    from offchain.channels import ChannelClient, serving_locally
    from offchain.channels.app import serving
    from offchain.channels.baseline import create_unpaid_app
    from offchain.models import load_spec
    from offchain.runtime import load_runtime

    d, model_id, worker, _ = setup_market(project, accounts)
    spec = load_spec(model)
    runtime = load_runtime(spec)
    documents = bench_documents(spec, calls)
    arrays = [inputs_parse(spec, doc) for doc in documents]
    runtime.infer(arrays[:1])
    direct = []
    for array in arrays:
        start = time.perf_counter()
        runtime.infer([array])
        direct.append(time.perf_counter() - start)

    sign_us, recover_us = _signature_costs()
    commit_cpu_us, commit_wall_us = _commit_cost()
    price = d.ModelRegistry.model_terms(model_id)[1]
    best = {}
    with serving_locally(d.PaymentChannels, worker, {model_id: runtime}, {model_id: price},
                         chain_id=chain.chain_id) as (api, url), serving(create_unpaid_app({model_id: runtime})) as plain:
        payers = [accounts[i] for i in (6, 1, 2, 3, 4, 7, 8, 9)][:clients]
        callers = []
        modes = (0, 1, credit) if credit > 1 else (0, 1)  # 0: unpaid; else calls a voucher pays for
        for payer in payers:
            client = ChannelClient(d.PaymentChannels, d.ModelRegistry, d.WorkerRegistry, payer, chain_id=chain.chain_id)
            # every round's calls, and a voucher's credit left over at the end of each
            client.open(worker, model_id, price * (calls + 1 + credit) * len(modes) * (rounds + 1), url=url)
            callers.append(client.caller())
        texts = [doc.decode() for doc in documents]
        for _ in range(rounds):
            for paid in modes:
                for caller in callers:
                    caller.credit = paid
                for n in (1, clients):
                    jobs = [{"url": plain, "model_id": model_id, "documents": texts, "paid": _paid_job(c) if paid else None}
                            for c in callers[:n]]
                    loop_thread = _serving_thread(url if paid else plain)
                    loop_cpu, commits = _thread_cpu(loop_thread), api.ledger.commits
                    seconds, latencies, states, cpu, client_cpu = _load(jobs)
                    loop_cpu, commits = _thread_cpu(loop_thread) - loop_cpu, api.ledger.commits - commits
                    for caller, state in zip(callers, states):
                        if state is not None:  # where the client process left the channel: vouchers, session
                            caller.spent, caller.used = state["spent"], state["used"]
                            caller.signed, caller.unanswered = state["signed"], state["unanswered"]
                            caller.session = bytes.fromhex(state["session"])
                    key = (paid, n)
                    if n == 1:
                        value = statistics.median(latencies[0])
                        p95 = sorted(latencies[0])[int(0.95 * (len(latencies[0]) - 1))]
                        best[key] = min(best.get(key, (float("inf"), 0)), (value, p95))
                    else:
                        count = sum(len(x) for x in latencies)
                        best[key] = max(best.get(key, 0), count / seconds)
                        best["cpu", paid] = min(best.get(("cpu", paid), float("inf")), cpu / count)
                        best["client cpu", paid] = min(best.get(("client cpu", paid), float("inf")), client_cpu / count)
                        best["loop cpu", paid] = min(best.get(("loop cpu", paid), float("inf")), loop_cpu / count)
                        if paid:
                            best["per commit", paid] = max(best.get(("per commit", paid), 0), count / max(commits, 1))
        settled = api.settle().total

    (plain_p50, plain_p95), (paid_p50, paid_p95) = best[(0, 1)], best[(1, 1)]
    plain_rate, paid_rate = best[(0, clients)], best[(1, clients)]
    rows = [
        ("ONNX Runtime directly, one input: p50", f"{statistics.median(direct) * 1e3:.3f} ms", "", ""),
        ("sign one voucher or receipt (EIP-712, libsecp256k1): mean", "", f"{sign_us:.0f} µs", ""),
        ("recover its signer: mean", "", f"{recover_us:.0f} µs", ""),
        ("commit the books of 3 calls (SQLite, fsync'd): CPU, wall (mean)", "",
         f"{commit_cpu_us:.0f} µs, {commit_wall_us:.0f} µs", ""),
        (f"one client, p50 (best of {rounds}; {calls} calls)", f"{plain_p50 * 1e3:.2f} ms", f"{paid_p50 * 1e3:.2f} ms",
         f"{(paid_p50 - plain_p50) * 1e3:+.2f} ms"),
        ("one client, p95", f"{plain_p95 * 1e3:.2f} ms", f"{paid_p95 * 1e3:.2f} ms", f"{(paid_p95 - plain_p95) * 1e3:+.2f} ms"),
        (f"{clients} concurrent clients (best of {rounds}; {calls} calls each)", f"{plain_rate:,.0f} calls/s",
         f"{paid_rate:,.0f} calls/s", f"{paid_rate / plain_rate:.2f}"),
        (f"server CPU per call, {clients} clients (least of {rounds})", f"{best['cpu', 0] * 1e3:.2f} ms",
         f"{best['cpu', 1] * 1e3:.2f} ms", f"{(best['cpu', 1] - best['cpu', 0]) * 1e3:+.2f} ms"),
        ("  of which the HTTP server's event-loop thread", f"{best['loop cpu', 0] * 1e3:.2f} ms",
         f"{best['loop cpu', 1] * 1e3:.2f} ms", f"{(best['loop cpu', 1] - best['loop cpu', 0]) * 1e3:+.2f} ms"),
        ("  of which the model's threads (and the rest of the process)",
         f"{(best['cpu', 0] - best['loop cpu', 0]) * 1e3:.2f} ms",
         f"{(best['cpu', 1] - best['loop cpu', 1]) * 1e3:.2f} ms",
         f"{((best['cpu', 1] - best['loop cpu', 1]) - (best['cpu', 0] - best['loop cpu', 0])) * 1e3:+.2f} ms"),
        (f"client CPU per call, {clients} clients (least of {rounds})", f"{best['client cpu', 0] * 1e3:.2f} ms",
         f"{best['client cpu', 1] * 1e3:.2f} ms",
         f"{(best['client cpu', 1] - best['client cpu', 0]) * 1e3:+.2f} ms"),
        (f"calls per commit of the books, {clients} clients (most of {rounds})", "",
         f"{best['per commit', 1]:.1f}", ""),
    ]
    if credit > 1:
        ahead = f"a voucher every {credit} calls"
        rows += [
            (f"one client, p50, {ahead}", f"{plain_p50 * 1e3:.2f} ms", f"{best[credit, 1][0] * 1e3:.2f} ms",
             f"{(best[credit, 1][0] - plain_p50) * 1e3:+.2f} ms"),
            (f"{clients} concurrent clients, {ahead}", f"{plain_rate:,.0f} calls/s",
             f"{best[credit, clients]:,.0f} calls/s", f"{best[credit, clients] / plain_rate:.2f}"),
            (f"server CPU per call, {clients} clients, {ahead}", f"{best['cpu', 0] * 1e3:.2f} ms",
             f"{best['cpu', credit] * 1e3:.2f} ms", f"{(best['cpu', credit] - best['cpu', 0]) * 1e3:+.2f} ms"),
            (f"client CPU per call, {clients} clients, {ahead}", f"{best['client cpu', 0] * 1e3:.2f} ms",
             f"{best['client cpu', credit] * 1e3:.2f} ms",
             f"{(best['client cpu', credit] - best['client cpu', 0]) * 1e3:+.2f} ms"),
            (f"calls per commit of the books, {clients} clients, {ahead}", "", f"{best['per commit', credit]:.1f}", ""),
        ]
    return rows + [("settled on chain in one transaction", "", f"{settled / 10**18:.6f} ETH", "")]


def _signature_costs(n: int = 2_000) -> tuple[float, float]:
    """Mean µs to sign a voucher and to recover its signer, as a paid call does each (client and worker)."""
    import time

    from offchain.attestation import Voucher

    key, fields = "0x" + "11" * 32, {"chain_id": 1337, "contract": "0x" + "22" * 20, "channelId": b"\x33" * 32}
    start = time.perf_counter()
    signatures = [Voucher.sign_for(key, amount=i, **fields) for i in range(n)]
    signed = time.perf_counter()
    for i, signature in enumerate(signatures):
        Voucher.recover_for(signature, amount=i, **fields)
    return (signed - start) / n * 1e6, (time.perf_counter() - signed) / n * 1e6


def _commit_cost(n: int = 500) -> tuple[float, float]:
    """Mean µs of CPU (user and system) and of wall time for one group commit of the books that three calls
    staged (each a seq, charged wei and a receipt), in a throwaway folder where the API keeps its own."""
    import os
    import resource
    import tempfile
    import time

    from offchain.channels.ledger import ChannelBook, Ledger

    with tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(folder, chain_id=1337, contract="0x" + "22" * 20)
        channels = [bytes([i]) * 32 for i in range(3)]
        for channel_id in channels:
            ledger.track(channel_id, ChannelBook(payer="0x" + "33" * 20, model_id=1, deposit=10**20, settled=0))
        usage, start = resource.getrusage(resource.RUSAGE_THREAD), time.perf_counter()
        for _ in range(n):
            for channel_id in channels:
                seq, _ = ledger.stage_prepaid(channel_id, 1)
                generation = ledger.stage_receipt(channel_id, seq, os.urandom(32))
            ledger.flush(generation)
        wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_THREAD)
        ledger.close()
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    return cpu / n * 1e6, wall / n * 1e6


def _serving_thread(url: str):
    """The thread `offchain.channels.app.serving` runs the server at `url` in (its event loop)."""
    import threading

    (thread,) = [t for t in threading.enumerate() if t.name == f"serving {url}"]
    return thread


def _thread_cpu(thread) -> float:
    """CPU seconds `thread` has used (its POSIX thread CPU clock)."""
    import time

    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def _paid_job(caller) -> dict:
    from dataclasses import asdict

    job = asdict(caller)
    job.pop("last_answer")
    job["channel_id"], job["session"] = caller.channel_id.hex(), caller.session.hex()
    return job


def _load(jobs: list[dict]) -> tuple[float, list[list[float]], list[dict | None], float, float]:
    """Runs each job in its own client process, all started together; returns (seconds from the start
    signal until the last finished, each client's latencies, each paid caller's state after them, CPU seconds this
    process (the server) spent meanwhile, CPU seconds the clients spent on their calls)."""
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    procs = [subprocess.Popen([sys.executable, "-m", "offchain.channels.loadgen"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env) for _ in jobs]
    try:
        for proc, job in zip(procs, jobs):
            proc.stdin.write(json.dumps(job) + "\n")
            proc.stdin.flush()
        for proc in procs:
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a benchmark client failed before its first call")
        start, cpu = time.perf_counter(), os.times()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        lines = [proc.stdout.readline() for proc in procs]
        if not all(line.strip() for line in lines):
            raise RuntimeError("a benchmark client failed (its error is above)")
        answers = [json.loads(line) for line in lines]
        seconds, done = time.perf_counter() - start, os.times()
    finally:
        for proc in procs:
            proc.wait(timeout=60)
    server_cpu = (done.user - cpu.user) + (done.system - cpu.system)
    client_cpu = sum(a["cpu"] for a in answers)
    return seconds, [a["latencies"] for a in answers], [a["caller"] for a in answers], server_cpu, client_cpu


def inputs_parse(spec, document):
    from offchain import inputs

    return inputs.parse(spec.input_schema, document)
