"""DisputeCourt: verifier pools, governed parameters and clients, reentrancy, and the critical table."""

import ape
import pytest
from eth_utils import keccak

from offchain.deploy import CRITICAL_METHODS, GovernanceConfig, MarketConfig
from offchain.governance import Proposal, ProposalState, Support
from tests.conftest import MIN_STAKE
from tests.unit.court.conftest import BOND, WRONG
from tests.utils.constants import DAY, ETH, ZERO_ADDRESS
from tests.utils.court import by_address, draw, new_verifiers, past
from tests.utils.governance import propose, to_active, to_deadline_passed
from tests.utils.market import RESULT_HASH, fulfil, request

DEFAULTS = MarketConfig().court_params()
FIELDS = ["committee_size", "draw_delay", "commit_period", "reveal_period", "member_fee", "no_show_slash",
          "escalation_period", "sample_bps"]


def params(**changes):
    return tuple(changes.get(f, v) for f, v in zip(FIELDS, DEFAULTS, strict=True))


@pytest.fixture
def own_court(project, system, deployer):
    """A court its deployer still owns (as while wiring), to reach the governed setters directly."""
    return deployer.deploy(project.DisputeCourt, system.ModelRegistry, system.WorkerRegistry, system.Timelock,
                           params())


# ---------------------------------------------------------------- pools


def test_join__active_worker__in_pool_and_logged(court, model_id, staked_worker):
    tx = court.join(model_id, sender=staked_worker)
    log = tx.decode_logs(court.PoolJoined)[0]
    assert (log.model_id, log.worker) == (model_id, staked_worker.address)
    assert court.is_member(model_id, staked_worker)
    assert [str(a) for a in court.pool(model_id)] == [staked_worker.address]


def test_join__not_an_active_worker__reverts(court, workers, model_id, staked_worker, mallory):
    with ape.reverts("DisputeCourt: caller is not an active worker"):
        court.join(model_id, sender=mallory)
    workers.unbond(sender=staked_worker)
    with ape.reverts("DisputeCourt: caller is not an active worker"):
        court.join(model_id, sender=staked_worker)


def test_join__model_not_active__reverts(court, models, author, staked_worker):
    models.register_model(b"\x01" * 32, b"\x02" * 32, "", 1, [author], [1], sender=author)
    with ape.reverts("DisputeCourt: model not active"):
        court.join(models.model_count(), sender=staked_worker)


def test_join__twice__reverts(court, model_id, staked_worker):
    court.join(model_id, sender=staked_worker)
    with ape.reverts("DisputeCourt: already in the pool"):
        court.join(model_id, sender=staked_worker)


def test_join__pool_full_of_stakes_as_large__reverts(accounts, system, court, deployer, model_id, staked_worker):
    new_verifiers(accounts, system, deployer, model_id, 64)
    assert len(court.pool(model_id)) == 64
    with ape.reverts("DisputeCourt: pool full of larger stakes"):  # equal is not larger
        court.join(model_id, sender=staked_worker)
    assert not court.is_member(model_id, staked_worker)


def test_attack__minimum_stakes_squat_a_new_models_pool__larger_stakes_take_their_places(
        accounts, system, court, workers, deployer, model_id):
    """64 minimum stakes (64,000 NCOM) filled a new model's pool and decided all of its disputes. Now each
    larger stake that joins takes the place of the smallest member: a seat of a full pool goes to an
    account staking more than the member it displaces."""
    squatters = by_address(new_verifiers(accounts, system, deployer, model_id, 64))
    honest = []
    for extra in (3, 1, 2):  # each joiner displaces the smallest stake: a squatter every time
        (joiner,) = new_verifiers(accounts, system, deployer, model_id, 1, stake=MIN_STAKE + extra * ETH)
        honest.append(joiner)
        assert len(court.pool(model_id)) == 64 and court.is_member(model_id, joiner)
    pool = [str(a) for a in court.pool(model_id)]
    assert sum(1 for a in pool if a in squatters) == 61
    assert all(h.address in pool for h in honest)
    # A squatter cannot come back in: its stake is below every other member's.
    gone = next(a for a in squatters if a not in pool)
    with ape.reverts("DisputeCourt: pool full of larger stakes"):
        court.join(model_id, sender=squatters[gone])


