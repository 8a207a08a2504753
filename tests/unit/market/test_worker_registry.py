"""WorkerRegistry: staking, signer and endpoint, unbonding, slashing, reputation, governance."""

import ape
import pytest
from ape import chain

from tests.conftest import MIN_STAKE
from tests.utils.constants import DAY, ETH, ZERO_ADDRESS as ZERO

DELAY = DAY  # unbonding delay of the standalone registry
ENDPOINT = "https://worker.example/v1"


@pytest.fixture(scope="module", autouse=True)
def _module_fixtures_first(reg, slasher, system, workers, market, token, timelock, govern, staked_worker, deployer,
                           worker, dave, carol, mallory, bob, alice):
    """Module-scoped fixtures exist before the first test, so isolation never rebases them."""


@pytest.fixture(scope="module")
def reg(project, deployer, token):
    """A standalone registry governed by the deployer (min stake 1,000 tokens, one day to unbond)."""
    return deployer.deploy(project.WorkerRegistry, token, MIN_STAKE, DELAY)


@pytest.fixture(scope="module")
def slasher(reg, deployer, app_builder):
    """An account the standalone registry lets slash and record reputation."""
    reg.set_permissions(app_builder, True, True, sender=deployer)
    return app_builder


def join(registry, token, deployer, account, *, amount=MIN_STAKE, signer=None, endpoint=ENDPOINT):
    """Funds `account`, approves and registers it; returns the receipt."""
    token.transfer(account, amount, sender=deployer)
    token.approve(registry, amount, sender=account)
    return registry.register(signer or account, endpoint, amount, sender=account)


def fund(registry, token, deployer, account, amount):
    token.transfer(account, amount, sender=deployer)
    token.approve(registry, amount, sender=account)


@pytest.fixture
def joined(reg, token, deployer, worker, bob):
    """`worker` staked exactly the minimum in the standalone registry; bob's key signs for it."""
    join(reg, token, deployer, worker, signer=bob)
    return worker


def unbond(registry, account):
    """Unbonds `account`; returns the time it may withdraw."""
    return registry.unbond(sender=account).decode_logs(registry.UnbondingStarted)[0].withdrawable_at


# ---------------------------------------------------------------- deployment and wiring


def test_deploy__system__timelock_governs_market_authorised_stake_earns_no_revenue(workers, market, token, timelock,
                                                                                  deployer):
    assert workers.owner() == timelock.address
    assert workers.token() == token.address
    assert (workers.min_stake(), workers.unbonding_delay()) == (MIN_STAKE, 7 * DAY)
    assert workers.can_slash(market) and workers.can_record(market)
    assert not workers.can_slash(deployer) and not workers.can_record(deployer)
    assert token.is_revenue_excluded(workers)


def test_deploy__standalone__deployer_governs(reg, token, deployer):
    assert reg.owner() == deployer.address
    assert (reg.token(), reg.min_stake(), reg.unbonding_delay()) == (token.address, MIN_STAKE, DELAY)


# ---------------------------------------------------------------- register


def test_register__stakes_and_logs(reg, token, deployer, worker, bob):
    fund(reg, token, deployer, worker, MIN_STAKE)
    tx = reg.register(bob, ENDPOINT, MIN_STAKE, sender=worker)
    state = reg.workers(worker)
    assert (state.stake, state.signer, state.withdrawable_at, state.endpoint) == (MIN_STAKE, bob.address, 0, ENDPOINT)
    assert token.balanceOf(reg) == MIN_STAKE
    assert token.balanceOf(worker) == 0
    log = tx.decode_logs(reg.WorkerRegistered)[0]
    assert (log.worker, log.signer, log.stake, log.endpoint) == (worker.address, bob.address, MIN_STAKE, ENDPOINT)
    assert reg.is_active(worker)
    assert reg.active_signer(worker) == bob.address


def test_register__above_minimum__whole_amount_staked(reg, token, deployer, dave):
    join(reg, token, deployer, dave, amount=3 * MIN_STAKE, endpoint="")
    assert reg.workers(dave).stake == reg.stake_of(dave) == 3 * MIN_STAKE
    assert reg.workers(dave).endpoint == ""
    assert reg.active_signer(dave) == dave.address


def test_register__in_system__fixture_worker_active(workers, staked_worker):
    assert workers.is_active(staked_worker)
    assert workers.active_signer(staked_worker) == staked_worker.address


def test_register__twice__reverts(reg, token, deployer, joined):
    fund(reg, token, deployer, joined, MIN_STAKE)
    with ape.reverts("WorkerRegistry: already registered"):
        reg.register(joined, ENDPOINT, MIN_STAKE, sender=joined)
    assert reg.workers(joined).stake == MIN_STAKE


def test_register__zero_signer__reverts(reg, token, deployer, dave):
    fund(reg, token, deployer, dave, MIN_STAKE)
    with ape.reverts("WorkerRegistry: signer is the zero address"):
        reg.register(ZERO, ENDPOINT, MIN_STAKE, sender=dave)


