"""Request, claim, fulfil and finalize helpers for market tests."""

from __future__ import annotations

from ape import chain
from eth_utils import keccak

from offchain.attestation import InferenceResult
from offchain.governance import Proposal, pass_locally
from offchain.market import RequestState

INPUT = b"pixels of a handwritten seven"
INPUT_HASH = keccak(INPUT)
RESULT = (7).to_bytes(32, "big") + b"probabilities"
RESULT_HASH = keccak(RESULT)

REQUESTED, CLAIMED, FULFILLED, CHALLENGED, FINALIZED, REFUNDED = (
    RequestState.REQUESTED, RequestState.CLAIMED, RequestState.FULFILLED, RequestState.CHALLENGED,
    RequestState.FINALIZED, RequestState.REFUNDED)


def request(market, model_id, requester, *, input_hash=INPUT_HASH, deadline=None, value=None, uri="data:,seven"):
    deadline = chain.pending_timestamp + 3_600 if deadline is None else deadline
    value = market.quote(model_id) if value is None else value
    market.request_inference(model_id, input_hash, uri, deadline, sender=requester, value=value)
    return market.request_count()


def signature(market, request_id, key, *, result_hash=RESULT_HASH, chain_id=None, market_address=None,
              model_id=None, input_hash=None):
    """Signs what the contract will check, with knobs to sign something else."""
    state = market.get_request(request_id)
    return InferenceResult.bound(
        chain_id=chain.chain_id if chain_id is None else chain_id,
        contract=market.address if market_address is None else market_address,
        requestId=request_id,
        modelId=state.model_id if model_id is None else model_id,
        inputHash=bytes(state.hash) if input_hash is None else input_hash,
        resultHash=result_hash,
    ).sign(key)


def fulfil(market, request_id, worker, key, *, result_hash=RESULT_HASH, sender=None, result=b""):
    sig = signature(market, request_id, key, result_hash=result_hash)
    if result:
        return market.fulfill(request_id, result_hash, "http://worker/r", sig, result, sender=sender or worker)
    return market.fulfill(request_id, result_hash, "http://worker/r", sig, sender=sender or worker)


def past_window(market) -> None:
    chain.mine(timestamp=chain.pending_timestamp + market.params().challenge_window + 1)


def past(timestamp: int) -> None:
    chain.mine(timestamp=max(chain.pending_timestamp, timestamp + 1))


CHALLENGE_BOND = 10**16  # wei, the deploy default


def challenge(market, court, request_id, challenger, *, result_hash=b"\x77" * 32, value=CHALLENGE_BOND) -> int:
    """Challenges a fulfilled request; the market opens a DisputeCourt dispute. Returns the dispute id."""
    tx = market.challenge(request_id, result_hash, sender=challenger, value=value)
    return tx.decode_logs(court.DisputeOpened)[0].dispute_id


def list_model(system, spec, author, dave, voters) -> int:
    """Registers `spec` (shares 7:3 to author and dave) and lists it through a DAO vote of `voters`
    (the first proposes); returns its model id."""
    registry = system.ModelRegistry
    registry.register_model(spec.artifact_hash, spec.manifest_hash, f"models/{spec.name}", spec.manifest["price_wei"],
                            [author, dave], [7, 3], sender=author)
    model_id = registry.model_count()
    pass_locally(system.Governor, Proposal(f"list {spec.name}").call(registry, "approve_model", model_id),
                 voters[0], voters)
    return model_id
