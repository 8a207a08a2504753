"""A request travels to every party's withdrawal on the embedded chain."""

from tests.utils.paths import request_to_withdrawal


def test_request_to_withdrawal__every_party_paid__market_empty(project, accounts):
    got = request_to_withdrawal(project, accounts)
    payment = got["payment"]
    assert got["worker"] == payment * 7_000 // 10_000
    assert got["shareholders"] == payment * 2_000 // 10_000  # the author holds every share
    # The deployer holds every eligible token (the worker's stake is excluded);
    # the accumulator rounds down, so at most 1 wei of dust stays in the token.
    holders_cut = payment * 500 // 10_000
    assert holders_cut - 1 <= got["token holders"] <= holders_cut
    paid = got["worker"] + got["shareholders"] + got["token holders"] + got["treasury"]
    assert payment - 1 <= paid <= payment
    assert got["market balance after"] == 0