def test_register__below_minimum__reverts(reg, token, deployer, dave):
    fund(reg, token, deployer, dave, MIN_STAKE)
    with ape.reverts("WorkerRegistry: stake below minimum"):
        reg.register(dave, ENDPOINT, MIN_STAKE - 1, sender=dave)
    assert not reg.is_active(dave)


def test_register__without_allowance__reverts(reg, token, deployer, dave):
    token.transfer(dave, MIN_STAKE, sender=deployer)
    with ape.reverts("erc20: insufficient allowance"):
        reg.register(dave, ENDPOINT, MIN_STAKE, sender=dave)
    assert reg.workers(dave).signer == ZERO


def test_register__after_withdraw__registers_again_reputation_kept(reg, token, deployer, joined, slasher):
    reg.record_outcomes(joined, 3, 1, sender=slasher)
    chain.pending_timestamp = unbond(reg, joined)
    reg.withdraw_stake(sender=joined)
    join(reg, token, deployer, joined, endpoint="https://again.example")
    assert reg.is_active(joined)
    assert reg.workers(joined).endpoint == "https://again.example"
    assert (reg.fulfilled(joined), reg.missed(joined)) == (3, 1)


# ---------------------------------------------------------------- add_stake


def test_add_stake__registered__adds_and_logs(reg, token, deployer, joined):
    fund(reg, token, deployer, joined, 5 * ETH)
    tx = reg.add_stake(5 * ETH, sender=joined)
    log = tx.decode_logs(reg.StakeAdded)[0]
    assert (log.worker, log.amount, log.stake) == (joined.address, 5 * ETH, MIN_STAKE + 5 * ETH)
    assert reg.workers(joined).stake == reg.stake_of(joined) == MIN_STAKE + 5 * ETH
    assert token.balanceOf(reg) == MIN_STAKE + 5 * ETH


def test_add_stake__not_registered__reverts(reg, token, deployer, mallory):
    fund(reg, token, deployer, mallory, MIN_STAKE)
    with ape.reverts("WorkerRegistry: not registered"):
        reg.add_stake(MIN_STAKE, sender=mallory)


def test_add_stake__unbonding__reverts(reg, token, deployer, joined):
    unbond(reg, joined)
    fund(reg, token, deployer, joined, ETH)
    with ape.reverts("WorkerRegistry: worker is unbonding"):
        reg.add_stake(ETH, sender=joined)


def test_add_stake__without_allowance__reverts(reg, joined):
    with ape.reverts("erc20: insufficient allowance"):
        reg.add_stake(ETH, sender=joined)
    assert reg.workers(joined).stake == MIN_STAKE


# ---------------------------------------------------------------- set_signer / set_endpoint


def test_set_signer__registered__rotates_and_logs(reg, joined, bob, carol):
    tx = reg.set_signer(carol, sender=joined)
    log = tx.decode_logs(reg.SignerChanged)[0]
    assert (log.worker, log.old_signer, log.new_signer, log.old_binds_until) == (
        joined.address, bob.address, carol.address, tx.timestamp + DELAY)
    assert reg.workers(joined).signer == carol.address
    assert reg.active_signer(joined) == carol.address
    assert reg.retired_until(joined, bob) == tx.timestamp + DELAY


def test_binds__old_key_for_the_unbonding_delay_after_rotation_then_not(reg, joined, bob, carol):
    until = reg.set_signer(carol, sender=joined).timestamp + DELAY
    assert reg.binds(joined, carol) and reg.binds(joined, bob)
    chain.pending_timestamp = until - 1
    chain.mine()
    assert reg.binds(joined, bob)
    chain.pending_timestamp = until
    chain.mine()
    assert not reg.binds(joined, bob)
    assert reg.binds(joined, carol)


def test_binds__other_zero_and_withdrawn__false(reg, joined, bob, mallory):
    assert reg.binds(joined, bob)
    assert not reg.binds(joined, mallory)
    assert not reg.binds(joined, ZERO)
    assert not reg.binds(mallory, mallory)  # never registered
    chain.pending_timestamp = unbond(reg, joined)
    assert reg.binds(joined, bob)  # unbonding: still answers for what it signed
    reg.withdraw_stake(sender=joined)
    assert not reg.binds(joined, bob)


def test_set_signer__same_key__no_grace_recorded(reg, joined, bob):
    tx = reg.set_signer(bob, sender=joined)
    assert tx.decode_logs(reg.SignerChanged)[0].old_binds_until == 0
    assert reg.retired_until(joined, bob) == 0


def test_set_signer__rotating_back_and_away__never_shortens_an_old_keys_time(reg, joined, deployer, bob, carol):
    """Attack: rotate away, then back and away again under a lower delay, hoping the old key's time restarts
    shorter. It only ever grows."""
    first = reg.set_signer(carol, sender=joined).timestamp + DELAY
    reg.set_signer(bob, sender=joined)
    reg.set_unbonding_delay(0, sender=deployer)
    tx = reg.set_signer(carol, sender=joined)
    assert tx.decode_logs(reg.SignerChanged)[0].old_binds_until == first
    assert reg.retired_until(joined, bob) == first
    assert reg.binds(joined, bob)


def test_set_signer__while_unbonding__stored_but_not_active(reg, joined, carol):
    unbond(reg, joined)
    reg.set_signer(carol, sender=joined)
    assert reg.workers(joined).signer == carol.address
    assert reg.active_signer(joined) == ZERO


