"""EIP-712 signatures made the way wallets make them, from the `eip712` package's
message classes (the protocol's own ones are in `offchain.attestation`): for
permit, delegateBySig and castVote(...)BySig tests, with knobs for replay attempts."""

from __future__ import annotations

from eip712.messages import EIP712Domain, EIP712Message
from eth_account import Account
from eth_pydantic_types import abi


class Permit(EIP712Message):
    owner: abi.address
    spender: abi.address
    value: abi.uint256
    nonce: abi.uint256
    deadline: abi.uint256


class Delegation(EIP712Message):
    delegatee: abi.address
    nonce: abi.uint256
    expiry: abi.uint256


class Ballot(EIP712Message):
    proposalId: abi.uint256
    support: abi.uint8
    voter: abi.address
    nonce: abi.uint256


class ExtendedBallot(EIP712Message):
    proposalId: abi.uint256
    support: abi.uint8
    voter: abi.address
    nonce: abi.uint256
    reason: abi.string
    params: abi.bytes


def domain(contract, chain_id: int, verifying_contract=None) -> EIP712Domain:
    """The (name(), "1", chain id, address) domain the token and the Governor use."""
    return EIP712Domain(name=contract.name(), version="1", chainId=chain_id,
                        verifyingContract=str(verifying_contract or contract.address))


def sign(private_key, message: EIP712Message):
    """Returns the SignedMessage (v, r, s, signature)."""
    return Account.sign_message(message.signable_message, private_key)


def _vrs(signed) -> tuple:
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def permit_signature(owner, token, spender, value, nonce, deadline, *, chain_id, verifying_contract=None):
    message = Permit(eip712_domain=domain(token, chain_id, verifying_contract), owner=str(owner.address),
                     spender=str(spender), value=value, nonce=nonce, deadline=deadline)
    return _vrs(sign(owner.private_key, message))


def delegation_signature(signer, token, delegatee, nonce, expiry, *, chain_id, verifying_contract=None):
    message = Delegation(eip712_domain=domain(token, chain_id, verifying_contract), delegatee=str(delegatee),
                         nonce=nonce, expiry=expiry)
    return _vrs(sign(signer.private_key, message))


def ballot_signature(voter, governor, proposal_id, support, nonce, *, chain_id, verifying_contract=None) -> bytes:
    message = Ballot(eip712_domain=domain(governor, chain_id, verifying_contract), proposalId=proposal_id,
                     support=support, voter=str(voter.address), nonce=nonce)
    return bytes(sign(voter.private_key, message).signature)


def extended_ballot_signature(voter, governor, proposal_id, support, reason, params, nonce, *, chain_id) -> bytes:
    message = ExtendedBallot(eip712_domain=domain(governor, chain_id), proposalId=proposal_id, support=support,
                             voter=str(voter.address), nonce=nonce, reason=reason, params=params)
    return bytes(sign(voter.private_key, message).signature)
