"""Contract-model inputs (an on-chain reference bound to a code hash) and the `scores-uint256` encoding:
plain pytest, no chain."""

import numpy as np
import pytest
from eth_utils import keccak

from offchain import verification
from offchain import canonical, inputs
from offchain.errors import BadInput, NeuralCommonsError

CODE = bytes.fromhex("6080604052")
ADDRESS = "0x" + "ab" * 20
SCHEMA = {"kind": "contract", "max_bytes": 256, "max_code_bytes": 24_576}


def document(**overrides) -> bytes:
    fields = {"chain_id": 1337, "address": ADDRESS, "block": 12, "code_hash": keccak(CODE)}
    fields.update(overrides)
    return inputs.encode_contract(**fields)


def test_encode_contract__canonical_compact_sorted_lowercase():
    doc = inputs.encode_contract(1337, "0x" + "AB" * 20, 12, keccak(CODE))
    assert doc == (b'{"address":"0x' + b"ab" * 20 + b'","block":12,"chain_id":1337,"code_hash":"0x'
                   + keccak(CODE).hex().encode() + b'"}')


def test_parse__canonical_reference__parsed():
    ref = inputs.parse(SCHEMA, document())
    assert ref == inputs.ContractRef(1337, ADDRESS, 12, keccak(CODE))


@pytest.mark.parametrize("data,reason", [
    (b"not json", "input is not JSON"),
    (b'{"address":"x"}', "exactly address, block, chain_id, code_hash"),
    (document(address="0x12"), "'address' must be"),
    (document(code_hash="0x1234"), "'code_hash' must be"),
    (document().replace(b'"block":12', b'"block":-1'), "'block' must be a non-negative integer"),
    (document().replace(b'"chain_id":1337', b'"chain_id":true'), "'chain_id' must be a non-negative integer"),
    (document().replace(b",", b", "), "not in canonical form"),
    (b" " * 257, "the model accepts at most 256"),
])
def test_parse__malformed_reference__bad_input(data, reason):
    with pytest.raises(BadInput, match=reason):
        inputs.parse(SCHEMA, data)


def test_contract_code__matching_hash__the_code():
    ref = inputs.parse_contract(document())
    assert inputs.contract_code(ref, 1337, lambda address, block: CODE, 24_576) == CODE


@pytest.mark.parametrize("chain_id,code,limit,reason", [
    (1, CODE, 24_576, "names chain 1337; this worker is on chain 1"),
    (1337, b"", 24_576, "no code at"),
    (1337, CODE + b"\x00", 24_576, "hashes to .* refused"),  # another contract's code under this reference
    (1337, CODE, 4, "is 5 bytes; the model accepts at most 4"),
])
def test_contract_code__mismatch__refused(chain_id, code, limit, reason):
    ref = inputs.parse_contract(document())
    with pytest.raises(BadInput, match=reason):
        inputs.contract_code(ref, chain_id, lambda address, block: code, limit)


def test_contract_code__reads_the_named_block():
    seen = []
    ref = inputs.parse_contract(document(block=99))
    inputs.contract_code(ref, 1337, lambda address, block: seen.append((address, block)) or CODE, 24_576)
    assert seen == [(ADDRESS, 99)]


def test_scores__round_trip_and_words():
    (data,) = canonical.encode("scores-uint256", 10_000, np.array([[0.13334, 1.0, 0.0]]))
    assert len(data) == 96 and int.from_bytes(data[:32], "big") == 1_333
    assert canonical.decode("scores-uint256", 10_000, data) == {"scores": [0.1333, 1.0, 0.0]}


@pytest.mark.parametrize("outputs", [[[1.5]], [[-0.1]], [[np.nan]], [0.5]])
def test_scores__out_of_range__refused(outputs):
    with pytest.raises(NeuralCommonsError):
        canonical.encode("scores-uint256", 10_000, np.array(outputs))


@pytest.mark.parametrize("data", [b"", b"\x00" * 31, (10_001).to_bytes(32, "big")])
def test_scores__malformed_bytes__refused(data):
    with pytest.raises(NeuralCommonsError):
        canonical.decode_scores(10_000, data)


def test_scores_tolerance__one_step_passes_two_fail():
    encoding = {"kind": "scores-uint256", "scale": 10_000}
    policy = {"policy": "tolerance", "metric": "max_abs", "bound": 1.5e-4}
    words = lambda *v: b"".join(x.to_bytes(32, "big") for x in v)  # noqa: E731
    assert verification.within_tolerance(encoding, policy, words(5_001, 20), words(5_000, 20))[0]
    assert not verification.within_tolerance(encoding, policy, words(5_002, 20), words(5_000, 20))[0]
    assert verification.within_tolerance(encoding, policy, b"junk", words(5_000))[0] is False