def test_join__pool_full__larger_stake_takes_the_smallest_members_place_and_logs(
        accounts, system, court, deployer, model_id):
    members = new_verifiers(accounts, system, deployer, model_id, 63, stake=2 * MIN_STAKE)
    (smallest,) = new_verifiers(accounts, system, deployer, model_id, 1)
    (joiner,) = new_verifiers(accounts, system, deployer, model_id, 1, stake=2 * MIN_STAKE + 1, join=False)
    tx = court.join(model_id, sender=joiner)
    left = tx.decode_logs(court.PoolLeft)[0]
    assert (left.model_id, left.worker, left.by) == (model_id, smallest.address, joiner.address)
    joined = tx.decode_logs(court.PoolJoined)[0]
    assert (joined.model_id, joined.worker) == (model_id, joiner.address)
    pool = [str(a) for a in court.pool(model_id)]
    assert len(pool) == 64 and set(pool) == {m.address for m in members} | {joiner.address}
    assert not court.is_member(model_id, smallest) and court.is_member(model_id, joiner)


def test_join__pool_full_while_a_dispute_awaits_its_draw__reverts_until_it_is_drawn(
        accounts, system, court, market, deployer, model_id, staked_worker, signer_key, app_builder, mallory):
    """Displacing a member once a draw's seed may be known would bias that draw: refused until the draw."""
    new_verifiers(accounts, system, deployer, model_id, 64 - len(court.pool(model_id)))
    (rich,) = new_verifiers(accounts, system, deployer, model_id, 1, stake=5 * MIN_STAKE, join=False)
    (challenger,) = new_verifiers(accounts, system, deployer, model_id, 1, join=False)
    rid = request(market, model_id, app_builder)
    market.claim(rid, sender=staked_worker)
    fulfil(market, rid, staked_worker, signer_key)
    tx = market.challenge(rid, WRONG, sender=challenger, value=BOND)
    dispute = tx.decode_logs(court.DisputeOpened)[0].dispute_id
    assert court.awaiting_draw(model_id) == 1
    with ape.reverts("DisputeCourt: pool full and a dispute awaits its draw"):
        court.join(model_id, sender=rich)
    draw(court, dispute, mallory)
    assert court.awaiting_draw(model_id) == 0
    court.join(model_id, sender=rich)
    assert court.is_member(model_id, rich) and len(court.pool(model_id)) == 64


def test_leave__swaps_last_into_place(accounts, system, court, deployer, model_id):
    first, middle, last = new_verifiers(accounts, system, deployer, model_id, 3)
    tx = court.leave(model_id, sender=first)
    log = tx.decode_logs(court.PoolLeft)[0]
    assert (log.model_id, log.worker, log.by) == (model_id, first.address, first.address)
    assert [str(a) for a in court.pool(model_id)] == [last.address, middle.address]
    assert not court.is_member(model_id, first)
    court.leave(model_id, sender=last)  # the moved member's slot was updated
    assert [str(a) for a in court.pool(model_id)] == [middle.address]
    court.join(model_id, sender=first)
    assert [str(a) for a in court.pool(model_id)] == [middle.address, first.address]


def test_leave__not_in_pool__reverts(court, model_id, mallory):
    with ape.reverts("DisputeCourt: not in the pool"):
        court.leave(model_id, sender=mallory)


def test_evict__inactive_member__removed_by_anyone(accounts, system, court, workers, deployer, model_id, mallory):
    (verifier,) = new_verifiers(accounts, system, deployer, model_id, 1)
    with ape.reverts("DisputeCourt: member is active"):
        court.evict(model_id, verifier, sender=mallory)
    workers.unbond(sender=verifier)
    tx = court.evict(model_id, verifier, sender=mallory)
    log = tx.decode_logs(court.PoolLeft)[0]
    assert (log.worker, log.by) == (verifier.address, mallory.address)
    assert not court.is_member(model_id, verifier)
    with ape.reverts("DisputeCourt: not in the pool"):
        court.evict(model_id, verifier, sender=mallory)


# ---------------------------------------------------------------- parameters and clients


def test_deploy__defaults_and_wiring(court, system, market, channels):
    assert tuple(court.params()) == DEFAULTS
    assert DEFAULTS == (3, 2, 3_600, 1_800, 10**15, 50 * ETH, 21 * DAY, 500)
    assert court.owner() == system.Timelock.address
    assert court.clients(market) and court.clients(channels)
    assert (court.models(), court.workers(), court.treasury()) == (
        system.ModelRegistry.address, system.WorkerRegistry.address, system.Timelock.address)
    assert system.WorkerRegistry.can_slash(court) and not system.WorkerRegistry.can_record(court)
    assert (market.court(), channels.court()) == (court.address, court.address)


def test_set_params__owner__changes_and_logs(own_court, deployer):
    new = params(committee_size=5, member_fee=10**14)
    tx = own_court.set_params(new, sender=deployer)
    log = tx.decode_logs(own_court.ParamsChanged)[0]
    assert (tuple(log.old_params), tuple(log.new_params)) == (DEFAULTS, new)
    assert tuple(own_court.params()) == new


