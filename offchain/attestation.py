"""EIP-712 messages of the protocol, signed and recovered exactly as the
contracts do.

InferenceMarket (domain "InferenceMarket", version "1"):
    InferenceResult(uint256 requestId,uint256 modelId,bytes32 inputHash,bytes32 resultHash)
PaymentChannels (domain "PaymentChannels", version "1"):
    Voucher(bytes32 channelId,uint256 amount)                     signed by the payer
    InferenceReceipt(bytes32 channelId,uint256 seq,bytes32 inputHash,bytes32 resultHash)
                                                                   signed by the worker
Each domain also binds the chain id and the contract address, so a
signature cannot be replayed on another chain or contract.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_TYPES = {
    "InferenceResult": [
        {"name": "requestId", "type": "uint256"},
        {"name": "modelId", "type": "uint256"},
        {"name": "inputHash", "type": "bytes32"},
        {"name": "resultHash", "type": "bytes32"},
    ],
    "Voucher": [
        {"name": "channelId", "type": "bytes32"},
        {"name": "amount", "type": "uint256"},
    ],
    "InferenceReceipt": [
        {"name": "channelId", "type": "bytes32"},
        {"name": "seq", "type": "uint256"},
        {"name": "inputHash", "type": "bytes32"},
        {"name": "resultHash", "type": "bytes32"},
    ],
}
_DOMAIN_OF = {"InferenceResult": "InferenceMarket", "Voucher": "PaymentChannels", "InferenceReceipt": "PaymentChannels"}


def encode_eip712(domain_name: str, primary: str, fields: list[dict], message: dict, *, chain_id: int,
                  contract: str):
    """Any EIP-712 message under a (name, version "1", chain id, contract) domain,
    ready for eth-account to sign or recover."""
    return encode_typed_data(full_message={
        "types": {"EIP712Domain": _DOMAIN_FIELDS, primary: fields},
        "primaryType": primary,
        "domain": {"name": domain_name, "version": "1", "chainId": chain_id, "verifyingContract": str(contract)},
        "message": message,
    })


def _message(primary: str, message: dict, chain_id: int, contract: str):
    return encode_eip712(_DOMAIN_OF[primary], primary, _TYPES[primary], message, chain_id=chain_id, contract=contract)


def sign_typed(private_key, primary: str, message: dict, *, chain_id: int, contract: str) -> bytes:
    """The 65-byte signature (r, s, v) the contracts accept."""
    return bytes(Account.sign_message(_message(primary, message, chain_id, contract), private_key).signature)


def recover_typed(signature: bytes, primary: str, message: dict, *, chain_id: int, contract: str) -> str:
    return Account.recover_message(_message(primary, message, chain_id, contract), signature=signature)


@dataclass(frozen=True)
class ResultClaim:
    """What a worker attests on the market: this request of this model on this input gave this result."""

    request_id: int
    model_id: int
    input_hash: bytes
    result_hash: bytes

    def message(self) -> dict:
        return {"requestId": self.request_id, "modelId": self.model_id,
                "inputHash": bytes(self.input_hash), "resultHash": bytes(self.result_hash)}


def sign_result(private_key, claim: ResultClaim, *, chain_id: int, market: str) -> bytes:
    """The signature `fulfill` accepts from the worker's registered key."""
    return sign_typed(private_key, "InferenceResult", claim.message(), chain_id=chain_id, contract=market)


def recover_signer(signature: bytes, claim: ResultClaim, *, chain_id: int, market: str) -> str:
    """The address that signed `claim` (for clients checking an attestation off-chain)."""
    return recover_typed(signature, "InferenceResult", claim.message(), chain_id=chain_id, contract=market)


def voucher_message(channel_id: bytes, amount: int) -> dict:
    return {"channelId": bytes(channel_id), "amount": amount}


def receipt_message(channel_id: bytes, seq: int, input_hash: bytes, result_hash: bytes) -> dict:
    return {"channelId": bytes(channel_id), "seq": seq, "inputHash": bytes(input_hash),
            "resultHash": bytes(result_hash)}
