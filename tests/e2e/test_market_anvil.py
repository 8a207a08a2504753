"""The same request-to-withdrawal path on a real anvil node."""

from ape import networks

from tests.e2e.anvil import running_anvil
from tests.utils.paths import request_to_withdrawal


def test_request_to_withdrawal_on_anvil(project, accounts):
    with running_anvil():
        with networks.ethereum.local.use_provider("foundry") as provider:
            assert provider.name == "foundry"
            got = request_to_withdrawal(project, accounts)
    payment = got["payment"]
    paid = got["worker"] + got["shareholders"] + got["token holders"] + got["treasury"]
    assert payment - 1 <= paid <= payment  # at most 1 wei of accumulator dust stays in the token
    assert got["market balance after"] == 0