def test_set_signer__zero_address__reverts(reg, joined, bob):
    with ape.reverts("WorkerRegistry: signer is the zero address"):
        reg.set_signer(ZERO, sender=joined)
    assert reg.workers(joined).signer == bob.address


def test_set_signer__not_registered__reverts(reg, mallory):
    with ape.reverts("WorkerRegistry: not registered"):
        reg.set_signer(mallory, sender=mallory)


def test_set_endpoint__registered__changes_and_logs(reg, joined):
    tx = reg.set_endpoint("https://moved.example", sender=joined)
    log = tx.decode_logs(reg.EndpointChanged)[0]
    assert (log.worker, log.endpoint) == (joined.address, "https://moved.example")
    assert reg.workers(joined).endpoint == "https://moved.example"


def test_set_endpoint__not_registered__reverts(reg, mallory):
    with ape.reverts("WorkerRegistry: not registered"):
        reg.set_endpoint("https://evil.example", sender=mallory)


# ---------------------------------------------------------------- unbond / withdraw


def test_unbond__registered__inactive_at_once_and_logs(reg, joined):
    tx = reg.unbond(sender=joined)
    log = tx.decode_logs(reg.UnbondingStarted)[0]
    assert (log.worker, log.stake, log.withdrawable_at) == (joined.address, MIN_STAKE, tx.timestamp + DELAY)
    assert reg.workers(joined).withdrawable_at == tx.timestamp + DELAY
    assert not reg.is_active(joined)
    assert reg.active_signer(joined) == ZERO


def test_unbond__twice__reverts(reg, joined):
    unbond(reg, joined)
    with ape.reverts("WorkerRegistry: already unbonding"):
        reg.unbond(sender=joined)


def test_unbond__not_registered__reverts(reg, mallory):
    with ape.reverts("WorkerRegistry: not registered"):
        reg.unbond(sender=mallory)


def test_withdraw__after_delay__returns_stake_and_deregisters(reg, token, joined):
    at = unbond(reg, joined)
    chain.pending_timestamp = at  # exactly the first allowed second
    tx = reg.withdraw_stake(sender=joined)
    assert tx.timestamp == at
    log = tx.decode_logs(reg.StakeWithdrawn)[0]
    assert (log.worker, log.amount, log.remaining) == (joined.address, MIN_STAKE, 0)
    assert token.balanceOf(joined) == MIN_STAKE
    assert token.balanceOf(reg) == 0
    state = reg.workers(joined)
    assert (state.stake, state.signer, state.withdrawable_at, state.endpoint) == (0, ZERO, 0, "")
    assert not reg.is_active(joined)
    with ape.reverts("WorkerRegistry: not registered"):
        reg.withdraw_stake(sender=joined)


def test_withdraw__one_second_early__reverts(reg, joined):
    at = unbond(reg, joined)
    chain.pending_timestamp = at - 1
    with ape.reverts("WorkerRegistry: unbonding delay not passed"):
        reg.withdraw_stake(sender=joined)
    assert reg.workers(joined).stake == MIN_STAKE


def test_withdraw__not_unbonding__reverts(reg, joined):
    with ape.reverts("WorkerRegistry: not unbonding"):
        reg.withdraw_stake(sender=joined)


def test_withdraw__not_registered__reverts(reg, mallory):
    with ape.reverts("WorkerRegistry: not registered"):
        reg.withdraw_stake(sender=mallory)


def test_withdraw__delay_changed_after_unbond__original_time_holds(reg, deployer, joined):
    at = unbond(reg, joined)
    reg.set_unbonding_delay(30 * DAY, sender=deployer)
    assert reg.workers(joined).withdrawable_at == at
    chain.pending_timestamp = at
    reg.withdraw_stake(sender=joined)
    assert reg.workers(joined).signer == ZERO


# ---------------------------------------------------------------- is_active / active_signer


def test_is_active__unregistered__false_and_no_signer(reg, mallory):
    assert not reg.is_active(mallory)
    assert reg.active_signer(mallory) == ZERO


def test_is_active__min_stake_raised__under_staked_worker_inactive_until_topped_up(reg, token, deployer, joined, bob):
    reg.set_min_stake(MIN_STAKE + 1, sender=deployer)
    assert not reg.is_active(joined)
    assert reg.active_signer(joined) == ZERO
    assert reg.workers(joined).signer == bob.address  # still registered
    fund(reg, token, deployer, joined, 1)
    reg.add_stake(1, sender=joined)
    assert reg.is_active(joined)
    assert reg.active_signer(joined) == bob.address


def test_is_active__min_stake_lowered__active_again(reg, deployer, joined, bob):
    reg.set_min_stake(MIN_STAKE + 1, sender=deployer)
    reg.set_min_stake(MIN_STAKE, sender=deployer)
    assert reg.is_active(joined)
    assert reg.active_signer(joined) == bob.address


def test_active_since__register__its_block_until_unbond(reg, token, deployer, dave):
    tx = join(reg, token, deployer, dave)
    assert reg.active_since(dave) == tx.block_number
    chain.mine(3)
    assert reg.active_since(dave) == tx.block_number  # unbroken
    reg.unbond(sender=dave)
    assert reg.active_since(dave) == 0


