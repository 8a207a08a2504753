"""Holder revenue: pro-rata ETH through a running per-token accumulator."""

import ape

from tests.utils.constants import ETH, ZERO_ADDRESS as ZERO


def test_deposit__splits_pro_rata_to_holders(token, deployer, alice, bob, carol):
    tx = token.deposit_revenue(sender=deployer, value=10 * ETH)
    assert token.withdrawable_revenue(alice) == 3 * ETH
    assert token.withdrawable_revenue(bob) == 2 * ETH
    assert token.withdrawable_revenue(carol) == ETH // 2
    assert token.withdrawable_revenue(deployer) == 45 * ETH // 10
    log = tx.decode_logs(token.RevenueDeposited)[0]
    assert (log.sender, log.amount) == (deployer.address, 10 * ETH)
    assert token.total_revenue_deposited() == 10 * ETH


def test_deposit__zero_value__reverts(token, deployer):
    with ape.reverts("GovernanceToken: nothing to deposit"):
        token.deposit_revenue(sender=deployer, value=0)


def test_transfer__revenue_before_stays_with_sender(token, deployer, alice, mallory):
    token.deposit_revenue(sender=deployer, value=10 * ETH)
    token.transfer(mallory, 30_000_000 * ETH, sender=alice)
    assert token.withdrawable_revenue(alice) == 3 * ETH
    assert token.withdrawable_revenue(mallory) == 0
    token.deposit_revenue(sender=deployer, value=10 * ETH)
    assert token.withdrawable_revenue(alice) == 3 * ETH
    assert token.withdrawable_revenue(mallory) == 3 * ETH


def test_mint_and_burn__change_shares_of_later_deposits_only(token, minting, deployer, alice, mallory):
    token.deposit_revenue(sender=deployer, value=10 * ETH)
    token.mint(mallory, 100_000_000 * ETH, sender=minting)  # supply doubles
    token.burn(30_000_000 * ETH, sender=alice)  # alice leaves
    token.deposit_revenue(sender=deployer, value=17 * ETH)  # 170M supply now
    assert token.withdrawable_revenue(alice) == 3 * ETH
    assert token.withdrawable_revenue(mallory) == 10 * ETH


def test_withdraw__pays_and_logs(token, deployer, alice):
    token.deposit_revenue(sender=deployer, value=10 * ETH)
    before = alice.balance
    tx = token.withdraw_revenue(sender=alice)
    assert alice.balance == before + 3 * ETH - tx.total_fees_paid
    assert token.withdrawable_revenue(alice) == 0
    assert token.total_revenue_withdrawn() == 3 * ETH
    assert tx.decode_logs(token.RevenueWithdrawn)[0].amount == 3 * ETH


def test_withdraw__nothing_owed__reverts(token, mallory):
    with ape.reverts("GovernanceToken: no revenue to withdraw"):
        token.withdraw_revenue(sender=mallory)


def test_withdraw__twice__second_reverts(token, deployer, alice):
    token.deposit_revenue(sender=deployer, value=10 * ETH)
    token.withdraw_revenue(sender=alice)
    with ape.reverts("GovernanceToken: no revenue to withdraw"):
        token.withdraw_revenue(sender=alice)


def test_withdraw__reentrant_receiver__reverts_and_keeps_revenue(project, token, deployer, alice):
    holder = deployer.deploy(project.MockTokenUser, token)
    token.transfer(holder, 10_000_000 * ETH, sender=alice)
    token.deposit_revenue(sender=deployer, value=10 * ETH)
    owed = token.withdrawable_revenue(holder)
    assert owed == 1 * ETH
    with ape.reverts():
        holder.withdraw_revenue(True, sender=deployer)
    assert token.withdrawable_revenue(holder) == owed
    holder.withdraw_revenue(False, sender=deployer)
    assert holder.received() == owed


def test_exclusion__by_governance__removes_balance_from_denominator(token, govern, deployer, alice, bob):
    govern((token, "set_revenue_excluded", deployer.address, True))
    assert token.is_revenue_excluded(deployer)
    assert token.excluded_supply() == 45_000_000 * ETH
    token.deposit_revenue(sender=deployer, value=11 * ETH)  # 55M eligible
    assert token.withdrawable_revenue(deployer) == 0
    assert token.withdrawable_revenue(alice) == 6 * ETH
    assert token.withdrawable_revenue(bob) == 4 * ETH


def test_exclusion__transfers_in_and_out_track_excluded_supply(token, govern, deployer, alice):
    govern((token, "set_revenue_excluded", deployer.address, True))
    token.transfer(deployer, 5_000_000 * ETH, sender=alice)
    assert token.excluded_supply() == 50_000_000 * ETH
    token.transfer(alice, 10_000_000 * ETH, sender=deployer)
    assert token.excluded_supply() == 40_000_000 * ETH


def test_exclusion__lifted__earns_only_from_then_on(token, govern, deployer, alice):
    govern((token, "set_revenue_excluded", deployer.address, True))
    token.deposit_revenue(sender=deployer, value=11 * ETH)
    govern((token, "set_revenue_excluded", deployer.address, False))
    assert token.excluded_supply() == 0
    token.deposit_revenue(sender=deployer, value=10 * ETH)
    assert token.withdrawable_revenue(deployer) == 45 * ETH // 10
    assert token.withdrawable_revenue(alice) == 6 * ETH + 3 * ETH


def test_exclusion__by_non_owner__reverts(token, deployer):
    with ape.reverts("ownable: caller is not the owner"):
        token.set_revenue_excluded(deployer, True, sender=deployer)


def test_exclusion__unchanged__reverts(token, govern, deployer):
    # The timelock bubbles the token's revert reason up through execute.
    with ape.reverts("GovernanceToken: exclusion unchanged"):
        govern((token, "set_revenue_excluded", deployer.address, False))


def test_exclusion__zero_address__reverts(token, govern):
    with ape.reverts("GovernanceToken: account is the zero address"):
        govern((token, "set_revenue_excluded", ZERO, True))


def test_deposit__no_eligible_supply__waits_for_next_deposit(project, deployer, alice):
    from offchain.deploy import GovernanceConfig, deploy_system

    empty = deploy_system(project, deployer, GovernanceConfig(initial_supply=0)).GovernanceToken
    empty.deposit_revenue(sender=deployer, value=5 * ETH)
    assert empty.undistributed_revenue() == 5 * ETH
    assert empty.revenue_per_token() == 0
