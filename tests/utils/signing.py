"""EIP-712 signatures made the way wallets make them (eth-account), for permit,
delegateBySig and castVoteBySig tests, with knobs for replay attempts."""

from __future__ import annotations

from eth_account import Account

from offchain.attestation import encode_eip712


def _domain(name: str, chain_id: int, verifying_contract: str) -> dict:
    return {"name": name, "chainId": chain_id, "contract": str(verifying_contract)}


def sign_typed(private_key, domain: dict, types: dict, message: dict):
    """Returns the SignedMessage (v, r, s, signature)."""
    primary, fields = next(iter(types.items()))
    encoded = encode_eip712(domain["name"], primary, fields, message, chain_id=domain["chainId"],
                            contract=domain["contract"])
    return Account.sign_message(encoded, private_key)


def permit_signature(owner, token, spender, value, nonce, deadline, *, chain_id, verifying_contract=None):
    domain = _domain(token.name(), chain_id, verifying_contract or token.address)
    types = {
        "Permit": [
            {"name": "owner", "type": "address"},
            {"name": "spender", "type": "address"},
            {"name": "value", "type": "uint256"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ]
    }
    message = {"owner": str(owner.address), "spender": str(spender), "value": value, "nonce": nonce, "deadline": deadline}
    signed = sign_typed(owner.private_key, domain, types, message)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def delegation_signature(signer, token, delegatee, nonce, expiry, *, chain_id, verifying_contract=None):
    domain = _domain(token.name(), chain_id, verifying_contract or token.address)
    types = {
        "Delegation": [
            {"name": "delegatee", "type": "address"},
            {"name": "nonce", "type": "uint256"},
            {"name": "expiry", "type": "uint256"},
        ]
    }
    message = {"delegatee": str(delegatee), "nonce": nonce, "expiry": expiry}
    signed = sign_typed(signer.private_key, domain, types, message)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def ballot_signature(voter, governor, proposal_id, support, nonce, *, chain_id, verifying_contract=None) -> bytes:
    domain = _domain(governor.name(), chain_id, verifying_contract or governor.address)
    types = {
        "Ballot": [
            {"name": "proposalId", "type": "uint256"},
            {"name": "support", "type": "uint8"},
            {"name": "voter", "type": "address"},
            {"name": "nonce", "type": "uint256"},
        ]
    }
    message = {"proposalId": proposal_id, "support": support, "voter": str(voter.address), "nonce": nonce}
    return bytes(sign_typed(voter.private_key, domain, types, message).signature)
