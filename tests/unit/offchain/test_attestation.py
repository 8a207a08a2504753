"""The protocol's EIP-712 messages: the eip712 library's classes, the fast digest
path the worker and the channel client use, and the encoding the contracts check."""

import re
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.attestation import (
    MESSAGES,
    SECP256K1_N,
    BadSignature,
    InferenceReceipt,
    InferenceResult,
    Voucher,
    recover_address,
    recover_digest,
    sign_digest,
)

ROOT = Path(__file__).resolve().parents[3]
KEY = "0x" + "4f" * 32
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SOURCES = {"InferenceResult": "contracts/market/InferenceMarket.vy", "Voucher": "contracts/market/PaymentChannels.vy",
           "InferenceReceipt": "contracts/market/PaymentChannels.vy"}
DOMAIN_FIELDS = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                 {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]

words = st.binary(min_size=32, max_size=32)
uints = st.integers(min_value=0, max_value=2**256 - 1)
chains = st.integers(min_value=1, max_value=2**64)
fields = {
    InferenceResult: st.fixed_dictionaries({"requestId": uints, "modelId": uints, "inputHash": words,
                                            "resultHash": words}),
    Voucher: st.fixed_dictionaries({"channelId": words, "amount": uints}),
    InferenceReceipt: st.fixed_dictionaries({"channelId": words, "seq": uints, "inputHash": words,
                                             "resultHash": words}),
}


def contract_type(name: str) -> str:
    """The type string the contract hashes, read from its source."""
    return re.search(rf'"({name}\([^"]*\))"', (ROOT / SOURCES[name]).read_text()).group(1)


def hand_written_digest(cls, message: dict, chain_id: int) -> bytes:
    """The digest of the typed-data JSON written out by hand from the contract's type string."""
    members = re.fullmatch(rf"{cls.__name__}\((.*)\)", contract_type(cls.__name__)).group(1).split(",")
    types = [{"name": m.split()[1], "type": m.split()[0]} for m in members]
    return _hash_eip191_message(encode_typed_data(full_message={
        "types": {"EIP712Domain": DOMAIN_FIELDS, cls.__name__: types}, "primaryType": cls.__name__,
        "domain": {"name": cls.DOMAIN, "version": "1", "chainId": chain_id, "verifyingContract": CONTRACT},
        "message": message}))


@pytest.mark.parametrize("cls", list(fields), ids=lambda c: c.__name__)
@settings(max_examples=25, deadline=None)
@given(data=st.data(), chain_id=chains)
def test_digest__any_message__fast_path_equals_library_and_contract_encoding(cls, data, chain_id):
    message = data.draw(fields[cls])
    bound = cls.bound(chain_id=chain_id, contract=CONTRACT, **message)
    assert bound.digest() == bound.library_digest() == hand_written_digest(cls, message, chain_id)


def sample(cls) -> dict:
    """A message of `cls` with every field set (from the contract's type string)."""
    members = [m.split() for m in re.fullmatch(rf"{cls.__name__}\((.*)\)", contract_type(cls.__name__)).group(1)
               .split(",")]
    return {name: 7 if kind == "uint256" else b"\x07" * 32 for kind, name in members}


@pytest.mark.parametrize("cls", list(fields), ids=lambda c: c.__name__)
def test_sign__recovered__signer_is_key_and_other_domain_is_not(cls):
    message = sample(cls)
    signature = cls.bound(chain_id=1, contract=CONTRACT, **message).sign(KEY)
    signer = Account.from_key(KEY).address
    assert cls.bound(chain_id=1, contract=CONTRACT, **message).signer(signature) == signer
    assert cls.bound(chain_id=2, contract=CONTRACT, **message).signer(signature) != signer  # no cross-chain replay
    other = "0x" + "12" * 20
    assert cls.bound(chain_id=1, contract=other, **message).signer(signature) != signer  # nor cross-contract
    # A wallet signing the library's typed data (eth-account's path) makes the same signature.
    wallet = Account.sign_message(cls.bound(chain_id=1, contract=CONTRACT, **message).signable_message, KEY)
    assert bytes(wallet.signature) == signature


def test_type_hash__each_message__is_the_contracts():
    from offchain.attestation import _type_hash

    for name, cls in MESSAGES.items():
        assert _type_hash(cls) == keccak(contract_type(name).encode())


# ---------------------------------------------------------------- signatures through libsecp256k1

keys = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(lambda k: "0x" + k.to_bytes(32, "big").hex())


@settings(max_examples=50, deadline=None)
@given(key=keys, digest=words)
def test_sign_digest__random_key__same_bytes_as_eth_account_and_recovered_alike(key, digest):
    signature = sign_digest(digest, key)
    assert signature == bytes(Account.unsafe_sign_hash(digest, key).signature)
    assert recover_digest(digest, signature) == Account._recover_hash(digest, signature=signature) \
        == Account.from_key(key).address
    assert recover_address(digest, signature) == bytes.fromhex(Account.from_key(key).address[2:])


@settings(max_examples=25, deadline=None)
@given(key=keys, data=st.data(), chain_id=chains)
def test_recover_for__any_message__equals_bound_message_signer(key, data, chain_id):
    cls = data.draw(st.sampled_from(list(fields)))
    message = data.draw(fields[cls])
    signature = cls.sign_for(key, chain_id=chain_id, contract=CONTRACT, **message)
    assert cls.digest_for(chain_id=chain_id, contract=CONTRACT, **message) == \
        cls.bound(chain_id=chain_id, contract=CONTRACT, **message).library_digest()
    assert "0x" + cls.recover_for(signature, chain_id=chain_id, contract=CONTRACT, **message).hex() == \
        Account.from_key(key).address.lower()


def malleable(signature: bytes) -> bytes:
    """The same signature with s -> n - s and v flipped: ecrecover takes it, the contracts do not."""
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes((55 - signature[64],))


@pytest.mark.parametrize("mangle, reason", [
    (lambda sig: malleable(sig), "s not in the lower half"),
    (lambda sig: sig[:64] + bytes((sig[64] - 27,)), "v must be 27 or 28"),
    (lambda sig: sig[:64] + b"\x1d", "v must be 27 or 28"),
    (lambda sig: b"\x00" * 32 + sig[32:], "r or s out of range"),
    (lambda sig: sig[:32] + b"\x00" * 32 + sig[64:], "r or s out of range"),
    (lambda sig: SECP256K1_N.to_bytes(32, "big") + sig[32:], "r or s out of range"),
    (lambda sig: sig[:64], "65 bytes"),
], ids=["high-s", "v-0-or-1", "v-29", "r-zero", "s-zero", "r-n", "64-bytes"])
def test_recover_digest__signature_the_contracts_refuse__bad_signature(mangle, reason):
    digest = keccak(b"a voucher")
    signature = sign_digest(digest, KEY)
    with pytest.raises(BadSignature, match=reason):
        recover_digest(digest, mangle(signature))
    if reason == "s not in the lower half":  # eth-account's path takes it: the worker used to
        assert Account._recover_hash(digest, signature=mangle(signature)) == Account.from_key(KEY).address