def test_active_since__topped_up_from_below_minimum__block_of_the_top_up(reg, token, deployer, joined, slasher, carol):
    registered = reg.active_since(joined)
    fund(reg, token, deployer, joined, 2 * ETH)
    reg.add_stake(ETH, sender=joined)  # active already: the break-free run goes on
    assert reg.active_since(joined) == registered
    reg.slash(joined, 2 * ETH, carol, sender=slasher)  # below the minimum: inactive
    assert reg.active_since(joined) == 0
    tx = reg.add_stake(ETH, sender=joined)
    assert reg.is_active(joined)
    assert reg.active_since(joined) == tx.block_number


def test_active_since__min_stake_lowered__block_of_the_lowering(reg, deployer, joined):
    reg.set_min_stake(MIN_STAKE + 1, sender=deployer)
    assert reg.active_since(joined) == 0
    tx = reg.set_min_stake(MIN_STAKE, sender=deployer)  # may activate workers without a write of theirs
    assert reg.active_since(joined) == tx.block_number
    tx = reg.set_min_stake(MIN_STAKE, sender=deployer)  # not lowered: nothing restarts
    assert reg.active_since(joined) < tx.block_number


def test_active_since__registered_again_after_withdraw__block_of_the_new_registration(reg, token, deployer, joined):
    chain.mine(timestamp=unbond(reg, joined))
    reg.withdraw_stake(sender=joined)
    assert reg.active_since(joined) == 0
    tx = join(reg, token, deployer, joined)
    assert reg.active_since(joined) == tx.block_number


def test_is_active__governance_raises_min_stake__system_worker_inactive(workers, govern, staked_worker):
    tx = govern((workers, "set_min_stake", MIN_STAKE + 1))
    log = tx.decode_logs(workers.MinStakeSet)[0]
    assert (log.old_min_stake, log.new_min_stake) == (MIN_STAKE, MIN_STAKE + 1)
    assert workers.min_stake() == MIN_STAKE + 1
    assert not workers.is_active(staked_worker)
    assert workers.active_signer(staked_worker) == ZERO


# ---------------------------------------------------------------- slash


def test_slash__by_authorised__takes_stake_sends_it_and_logs(reg, token, joined, slasher, carol):
    carol_before = token.balanceOf(carol)
    assert reg.slash.call(joined, 100 * ETH, carol, sender=slasher) == 100 * ETH
    tx = reg.slash(joined, 100 * ETH, carol, sender=slasher)
    log = tx.decode_logs(reg.Slashed)[0]
    assert (log.worker, log.amount, log.recipient, log.slasher) == (
        joined.address, 100 * ETH, carol.address, slasher.address)
    assert reg.workers(joined).stake == MIN_STAKE - 100 * ETH
    assert reg.slashed(joined) == 1
    assert token.balanceOf(carol) == carol_before + 100 * ETH
    assert token.balanceOf(reg) == MIN_STAKE - 100 * ETH
    assert not reg.is_active(joined)  # now under the minimum


def test_slash__more_than_stake__capped_at_stake(reg, token, joined, slasher, carol):
    carol_before = token.balanceOf(carol)
    assert reg.slash.call(joined, 5 * MIN_STAKE, carol, sender=slasher) == MIN_STAKE
    tx = reg.slash(joined, 5 * MIN_STAKE, carol, sender=slasher)
    assert tx.decode_logs(reg.Slashed)[0].amount == MIN_STAKE
    assert reg.workers(joined).stake == 0
    assert token.balanceOf(carol) == carol_before + MIN_STAKE
    assert token.balanceOf(reg) == 0
    # Slashed to nothing, still registered: the same account cannot register afresh.
    assert reg.workers(joined).signer != ZERO
    with ape.reverts("WorkerRegistry: already registered"):
        reg.register(joined, ENDPOINT, MIN_STAKE, sender=joined)


def test_slash__repeated__counts_each_time(reg, joined, slasher, carol):
    reg.slash(joined, ETH, carol, sender=slasher)
    reg.slash(joined, 2 * ETH, carol, sender=slasher)
    assert reg.slashed(joined) == 2
    assert reg.workers(joined).stake == MIN_STAKE - 3 * ETH


def test_slash__unbonding_stake__still_slashable(reg, token, joined, slasher, carol):
    at = unbond(reg, joined)
    tx = reg.slash(joined, 300 * ETH, carol, sender=slasher)
    assert tx.decode_logs(reg.Slashed)[0].amount == 300 * ETH
    assert reg.workers(joined).stake == MIN_STAKE - 300 * ETH
    chain.pending_timestamp = at
    tx = reg.withdraw_stake(sender=joined)
    assert tx.decode_logs(reg.StakeWithdrawn)[0].amount == MIN_STAKE - 300 * ETH
    assert token.balanceOf(joined) == MIN_STAKE - 300 * ETH


