"""Pull-payment checks shared by the state machines (contracts/modules/pull_payments.vy)."""

import ape


def withdraw_checked(contract, account, owed: int) -> None:
    """`account` withdraws from `contract`, which the model says owes it `owed`: with nothing owed the
    call reverts; otherwise the Withdrawn event pays exactly `owed`."""
    if owed == 0:
        with ape.reverts("pull_payments: nothing to withdraw"):
            contract.withdraw(sender=account)
        return
    tx = contract.withdraw(sender=account)
    assert tx.decode_logs(contract.Withdrawn)[0].amount == owed
