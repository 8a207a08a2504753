"""Fixtures of the DisputeCourt tests: a verifier pool of five, a challenger, a fulfilled request."""

import pytest

from tests.conftest import stake_worker
from tests.utils.court import by_address, new_verifiers
from tests.utils.market import fulfil, request

BOND = 10**16  # the market's challenge bond (deploy default)
FEE = 10**15  # member_fee (deploy default)
NO_SHOW = 50 * 10**18  # no_show_slash (deploy default)
WRONG = b"\x77" * 32  # the result hash the challenger says is right


@pytest.fixture(scope="module")
def verifiers(accounts, system, deployer, model_id):
    """Five staked workers in the model's verifier pool."""
    return new_verifiers(accounts, system, deployer, model_id, 5)


@pytest.fixture(scope="module")
def pool(verifiers):
    return by_address(verifiers)


@pytest.fixture(scope="module")
def challenger(system, deployer, mallory):
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, mallory)
    return mallory


@pytest.fixture
def fulfilled(market, model_id, app_builder, staked_worker, signer_key, verifiers):
    rid = request(market, model_id, app_builder)
    market.claim(rid, sender=staked_worker)
    fulfil(market, rid, staked_worker, signer_key)
    return rid


@pytest.fixture
def dispute(market, court, fulfilled, challenger):
    """A challenged request: returns the dispute id."""
    tx = market.challenge(fulfilled, WRONG, sender=challenger, value=BOND)
    return tx.decode_logs(court.DisputeOpened)[0].dispute_id
