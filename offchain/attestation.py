"""EIP-712 attestations of inference results, as InferenceMarket verifies them.

    InferenceResult(uint256 requestId,uint256 modelId,bytes32 inputHash,bytes32 resultHash)
    domain: name "InferenceMarket", version "1", chain id, market address
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data

DOMAIN_NAME = "InferenceMarket"
DOMAIN_VERSION = "1"

_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "InferenceResult": [
        {"name": "requestId", "type": "uint256"},
        {"name": "modelId", "type": "uint256"},
        {"name": "inputHash", "type": "bytes32"},
        {"name": "resultHash", "type": "bytes32"},
    ],
}


@dataclass(frozen=True)
class ResultClaim:
    """What a worker attests: this request of this model on this input gave this result."""

    request_id: int
    model_id: int
    input_hash: bytes
    result_hash: bytes


def _typed_data(claim: ResultClaim, chain_id: int, market: str) -> dict:
    return {
        "types": _TYPES,
        "primaryType": "InferenceResult",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": str(market),
        },
        "message": {
            "requestId": claim.request_id,
            "modelId": claim.model_id,
            "inputHash": bytes(claim.input_hash),
            "resultHash": bytes(claim.result_hash),
        },
    }


def sign_result(private_key, claim: ResultClaim, *, chain_id: int, market: str) -> bytes:
    """The 65-byte signature (r, s, v) that `fulfill` accepts from the worker's registered key."""
    message = encode_typed_data(full_message=_typed_data(claim, chain_id, market))
    return bytes(Account.sign_message(message, private_key).signature)


def recover_signer(signature: bytes, claim: ResultClaim, *, chain_id: int, market: str) -> str:
    """The address that signed `claim` (for clients checking an attestation off-chain)."""
    message = encode_typed_data(full_message=_typed_data(claim, chain_id, market))
    return Account.recover_message(message, signature=signature)