def test_slash__whole_unbonding_stake__withdraw_returns_nothing(reg, token, joined, slasher, carol):
    at = unbond(reg, joined)
    reg.slash(joined, MIN_STAKE, carol, sender=slasher)
    chain.pending_timestamp = at
    tx = reg.withdraw_stake(sender=joined)
    assert tx.decode_logs(reg.StakeWithdrawn)[0].amount == 0
    assert token.balanceOf(joined) == 0
    assert reg.workers(joined).signer == ZERO


def test_slash__no_stake__takes_nothing_records_nothing(reg, token, slasher, mallory, carol):
    # A non-worker (or one that withdrew): nothing moves, no record, no revert.
    carol_before = token.balanceOf(carol)
    assert reg.slash.call(mallory, ETH, carol, sender=slasher) == 0
    tx = reg.slash(mallory, ETH, carol, sender=slasher)
    assert tx.decode_logs(reg.Slashed) == []
    assert reg.slashed(mallory) == 0
    assert token.balanceOf(carol) == carol_before


def test_slash__zero_recipient__reverts(reg, joined, slasher):
    with ape.reverts("WorkerRegistry: recipient is the zero address"):
        reg.slash(joined, ETH, ZERO, sender=slasher)
    assert reg.workers(joined).stake == MIN_STAKE


@pytest.mark.parametrize("caller", ["worker", "mallory", "deployer"])
def test_slash__not_authorised__reverts(reg, joined, deployer, mallory, caller):
    sender = {"worker": joined, "mallory": mallory, "deployer": deployer}[caller]  # governance is not a slasher
    with ape.reverts("WorkerRegistry: caller may not slash"):
        reg.slash(joined, ETH, mallory, sender=sender)
    assert (reg.workers(joined).stake, reg.slashed(joined)) == (MIN_STAKE, 0)


def test_slash__permission_revoked__reverts(reg, deployer, joined, slasher, carol):
    reg.set_permissions(slasher, False, True, sender=deployer)
    with ape.reverts("WorkerRegistry: caller may not slash"):
        reg.slash(joined, ETH, carol, sender=slasher)
    with ape.reverts("WorkerRegistry: caller may not slash"):
        reg.lock(joined, ETH, sender=slasher)
    assert (reg.workers(joined).stake, reg.locked(joined)) == (MIN_STAKE, 0)


def test_slash__recorder_only__reverts(reg, deployer, joined, mallory):
    """A contract allowed to write reputation cannot take or lock stake."""
    reg.set_permissions(mallory, False, True, sender=deployer)
    with ape.reverts("WorkerRegistry: caller may not slash"):
        reg.slash(joined, ETH, mallory, sender=mallory)
    with ape.reverts("WorkerRegistry: caller may not slash"):
        reg.lock(joined, ETH, sender=mallory)
    reg.record_outcomes(joined, 1, 0, sender=mallory)
    assert (reg.workers(joined).stake, reg.locked(joined), reg.fulfilled(joined)) == (MIN_STAKE, 0, 1)


def test_slash__system_registry_outsider__reverts(workers, staked_worker, mallory):
    with ape.reverts("WorkerRegistry: caller may not slash"):
        workers.slash(staked_worker, ETH, mallory, sender=mallory)


# ---------------------------------------------------------------- slash_split (a lost challenge)


def _split_logs(reg, tx):
    return [(str(log.worker), log.amount, str(log.recipient), str(log.slasher)) for log in tx.decode_logs(reg.Slashed)]


def test_slash_split__odd_amount__challenger_half_rounded_down_treasury_rest_two_events(reg, token, joined, slasher,
                                                                                       carol, dave):
    """carol won the challenge, dave is the treasury: carol gets half rounded down, dave the rest."""
    amount = 100 * ETH + 1
    carol_before, dave_before = token.balanceOf(carol), token.balanceOf(dave)
    assert reg.slash_split.call(joined, amount, carol, dave, sender=slasher) == amount
    tx = reg.slash_split(joined, amount, carol, dave, sender=slasher)
    assert _split_logs(reg, tx) == [
        (joined.address, 50 * ETH, carol.address, slasher.address),
        (joined.address, 50 * ETH + 1, dave.address, slasher.address),
    ]
    assert token.balanceOf(carol) == carol_before + 50 * ETH
    assert token.balanceOf(dave) == dave_before + 50 * ETH + 1
    assert reg.workers(joined).stake == MIN_STAKE - amount
    assert token.balanceOf(reg) == MIN_STAKE - amount
    assert reg.slashed(joined) == 1  # one slash, two recipients