def test_set_params__not_owner__reverts(court, own_court, mallory):
    for target in (court, own_court):
        with ape.reverts("ownable: caller is not the owner"):
            target.set_params(params(), sender=mallory)


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"committee_size": 0}, "DisputeCourt: committee size not odd"),
        ({"committee_size": 4}, "DisputeCourt: committee size not odd"),
        ({"committee_size": 11}, "DisputeCourt: committee size above bound"),
        ({"draw_delay": 0}, "DisputeCourt: draw delay is zero"),
        ({"draw_delay": 65}, "DisputeCourt: draw delay above bound"),
        ({"commit_period": 0}, "DisputeCourt: commit period is zero"),
        ({"commit_period": 7 * DAY + 1}, "DisputeCourt: commit period above bound"),
        ({"reveal_period": 0}, "DisputeCourt: reveal period is zero"),
        ({"reveal_period": 7 * DAY + 1}, "DisputeCourt: reveal period above bound"),
        ({"escalation_period": 0}, "DisputeCourt: escalation period is zero"),
        ({"escalation_period": 90 * DAY + 1}, "DisputeCourt: escalation period above bound"),
        ({"no_show_slash": 2**128 + 1}, "DisputeCourt: no-show slash above bound"),
        ({"member_fee": 2**96}, "DisputeCourt: member fee above bound"),
        ({"sample_bps": 10_001}, "DisputeCourt: sample rate above 100%"),
    ],
)
def test_set_params__incoherent__reverts(project, system, own_court, deployer, changes, reason):
    with ape.reverts(reason):
        own_court.set_params(params(**changes), sender=deployer)
    assert tuple(own_court.params()) == DEFAULTS
    with ape.reverts(reason):  # the constructor checks the same
        deployer.deploy(project.DisputeCourt, system.ModelRegistry, system.WorkerRegistry, system.Timelock,
                        params(**changes))


def test_set_client__owner__allows_then_stops(own_court, deployer, mallory):
    tx = own_court.set_client(mallory, True, sender=deployer)
    log = tx.decode_logs(own_court.ClientSet)[0]
    assert (log.client, log.allowed) == (mallory.address, True)
    assert own_court.clients(mallory)
    own_court.open_dispute(1, deployer, mallory, 7, RESULT_HASH, WRONG, ZERO_ADDRESS, sender=mallory, value=BOND)
    own_court.set_client(mallory, False, sender=deployer)
    with ape.reverts("DisputeCourt: caller is not a client"):
        own_court.open_dispute(1, deployer, mallory, 8, RESULT_HASH, WRONG, ZERO_ADDRESS, sender=mallory, value=BOND)
    assert own_court.dispute_count() == 1


def test_open_dispute__model_id_above_bound__reverts_beneficiary_packed_beside_it(own_court, deployer, mallory, bob):
    """The model id shares a word with the beneficiary: 96 bits, far above any model count."""
    own_court.set_client(mallory, True, sender=deployer)
    with ape.reverts("DisputeCourt: model id above bound"):
        own_court.open_dispute(2**96, deployer, mallory, 7, RESULT_HASH, WRONG, bob, sender=mallory, value=BOND)
    tx = own_court.open_dispute(2**96 - 1, deployer, mallory, 7, RESULT_HASH, WRONG, bob, sender=mallory, value=BOND)
    dispute_id = tx.decode_logs(own_court.DisputeOpened)[0].dispute_id
    assert own_court.disputes(dispute_id).model_id == 2**96 - 1
    assert own_court.beneficiary(dispute_id) == bob.address


def test_set_client__zero_or_not_owner__reverts(court, own_court, deployer, mallory):
    with ape.reverts("DisputeCourt: client is the zero address"):
        own_court.set_client(ZERO_ADDRESS, True, sender=deployer)
    with ape.reverts("ownable: caller is not the owner"):
        court.set_client(mallory, True, sender=mallory)


def test_phase_of__commit_deadline_passed__revealing(court, market, fulfilled, challenger, verifiers, mallory):
    dispute_id = market.challenge(fulfilled, WRONG, sender=challenger, value=BOND).decode_logs(
        court.DisputeOpened)[0].dispute_id
    assert court.phase_of(dispute_id) == 1 and court.phase_of(999) == 0
    draw(court, dispute_id, mallory)
    assert court.phase_of(dispute_id) == 2
    past(court.disputes(dispute_id).commit_deadline)
    assert court.phase_of(dispute_id) == 3
    assert court.disputes(dispute_id).phase == 2  # stored: committing


