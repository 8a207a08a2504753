"""The full request-to-withdrawal path, shared by the embedded and anvil tests."""

from ape import chain
from eth_utils import keccak

from offchain.attestation import InferenceResult
from offchain.demos.bench import setup_market


def request_to_withdrawal(project, accounts) -> dict:
    """Deploys, requests, claims, fulfils, finalizes, and has every party withdraw.
    Returns what each party received, in wei, and the payment."""
    d, model_id, worker, requester = setup_market(project, accounts)
    market, shares, token = d.InferenceMarket, d.ModelShares, d.GovernanceToken
    author, holder = accounts[8], accounts[0]
    payment = market.quote(model_id)
    market.request_inference(model_id, keccak(b"in"), "data:,in", chain.pending_timestamp + 3_600,
                             sender=requester, value=payment)
    rid = market.request_count()
    market.claim(rid, sender=worker)
    result_hash = keccak(b"out")
    signature = InferenceResult.bound(chain_id=chain.chain_id, contract=market.address, requestId=rid,
                                      modelId=model_id, inputHash=keccak(b"in"),
                                      resultHash=result_hash).sign(worker.private_key)
    market.fulfill(rid, result_hash, "http://worker/out", signature, sender=worker)
    chain.mine(timestamp=chain.pending_timestamp + market.params().challenge_window + 1)
    market.finalize(rid, sender=requester)

    received = {}
    received["worker"] = market.withdraw(sender=worker).decode_logs(market.Withdrawn)[0].amount
    received["shareholders"] = shares.withdraw_revenue([model_id], sender=author).decode_logs(
        shares.RevenueWithdrawn)[0].amount
    received["token holders"] = token.withdraw_revenue(sender=holder).decode_logs(token.RevenueWithdrawn)[0].amount
    before = d.Timelock.balance
    market.sweep_treasury(sender=requester)
    received["treasury"] = d.Timelock.balance - before
    received["payment"] = payment
    received["market balance after"] = market.balance
    return received
