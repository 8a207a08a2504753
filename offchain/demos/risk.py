"""The contract-risk demo: a token listing registry that lists only what the risk model scores low.

Deploy; register the risk model (models/risk) and list it through a DAO
proposal; deploy `TokenListing` (threshold 50 %, owned by the Timelock) and
two tokens, a fixed-supply one and one whose owner can mint, pause and skim a
fee; an applicant pays the registry to review each. The registry builds each
input on-chain (the token's code hash at that block) and requests through the
market with a callback; the worker reads the code from its own node at that
block, refuses it unless it hashes to the input's code hash, scores it and
fulfils with the result bytes; the client fetches each result, checks it
against the chain and recomputes it from the code under the model's
tolerance; after the challenge window the worker finalizes and the market
calls the registry back, which lists the safe token and rejects the risky
one; everyone withdraws their share.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from offchain import canonical
from offchain.cli import ETH, advance_time, console, fmt_eth, table
from offchain.client import InferenceClient
from offchain.deploy import deploy_system
from offchain.demos.inference import DemoSummary, _withdraw_all, demo_worker
from offchain.governance import Proposal, pass_locally
from offchain.models import ModelSpec, load_spec

SUPPLY = 1_000_000 * ETH


@dataclass
class RiskSummary(DemoSummary):
    threshold_bps: int = 0
    tokens: list[tuple] = field(default_factory=list)  # (name, address, score bps, labels, listed)
    paid_by_applicant: int = 0
    received: dict[str, int] = field(default_factory=dict)
    held_out: dict = field(default_factory=dict)


@dataclass
class RiskEconomy:
    deployment: object
    model_id: int
    listing: object
    spec: ModelSpec


def setup(project, accounts, *, threshold_bps: int | None = None) -> RiskEconomy:
    """Deploys the system, lists the risk model through governance, deploys the listing registry
    (owned by the Timelock from then on)."""
    deployer, alice, bob, author, dave = accounts[0], accounts[1], accounts[2], accounts[8], accounts[9]
    spec = load_spec("risk")
    d = deploy_system(project, deployer)
    token = d.GovernanceToken
    for holder, amount in ((alice, 30_000_000), (bob, 20_000_000)):
        token.transfer(holder, amount * ETH, sender=deployer)
        token.invoke_transaction("delegate", holder, sender=holder)
    advance_time(1)
    model_id = register_and_list(d, spec, author, dave, alice, [alice, bob])
    threshold = spec.manifest["listing_threshold_bps"] if threshold_bps is None else threshold_bps
    listing = deployer.deploy(project.TokenListing, d.InferenceMarket, model_id, threshold)
    listing.transfer_ownership(d.Timelock, sender=deployer)  # threshold and model: by proposal only
    console.print(f"risk model {model_id} listed by the DAO; TokenListing at {listing.address} "
                  f"(threshold {threshold / 100:g} %, owner: the Timelock)")
    return RiskEconomy(d, model_id, listing, spec)


def register_and_list(d, spec: ModelSpec, author, dave, proposer, voters) -> int:
    """Registers `spec` (shares 70 % author, 30 % dave) and lists it through a DAO proposal; returns its id."""
    registry = d.ModelRegistry
    registry.register_model(spec.artifact_hash, spec.manifest_hash, f"models/{spec.name}", spec.manifest["price_wei"],
                            [author, dave], [7_000, 3_000], sender=author)
    model_id = registry.model_count()
    pass_locally(d.Governor, Proposal(f"List the {spec.name} model (id {model_id})").call(
        registry, "approve_model", model_id), proposer, voters)
    return model_id


def deploy_tokens(project, issuer) -> dict[str, object]:
    """The two example tokens: `safe` (fixed supply, no owner) and `risky` (owner mint, pause, fee)."""
    return {"safe": issuer.deploy(project.SafeToken, SUPPLY), "risky": issuer.deploy(project.RiskyToken, SUPPLY)}


def apply_all(listing, tokens: dict, applicant) -> tuple[dict[str, int], int]:
    """The applicant pays the registry to review each token; returns (name -> request id, gas used)."""
    ids, gas = {}, 0
    for name, token in tokens.items():
        receipt = listing.apply(token, sender=applicant, value=listing.quote())
        ids[name] = listing.pending_request(token)
        gas += receipt.gas_used
    return ids, gas


def run(project, accounts, *, workdir: Path | None = None) -> RiskSummary:
    """The demo on the embedded chain: one worker, in this process."""
    from ape import chain

    deployer, issuer, worker, applicant = accounts[0], accounts[3], accounts[5], accounts[6]
    workdir = Path(workdir or tempfile.mkdtemp(prefix="nc-risk-"))
    economy = setup(project, accounts)
    d, model_id, listing, spec = economy.deployment, economy.model_id, economy.listing, economy.spec
    market = d.InferenceMarket
    summary = RiskSummary(threshold_bps=listing.threshold_bps(),
                          held_out=spec.manifest["evaluation"]["held_out"]["risk"])
    with demo_worker(d, deployer, worker, model_id, spec, workdir) as agent:
        runtime = agent.runtimes[model_id]
        tokens = deploy_tokens(project, issuer)
        before = applicant.balance
        summary.paid_to_market = listing.quote() * len(tokens)  # what each apply forwards to the market
        requested, apply_gas = apply_all(listing, tokens, applicant)
        summary.paid_by_applicant = before - applicant.balance
        summary.requests = len(requested)

        work = agent.step()
        console.print(f"worker: claimed {work.claimed}, fulfilled {work.fulfilled}, rejected {work.rejected}")
        client = InferenceClient(market, applicant)
        decoded = {}
        for name, rid in requested.items():
            verified = client.fetch(rid, spec)  # the bytes the chain's hash names
            code = bytes(chain.provider.get_code(tokens[name].address))
            honest, _ = runtime.check(code, verified.result)  # recomputed here from the code, under the policy
            summary.verified += int(honest)
            decoded[name] = verified.decoded["scores"]
        advance_time(market.params().challenge_window + 1)
        settle = agent.step()
        console.print(f"worker: finalized {settle.finalized} (the market called the registry back)")
        labels = spec.manifest["output"]["labels"]
        for name, rid in requested.items():
            token = tokens[name]
            flagged = [label for label, p in zip(labels[1:], decoded[name][1:], strict=True) if p >= 0.5]
            summary.tokens.append((name, token.address, listing.score_of(token), ", ".join(flagged) or "-",
                                   listing.listed(token)))
        summary.gas = {"apply (applicant: input built on-chain, request with callback)": apply_gas // len(requested),
                       "claim + fulfil + finalize with callback (worker)": (work.gas + settle.gas) // len(requested)}
        _withdraw_all(d, model_id, accounts, [worker], summary)
    return summary


def print_summary(summary: RiskSummary) -> None:
    console.print(table("Contract risk: token listing", ["what", "value"], [
        ("review requests paid", summary.requests),
        ("results verified (hash on-chain, recomputed from the code)", f"{summary.verified} / {summary.requests}"),
        ("listing threshold", f"{summary.threshold_bps / 100:g} %"),
        ("held-out precision / recall of the overall score",
         f"{summary.held_out.get('precision')} / {summary.held_out.get('recall')}"),
        ("ETH paid by the applicant (with gas)", fmt_eth(summary.paid_by_applicant)),
    ]))
    console.print(table("Tokens", ["token", "address", "risk score", "patterns flagged", "listed"],
                        [(n, a, f"{s / 100:.2f} %", f, "yes" if listed else "no")
                         for n, a, s, f, listed in summary.tokens]))
    console.print(table("ETH withdrawn", ["party", "ETH"],
                        [(name, fmt_eth(wei)) for name, wei in summary.received.items()]))
    console.print(table("Gas per request", ["who", "gas"], summary.gas.items()))


def decoded_scores(spec: ModelSpec, data: bytes) -> dict[str, float]:
    """label -> score from a `scores-uint256` result."""
    kind, scale = spec.encoding
    values = canonical.decode(kind, scale, data)["scores"]
    return dict(zip(spec.manifest["output"]["labels"], values, strict=True))
