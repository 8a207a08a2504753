"""GovernanceToken under random transfers, mints, burns, delegations, revenue
deposits, withdrawals and exclusion changes, checked against an exact model.

After every step:
- the token's ETH equals deposits minus withdrawals;
- each holder's withdrawable revenue is at most its exact pro-rata share (a
  Fraction model) and short of it by less than one wei per deposit;
- withdrawable + undistributed never exceeds the ETH held (dust >= 0);
- supply equals the sum of balances; total votes equal the delegated supply.
"""

from fractions import Fraction

import pytest
from ape import chain
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.utils.constants import ETH, ZERO_ADDRESS as ZERO


amounts = st.integers(min_value=1, max_value=10**6 * ETH)
wei = st.integers(min_value=1, max_value=100 * ETH)
fractions = st.fractions(min_value=0, max_value=1)
index = st.integers(min_value=0, max_value=4)


@pytest.fixture(scope="module")
def standalone_token(project, accounts):
    """A token governed by a plain account, so rules can mint and exclude directly."""
    governance = accounts[8]
    token = governance.deploy(project.GovernanceToken, "Model", "MDL", accounts[0], 1_000 * ETH)
    return token, governance


def test_token_state_machine(standalone_token, accounts):
    token, governance = standalone_token
    holders = list(accounts[:5])

    class TokenMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.balance = {h.address: token.balanceOf(h) for h in holders}
            self.excluded = {h.address: False for h in holders}
            self.delegate = {h.address: ZERO for h in holders}
            self.owed = {h.address: Fraction(0) for h in holders}  # exact model
            self.withdrawn = {h.address: 0 for h in holders}
            self.deposited = 0
            self.deposits = 0
            self.pool = 0  # deposits waiting for an eligible holder

        def teardown(self):
            chain.restore(self.snapshot)

        @rule(i=index, j=index, share=fractions)
        def transfer(self, i, j, share):
            sender, receiver = holders[i], holders[j]
            amount = int(self.balance[sender.address] * share)
            token.transfer(receiver, amount, sender=sender)
            self.balance[sender.address] -= amount
            self.balance[receiver.address] += amount

        @rule(j=index, amount=amounts)
        def mint(self, j, amount):
            token.mint(holders[j], amount, sender=governance)
            self.balance[holders[j].address] += amount

        @rule(i=index, share=fractions)
        def burn(self, i, share):
            amount = int(self.balance[holders[i].address] * share)
            token.burn(amount, sender=holders[i])
            self.balance[holders[i].address] -= amount

        @rule(i=index, j=st.integers(min_value=0, max_value=5))
        def delegate_to(self, i, j):
            delegatee = ZERO if j == 5 else holders[j].address
            token.invoke_transaction("delegate", delegatee, sender=holders[i])
            self.delegate[holders[i].address] = delegatee

        @rule(i=index)
        def toggle_exclusion(self, i):
            account = holders[i].address
            token.set_revenue_excluded(account, not self.excluded[account], sender=governance)
            self.excluded[account] = not self.excluded[account]

        @rule(amount=wei)
        def deposit(self, amount):
            token.deposit_revenue(sender=accounts[9], value=amount)
            self.deposited += amount
            self.deposits += 1
            eligible = {a: b for a, b in self.balance.items() if not self.excluded[a] and b > 0}
            total = sum(eligible.values())
            if total == 0:
                self.pool += amount
                return
            amount += self.pool
            self.pool = 0
            for account, balance in eligible.items():
                self.owed[account] += Fraction(amount * balance, total)

        @rule(i=index)
        def withdraw(self, i):
            holder = holders[i]
            available = token.withdrawable_revenue(holder)
            if available == 0:
                return
            tx = token.withdraw_revenue(sender=holder)
            assert tx.decode_logs(token.RevenueWithdrawn)[0].amount == available
            self.withdrawn[holder.address] += available

        @rule(seconds=st.integers(min_value=1, max_value=3600))
        def wait(self, seconds):
            chain.mine(timestamp=chain.pending_timestamp + seconds)

        @invariant()
        def eth_is_conserved(self):
            held = token.balance
            assert held == self.deposited - sum(self.withdrawn.values())
            withdrawable = sum(token.withdrawable_revenue(h) for h in holders)
            assert token.undistributed_revenue() == self.pool
            assert withdrawable + self.pool <= held  # dust never negative

        @invariant()
        def shares_are_exact(self):
            for h in holders:
                expected = self.owed[h.address] - self.withdrawn[h.address]
                actual = token.withdrawable_revenue(h)
                assert actual <= expected
                assert expected - actual < self.deposits + 1

        @invariant()
        def supply_and_votes_add_up(self):
            assert token.totalSupply() == sum(self.balance.values())
            for h in holders:
                assert token.balanceOf(h) == self.balance[h.address]
            delegated = sum(b for a, b in self.balance.items() if self.delegate[a] != ZERO)
            assert sum(token.getVotes(h) for h in holders) == delegated

    run_state_machine_as_test(
        TokenMachine, settings=settings(max_examples=max(settings.default.max_examples // 3, 1))
    )