# ---------------------------------------------------------------- reentrancy


@pytest.fixture
def hostile_client(project, own_court, deployer):
    """A contract registered as a client (as governance could do by mistake) that re-enters when called."""
    actor = deployer.deploy(project.MockActor)
    own_court.set_client(actor, True, sender=deployer)
    return actor


def _open_as(court, actor, deployer, worker) -> int:
    payload = court.open_dispute.encode_input(999, worker, actor, 1, RESULT_HASH, WRONG, ZERO_ADDRESS)
    actor.act(court, payload, sender=deployer, value=BOND)
    return court.dispute_count()


def test_attack__reentry_through_on_verdict_into_withdraw__reverts(own_court, hostile_client, deployer, worker):
    dispute_id = _open_as(own_court, hostile_client, deployer, worker)
    draw(own_court, dispute_id, deployer)  # nobody serves model 999: escalated
    past(own_court.disputes(dispute_id).escalated_until)
    hostile_client.arm(own_court, own_court.withdraw.encode_input(), sender=deployer)
    with ape.reverts():
        own_court.expire(dispute_id, sender=deployer)  # on_verdict lands in the client's hook, which re-enters
    assert own_court.disputes(dispute_id).phase == 4
    assert own_court.owed(hostile_client) == 0 and own_court.balance == BOND


def test_attack__reentry_through_withdraw_into_expire__reverts(own_court, hostile_client, deployer, worker):
    first = _open_as(own_court, hostile_client, deployer, worker)
    second = _open_as(own_court, hostile_client, deployer, worker)
    for dispute_id in (first, second):
        draw(own_court, dispute_id, deployer)
    past(own_court.disputes(second).escalated_until)
    own_court.expire(first, sender=deployer)  # unarmed: the callback is a no-op
    assert own_court.owed(hostile_client) == BOND
    hostile_client.arm(own_court, own_court.expire.encode_input(second), sender=deployer)
    with ape.reverts():
        hostile_client.act(own_court, own_court.withdraw.encode_input(), sender=deployer)
    assert own_court.owed(hostile_client) == BOND and own_court.balance == 2 * BOND
    assert own_court.disputes(second).phase == 4
    hostile_client.arm(own_court, own_court.dispute_count.encode_input(), sender=deployer)  # harmless now
    tx = hostile_client.act(own_court, own_court.expire.encode_input(second), sender=deployer)
    assert tx.decode_logs(own_court.DisputeExpired)[0].dispute_id == second


# ---------------------------------------------------------------- the critical table


def test_critical_table__court_setters_marked(system, governor):
    court = system.DisputeCourt
    assert set(CRITICAL_METHODS["DisputeCourt"]) == {"set_params", "set_client", "rule"}
    for method in ("set_params", "set_client", "transfer_ownership", "rule"):
        abi = next(a for a in court.contract_type.mutable_methods if a.name == method)
        assert governor.is_critical_action(court, keccak(text=abi.selector)[:4]), method
    # A critical ruling still fits: 1 + 10 + 7 days from proposal to execution, inside the escalation period.
    g = GovernanceConfig()
    assert g.voting_delay + g.critical_voting_period + g.critical_delay < court.params().escalation_period


def test_attack__five_percent_weakens_court__defeated(system, governor, carol, mallory):
    # With routine bars a 5 % holder could shrink the committee to one of its own or let itself open disputes.
    court = system.DisputeCourt
    weaken = (Proposal("A committee of one, no no-show slash")
              .call(court, "set_params", params(committee_size=1, no_show_slash=0))
              .call(court, "set_client", mallory, True))
    proposal_id = propose(governor, weaken, carol)
    assert governor.is_critical_proposal(proposal_id)
    to_active(governor, proposal_id)
    governor.castVote(proposal_id, Support.For, sender=carol)  # 5 %: above the routine 4 %, below 20 %
    to_deadline_passed(governor, proposal_id)
    assert ProposalState(governor.state(proposal_id)) == ProposalState.Defeated
    assert tuple(court.params()) == DEFAULTS and not court.clients(mallory)


def test_attack__worker_opens_dispute_directly_to_lock_verifiers__reverts(court, workers, model_id, verifiers,
                                                                         challenger):
    # A staked worker calling the court itself (not through a client) cannot open a dispute.
    with ape.reverts("DisputeCourt: caller is not a client"):
        court.open_dispute(model_id, verifiers[0], challenger, 1, RESULT_HASH, WRONG, ZERO_ADDRESS, sender=challenger,
                           value=BOND)
    assert court.dispute_count() == 0
    assert workers.locked(verifiers[0]) == 0