def test_slash_split__more_than_stake__splits_what_was_taken(reg, token, joined, slasher, carol, dave):
    carol_before, dave_before = token.balanceOf(carol), token.balanceOf(dave)
    assert reg.slash_split.call(joined, 5 * MIN_STAKE, carol, dave, sender=slasher) == MIN_STAKE
    tx = reg.slash_split(joined, 5 * MIN_STAKE, carol, dave, sender=slasher)
    assert [log.amount for log in tx.decode_logs(reg.Slashed)] == [MIN_STAKE // 2, MIN_STAKE - MIN_STAKE // 2]
    assert token.balanceOf(carol) == carol_before + MIN_STAKE // 2
    assert token.balanceOf(dave) == dave_before + MIN_STAKE - MIN_STAKE // 2
    assert (reg.workers(joined).stake, token.balanceOf(reg)) == (0, 0)


def test_slash_split__one_wei__all_to_treasury_no_empty_event(reg, token, joined, slasher, carol, dave):
    carol_before, dave_before = token.balanceOf(carol), token.balanceOf(dave)
    tx = reg.slash_split(joined, 1, carol, dave, sender=slasher)
    assert _split_logs(reg, tx) == [(joined.address, 1, dave.address, slasher.address)]
    assert (token.balanceOf(carol), token.balanceOf(dave)) == (carol_before, dave_before + 1)
    assert (reg.workers(joined).stake, reg.slashed(joined)) == (MIN_STAKE - 1, 1)


def test_slash_split__no_stake__takes_nothing_records_nothing(reg, token, slasher, mallory, carol, dave):
    carol_before, dave_before = token.balanceOf(carol), token.balanceOf(dave)
    assert reg.slash_split.call(mallory, ETH, carol, dave, sender=slasher) == 0
    tx = reg.slash_split(mallory, ETH, carol, dave, sender=slasher)
    assert tx.decode_logs(reg.Slashed) == []
    assert reg.slashed(mallory) == 0
    assert (token.balanceOf(carol), token.balanceOf(dave)) == (carol_before, dave_before)


@pytest.mark.parametrize("zero", ["challenger", "treasury"])
def test_slash_split__zero_recipient__reverts(reg, joined, slasher, carol, zero):
    challenger, treasury = (ZERO, carol) if zero == "challenger" else (carol, ZERO)
    with ape.reverts("WorkerRegistry: recipient is the zero address"):
        reg.slash_split(joined, ETH, challenger, treasury, sender=slasher)
    assert (reg.workers(joined).stake, reg.slashed(joined)) == (MIN_STAKE, 0)


@pytest.mark.parametrize("caller", ["worker", "mallory", "deployer"])
def test_slash_split__not_authorised__reverts(reg, joined, deployer, mallory, carol, caller):
    sender = {"worker": joined, "mallory": mallory, "deployer": deployer}[caller]
    with ape.reverts("WorkerRegistry: caller may not slash"):
        reg.slash_split(joined, ETH, mallory, carol, sender=sender)
    assert (reg.workers(joined).stake, reg.slashed(joined)) == (MIN_STAKE, 0)


# ---------------------------------------------------------------- stake locks


def test_lock__by_authorised__locks_and_logs(reg, joined, slasher):
    tx = reg.lock(joined, 100 * ETH, sender=slasher)
    log = tx.decode_logs(reg.StakeLocked)[0]
    assert (log.worker, log.slasher, log.amount, log.locked) == (joined.address, slasher.address, 100 * ETH, 100 * ETH)
    assert (reg.locked(joined), reg.locked_by(slasher, joined)) == (100 * ETH, 100 * ETH)
    assert reg.free_stake(joined) == MIN_STAKE - 100 * ETH
    assert reg.is_active(joined)  # a lock does not stop work


@pytest.mark.parametrize("caller", ["worker", "mallory", "deployer"])
def test_lock__not_authorised__reverts(reg, joined, deployer, mallory, caller):
    sender = {"worker": joined, "mallory": mallory, "deployer": deployer}[caller]
    with ape.reverts("WorkerRegistry: caller may not slash"):
        reg.lock(joined, ETH, sender=sender)
    assert reg.locked(joined) == 0


def test_lock__beyond_stake__whole_stake_locked(reg, token, joined, slasher):
    reg.lock(joined, 5 * MIN_STAKE, sender=slasher)
    assert reg.locked(joined) == 5 * MIN_STAKE
    assert reg.free_stake(joined) == 0
    chain.pending_timestamp = unbond(reg, joined)
    with ape.reverts("WorkerRegistry: stake locked"):
        reg.withdraw_stake(sender=joined)
    assert token.balanceOf(reg) == MIN_STAKE


def test_unlock__own_lock__releases_and_logs(reg, joined, slasher):
    reg.lock(joined, 100 * ETH, sender=slasher)
    tx = reg.unlock(joined, 40 * ETH, sender=slasher)
    log = tx.decode_logs(reg.StakeUnlocked)[0]
    assert (log.worker, log.slasher, log.amount, log.locked) == (joined.address, slasher.address, 40 * ETH, 60 * ETH)
    assert (reg.locked(joined), reg.locked_by(slasher, joined)) == (60 * ETH, 60 * ETH)
    assert reg.free_stake(joined) == MIN_STAKE - 60 * ETH


def test_unlock__more_than_own_lock__reverts(reg, deployer, joined, slasher, mallory):
    reg.set_permissions(mallory, True, False, sender=deployer)
    reg.lock(joined, 100 * ETH, sender=slasher)
    # Another authorised contract cannot release what the first one locked.
    with ape.reverts("WorkerRegistry: unlock exceeds lock"):
        reg.unlock(joined, ETH, sender=mallory)
    with ape.reverts("WorkerRegistry: unlock exceeds lock"):
        reg.unlock(joined, 100 * ETH + 1, sender=slasher)
    assert reg.locked(joined) == 100 * ETH


def test_unlock__zero__reverts(reg, joined, slasher, mallory):
    # Anyone may call unlock, since it only releases the caller's own lock; a
    # zero unlock would only log noise.
    with ape.reverts("WorkerRegistry: nothing to unlock"):
        reg.unlock(joined, 0, sender=mallory)
    with ape.reverts("WorkerRegistry: nothing to unlock"):
        reg.unlock(joined, 0, sender=slasher)


def test_unlock__authorisation_revoked__still_releases_own_lock(reg, deployer, joined, slasher):
    reg.lock(joined, 100 * ETH, sender=slasher)
    reg.set_permissions(slasher, False, False, sender=deployer)
    reg.unlock(joined, 100 * ETH, sender=slasher)  # a contract whose permission was revoked can still let go
    assert reg.locked(joined) == 0


def test_withdraw__part_locked__only_free_stake_leaves_worker_stays(reg, token, joined, slasher):
    reg.lock(joined, 100 * ETH, sender=slasher)
    chain.pending_timestamp = unbond(reg, joined)
    tx = reg.withdraw_stake(sender=joined)
    log = tx.decode_logs(reg.StakeWithdrawn)[0]
    assert (log.worker, log.amount, log.remaining) == (joined.address, MIN_STAKE - 100 * ETH, 100 * ETH)
    assert token.balanceOf(joined) == MIN_STAKE - 100 * ETH
    state = reg.workers(joined)
    assert state.stake == 100 * ETH and state.signer != ZERO and state.withdrawable_at != 0
    assert not reg.is_active(joined)
    # Nothing more is free until the dispute ends.
    with ape.reverts("WorkerRegistry: stake locked"):
        reg.withdraw_stake(sender=joined)


def test_withdraw__lock_released_later__rest_returns_and_deregisters(reg, token, joined, slasher):
    reg.lock(joined, 100 * ETH, sender=slasher)
    chain.pending_timestamp = unbond(reg, joined)
    reg.withdraw_stake(sender=joined)
    reg.unlock(joined, 100 * ETH, sender=slasher)
    tx = reg.withdraw_stake(sender=joined)
    assert (tx.decode_logs(reg.StakeWithdrawn)[0].amount, tx.decode_logs(reg.StakeWithdrawn)[0].remaining) == (
        100 * ETH, 0)
    assert token.balanceOf(joined) == MIN_STAKE
    assert reg.workers(joined).signer == ZERO


def test_withdraw__locked_stake_slashed__slash_takes_it_then_deregisters(reg, token, joined, slasher, carol):
    reg.lock(joined, 100 * ETH, sender=slasher)
    chain.pending_timestamp = unbond(reg, joined)
    reg.withdraw_stake(sender=joined)
    carol_before = token.balanceOf(carol)
    assert reg.slash(joined, 100 * ETH, carol, sender=slasher).decode_logs(reg.Slashed)[0].amount == 100 * ETH
    assert token.balanceOf(carol) == carol_before + 100 * ETH
    with ape.reverts("WorkerRegistry: stake locked"):  # slashed to zero, lock not yet released
        reg.withdraw_stake(sender=joined)
    reg.unlock(joined, 100 * ETH, sender=slasher)
    assert reg.withdraw_stake(sender=joined).decode_logs(reg.StakeWithdrawn)[0].amount == 0
    assert reg.workers(joined).signer == ZERO
    assert token.balanceOf(reg) == 0


def test_signer_of__unbonding__registered_key_until_withdrawn(reg, joined, bob):
    chain.pending_timestamp = unbond(reg, joined)
    assert reg.active_signer(joined) == ZERO
    assert reg.signer_of(joined) == bob.address
    reg.withdraw_stake(sender=joined)
    assert reg.signer_of(joined) == ZERO


# ---------------------------------------------------------------- record_outcomes


def test_record_outcomes__by_authorised__accumulates_and_logs_totals(reg, joined, slasher):
    tx = reg.record_outcomes(joined, 2, 1, sender=slasher)
    log = tx.decode_logs(reg.ReputationRecorded)[0]
    assert (log.worker, log.fulfilled, log.missed) == (joined.address, 2, 1)
    tx = reg.record_outcomes(joined, 5, 0, sender=slasher)
    log = tx.decode_logs(reg.ReputationRecorded)[0]
    assert (log.fulfilled, log.missed) == (7, 1)
    assert (reg.fulfilled(joined), reg.missed(joined), reg.slashed(joined)) == (7, 1, 0)


def test_record_outcomes__not_authorised__reverts(reg, joined, mallory):
    with ape.reverts("WorkerRegistry: caller may not record"):
        reg.record_outcomes(joined, 1, 0, sender=mallory)
    with ape.reverts("WorkerRegistry: caller may not record"):
        reg.record_outcomes(joined, 0, 1, sender=joined)
    assert (reg.fulfilled(joined), reg.missed(joined)) == (0, 0)


def test_record_outcomes__slasher_only__reverts(reg, deployer, joined, mallory):
    """A contract allowed to slash (like the channels) cannot write reputation."""
    reg.set_permissions(mallory, True, False, sender=deployer)
    with ape.reverts("WorkerRegistry: caller may not record"):
        reg.record_outcomes(joined, 0, 5, sender=mallory)
    assert (reg.fulfilled(joined), reg.missed(joined)) == (0, 0)


# ---------------------------------------------------------------- governance


def test_set_permissions__by_governance__sets_each_flag_and_logs(reg, deployer, mallory):
    tx = reg.set_permissions(mallory, True, False, sender=deployer)
    log = tx.decode_logs(reg.PermissionsSet)[0]
    assert (log.account, log.can_slash, log.can_record) == (mallory.address, True, False)
    assert (reg.can_slash(mallory), reg.can_record(mallory)) == (True, False)
    tx = reg.set_permissions(mallory, False, True, sender=deployer)
    log = tx.decode_logs(reg.PermissionsSet)[0]
    assert (log.account, log.can_slash, log.can_record) == (mallory.address, False, True)
    assert (reg.can_slash(mallory), reg.can_record(mallory)) == (False, True)


def test_set_min_stake__by_governance__sets_and_logs(reg, deployer):
    tx = reg.set_min_stake(5 * ETH, sender=deployer)
    log = tx.decode_logs(reg.MinStakeSet)[0]
    assert (log.old_min_stake, log.new_min_stake) == (MIN_STAKE, 5 * ETH)
    assert reg.min_stake() == 5 * ETH


def test_set_min_stake__lowered__smaller_registrations_allowed(reg, token, deployer, dave):
    reg.set_min_stake(5 * ETH, sender=deployer)
    join(reg, token, deployer, dave, amount=5 * ETH)
    assert reg.is_active(dave)


def test_set_unbonding_delay__by_governance__applies_to_later_unbonds(reg, deployer, joined):
    tx = reg.set_unbonding_delay(3 * DAY, sender=deployer)
    log = tx.decode_logs(reg.UnbondingDelaySet)[0]
    assert (log.old_delay, log.new_delay) == (DELAY, 3 * DAY)
    assert reg.unbonding_delay() == 3 * DAY
    tx = reg.unbond(sender=joined)
    assert reg.workers(joined).withdrawable_at == tx.timestamp + 3 * DAY


def test_transfer_ownership__by_governance__hands_over_every_setter(reg, deployer, alice, mallory):
    tx = reg.transfer_ownership(alice, sender=deployer)
    log = tx.decode_logs(reg.OwnershipTransferred)[0]
    assert (log.previous_owner, log.new_owner) == (deployer.address, alice.address)
    assert reg.owner() == alice.address
    with ape.reverts("ownable: caller is not the owner"):
        reg.set_permissions(mallory, True, True, sender=deployer)
    reg.set_permissions(mallory, True, True, sender=alice)
    assert reg.can_slash(mallory)


def test_transfer_ownership__zero_address__reverts(reg, deployer):
    with ape.reverts("ownable: new owner is the zero address"):
        reg.transfer_ownership(ZERO, sender=deployer)
    assert reg.owner() == deployer.address


def test_renounce_ownership__not_exported(reg):
    """Renouncing would freeze every permission and parameter: the registry does not offer it."""
    assert not hasattr(reg, "renounce_ownership")


@pytest.mark.parametrize(
    "method,args",
    [
        ("set_permissions", ("mallory", True, True)),
        ("set_min_stake", (0,)),
        ("set_unbonding_delay", (0,)),
        ("transfer_ownership", ("mallory",)),
    ],
)
def test_governed_setters__not_governance__reverts(reg, workers, mallory, deployer, method, args):
    args = [mallory if a == "mallory" else a for a in args]
    with ape.reverts("ownable: caller is not the owner"):
        getattr(reg, method)(*args, sender=mallory)
    # In the deployed system the deployer handed everything to the timelock.
    with ape.reverts("ownable: caller is not the owner"):
        getattr(workers, method)(*args, sender=deployer)


def test_governed_setters__through_timelock__applied(workers, govern, mallory):
    tx = govern(
        (workers, "set_unbonding_delay", DAY),
        (workers, "set_permissions", mallory.address, True, False),
    )
    delay = tx.decode_logs(workers.UnbondingDelaySet)[0]
    assert (delay.old_delay, delay.new_delay) == (7 * DAY, DAY)
    perm = tx.decode_logs(workers.PermissionsSet)[0]
    assert (perm.account, perm.can_slash, perm.can_record) == (mallory.address, True, False)
    assert workers.unbonding_delay() == DAY
    assert workers.can_slash(mallory) and not workers.can_record(mallory)


def test_transfer_ownership__through_timelock__new_governance_rules(workers, govern, timelock, alice, deployer):
    tx = govern((workers, "transfer_ownership", alice.address))
    log = tx.decode_logs(workers.OwnershipTransferred)[0]
    assert (log.previous_owner, log.new_owner) == (timelock.address, alice.address)
    workers.set_min_stake(0, sender=alice)
    assert workers.min_stake() == 0


def test_transfer_ownership__through_timelock_to_zero__reverts(workers, govern, timelock):
    with ape.reverts("ownable: new owner is the zero address"):
        govern((workers, "transfer_ownership", ZERO))
    assert workers.owner() == timelock.address
