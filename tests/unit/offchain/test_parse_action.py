"""Command-line action parsing of `ape run dao propose` (no chain needed)."""

from types import SimpleNamespace

import pytest

from offchain.errors import ProposalError
from offchain.governance import parse_action

ADDRESS = "0x" + "ab" * 20
CONTRACTS = {
    "Governor": SimpleNamespace(address="0x" + "01" * 20),
    "Timelock": SimpleNamespace(address="0x" + "02" * 20),
}


def test_parse__typed_arguments():
    contract, method, args = parse_action(
        f"Governor.f({ADDRESS}, 0x1234, true, 5e18, 1_000, Timelock, 'two words')", CONTRACTS
    )
    assert contract is CONTRACTS["Governor"]
    assert method == "f"
    assert args == [ADDRESS, b"\x12\x34", True, 5 * 10**18, 1000, "0x" + "02" * 20, "two words"]


def test_parse__no_arguments():
    assert parse_action("Governor.g()", CONTRACTS)[2] == []


@pytest.mark.parametrize("text", ["Governor.f", "f(1)", "Governor.f(1"])
def test_parse__malformed__clear_error(text):
    with pytest.raises(ProposalError, match="expected Contract.method"):
        parse_action(text, CONTRACTS)


def test_parse__unknown_contract__lists_known():
    with pytest.raises(ProposalError, match="deployed contracts are Governor, Timelock"):
        parse_action("Treasury.f(1)", CONTRACTS)


def test_parse__bad_hex__clear_error():
    with pytest.raises(ProposalError, match="neither an address nor hex bytes"):
        parse_action("Governor.f(0xZZ)", CONTRACTS)


def test_parse__lists_and_nested_tuples():
    _, _, args = parse_action(
        f"Governor.open_bounty('spec, v2', [1, 2, 3], [{ADDRESS}, Timelock], (7, [true, false], 'x'), [])", CONTRACTS
    )
    assert args == ["spec, v2", [1, 2, 3], [ADDRESS, "0x" + "02" * 20], (7, [True, False], "x"), []]


def test_parse__nested_lists():
    assert parse_action("Governor.f([[1, 2], [3]], -4)", CONTRACTS)[2] == [[[1, 2], [3]], -4]


@pytest.mark.parametrize("text, reason", [
    ("Governor.f([1, 2)", "unclosed"),
    ("Governor.f([1, 2)])", "unbalanced"),
    ("Governor.f(1])", "unbalanced"),
    ("Governor.f('open)", "unclosed"),
    ("Governor.f(1,,2)", "empty argument"),
    ("Governor.f([1,])", "empty argument"),
])
def test_parse__malformed_list__clear_error(text, reason):
    with pytest.raises(ProposalError, match=reason):
        parse_action(text, CONTRACTS)


@pytest.mark.parametrize("amount,wei", [("0.1 ether", 10**17), ("20 gwei", 20 * 10**9), ("1_000 ETH", 1000 * 10**18),
                                        ("5 wei", 5)])
def test_parse__eth_amount__in_wei(amount, wei):
    assert parse_action(f"Timelock.f({amount})", CONTRACTS)[2] == [wei]


def test_parse__amount_with_unknown_unit__clear_error():
    with pytest.raises(ProposalError, match="'3 bitcoin' is not an amount: write a number and a unit"):
        parse_action("Timelock.f(3 bitcoin)", CONTRACTS)
