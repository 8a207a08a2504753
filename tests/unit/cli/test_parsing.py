"""The command-line value parsers every script shares (no chain needed), and local time travel."""

from decimal import Context, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.cli import advance_time, advance_to, fmt_eth, fmt_span, parse_address, parse_amount, parse_count, parse_duration, short_id
from offchain.errors import InvalidInput


@pytest.mark.parametrize("text, wei", [
    ("0.1 ether", 10**17), ("500 gwei", 500 * 10**9), ("10 wei", 10), ("2.5", 25 * 10**17), ("1_000", 1000 * 10**18),
    ("3 ETH", 3 * 10**18), ("1e-9", 10**9), (" 7 ether ", 7 * 10**18), ("42 ncom", 42 * 10**18),
])
def test_parse_amount__units__wei(text, wei):
    assert parse_amount(text) == wei


@pytest.mark.parametrize("text, says", [
    ("-1", "is negative"), ("lots", "is not a number"), ("1 bananas", "unknown unit 'bananas'"),
    ("nan", "is not a number"), ("inf", "is not a number"), ("0", "is zero"), ("0.5 wei", "fraction of a wei"),
    ("", "is not an amount"), ("1 2 ether", "is not an amount"),
])
def test_parse_amount__wrong__says_what(text, says):
    with pytest.raises(InvalidInput, match=says):
        parse_amount(text)


def test_parse_amount__zero_allowed_when_asked():
    assert parse_amount("0", allow_zero=True) == 0


@given(st.integers(min_value=1, max_value=10**30))
def test_parse_amount__wei_round_trip(wei):
    assert parse_amount(f"{wei} wei") == wei
    # scaleb in a context wide enough for any uint256: the default 28 digits would round the expected value
    assert parse_amount(str(Decimal(wei).scaleb(-18, context=Context(prec=80)))) == wei


@pytest.mark.parametrize("text, seconds", [
    ("2d", 172_800), ("6h", 21_600), ("30m", 1_800), ("45s", 45), ("1w", 604_800), ("90", 90), ("1.5h", 5_400),
    ("2D", 172_800),
])
def test_parse_duration__units__seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-5", "0", "2 days", "d", "1y"])
def test_parse_duration__wrong__refused(text):
    with pytest.raises(InvalidInput):
        parse_duration(text)


@pytest.mark.parametrize("text, says", [("-5", "must be positive"), ("0", "must be positive"),
                                        ("many", "not a whole number"), ("1.5", "not a whole number")])
def test_parse_count__wrong__says_what(text, says):
    with pytest.raises(InvalidInput, match=says):
        parse_count(text, "--items")


def test_formats():
    assert fmt_eth(10**9) == "0.000000001"
    assert fmt_eth(15 * 10**17) == "1.500000"
    assert fmt_eth(12_345 * 10**18) == "12,345.000000"
    assert fmt_span(90_061) == "1d 1h"
    assert fmt_span(59) == "59s"
    assert short_id(2**255 + 1) == "8000000000"


def test_parse_address__test_alias__that_test_accounts_address(accounts):
    assert parse_address("TEST::5") == accounts[5].address
    assert parse_address("TEST::0") == accounts[0].address
    assert parse_address(accounts[3].address.lower()) == accounts[3].address


@pytest.mark.parametrize("text", ["TEST::99", "TEST::x", "0x1234", "nobody"])
def test_parse_address__unknown__says_what(text):
    with pytest.raises(InvalidInput, match=f"shareholder '{text}' is neither an address"):
        parse_address(text, "shareholder")


def test_advance_to__pending_block_ahead_of_head__mines_at_that_time(chain):
    # A node that follows the wall clock (anvil on a slow machine) has its pending block seconds ahead of the
    # head: "deadline - pending" added to the head landed before the deadline and failed CI once.
    head = chain.blocks.head.timestamp
    chain.pending_timestamp = head + 30
    assert advance_to(head + 100) == head + 100
    later = advance_to(head + 50)  # a time already past: the next block, never back
    assert later > head + 100
    assert advance_time(3_600) == later + 3_600  # from the head, not from the pending block
