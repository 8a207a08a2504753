"""A full committee dispute from real transactions: the gas of each step and in total.

`dispute_gas` deploys a fresh system (deploy defaults: committee of 3), stakes
three verifiers and a challenger, and runs request, claim, fulfil, challenge
(which opens the dispute), draw, three commits, three reveals and settle.
`scripts/bench_verification.py` prints it as the `dispute gas` row.
"""

from __future__ import annotations

from offchain.court import commitment

DISPUTE_STEPS = ("challenge (opens the dispute)", "draw", "commit", "reveal", "settle")


def dispute_gas(project, accounts, *, worker_was_right: bool = False) -> list[tuple[str, int]]:
    """(step, gas used) rows of a dispute with the default committee, every member voting
    `worker_was_right`, then a `total` row (challenge + draw + commits + reveals + settle): the second
    dispute of the same members (their lock slots already touched, as for any verifier that served
    before), and last the total of the first one (`total, first dispute of fresh members`).

    `accounts`: at least ten funded accounts (the test accounts); 0 deploys and funds, 1-3 verify,
    4 challenges, 5 works, 6 requests, 8 registers the model."""
    from ape import chain
    from eth_utils import keccak

    from offchain.attestation import ResultClaim, sign_result
    from offchain.demos.bench import setup_market

    d, model_id, worker, requester = setup_market(project, accounts)
    deployer, market, court, token, workers = (accounts[0], d.InferenceMarket, d.DisputeCourt, d.GovernanceToken,
                                               d.WorkerRegistry)
    size = court.params().committee_size
    verifiers, challenger = list(accounts[1 : 1 + size]), accounts[1 + size]
    stake = workers.min_stake()
    for account in [*verifiers, challenger]:
        token.transfer(account, stake, sender=deployer)
        token.approve(workers, stake, sender=account)
        workers.register(account, "http://127.0.0.1:0", stake, sender=account)
    for verifier in verifiers:
        court.join(model_id, sender=verifier)

    def one_dispute(n: int) -> list[tuple[str, int]]:
        result_hash = keccak(f"the worker's result {n}".encode())
        market.request_inference(model_id, keccak(f"input {n}".encode()), "data:,bench",
                                 chain.pending_timestamp + 3_600, sender=requester, value=market.quote(model_id))
        rid = market.request_count()
        market.claim(rid, sender=worker)
        state = market.get_request(rid)
        claim = ResultClaim(rid, state.model_id, bytes(state.hash), result_hash)
        signature = sign_result(worker.private_key, claim, chain_id=chain.chain_id, market=str(market.address))
        market.fulfill(rid, result_hash, "http://w/r", signature, sender=worker)

        rows: list[tuple[str, int]] = []
        tx = market.challenge(rid, keccak(f"the challenger's result {n}".encode()), sender=challenger,
                              value=market.params().challenge_bond)
        rows.append((DISPUTE_STEPS[0], tx.gas_used))
        dispute_id = tx.decode_logs(court.DisputeOpened)[0].dispute_id
        missing = court.disputes(dispute_id).draw_block - chain.blocks.head.number
        if missing > 0:
            chain.mine(missing)
        rows.append(("draw", court.draw(dispute_id, sender=requester).gas_used))
        by_address = {str(v.address): v for v in verifiers}
        members = [by_address[str(a)] for a in court.committee(dispute_id)]
        salts = {m.address: keccak(text=f"salt {n} {m.address}") for m in members}
        for i, member in enumerate(members, 1):
            sealed = commitment(dispute_id, member.address, worker_was_right, salts[member.address])
            rows.append((f"commit {i}", court.commit(dispute_id, sealed, sender=member).gas_used))
        for i, member in enumerate(members, 1):
            rows.append((f"reveal {i}", court.reveal(dispute_id, worker_was_right, salts[member.address],
                                                     sender=member).gas_used))
        rows.append(("settle (pays, releases, calls the market)", court.settle(dispute_id, sender=requester).gas_used))
        rows.append(("total", sum(gas for _, gas in rows)))
        return rows

    first = one_dispute(1)
    rows = one_dispute(2)
    rows.append(("total, first dispute of fresh members", first[-1][1]))
    return rows
