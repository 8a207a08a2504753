"""Shared fixtures of the integration modules: the digits model listed on the embedded
chain, its runtime, and a committee of staked verifiers in its pool. A module that
works with another model overrides `spec`."""

import pytest

from offchain.models import load_spec
from offchain.runtime import load_runtime
from tests.utils.court import by_address, new_verifiers
from tests.utils.market import list_model


@pytest.fixture(scope="module")
def spec():
    return load_spec("digits")


@pytest.fixture(scope="module")
def runtime(spec):
    return load_runtime(spec)


@pytest.fixture(scope="module")
def digits_model(system, spec, author, dave, alice, bob):
    return list_model(system, spec, author, dave, [alice, bob])


@pytest.fixture(scope="module")
def members(accounts, system, deployer, digits_model) -> dict:
    """Three staked verifiers in the digits pool, by address (joined before any dispute opens)."""
    return by_address(new_verifiers(accounts, system, deployer, digits_model, 3))
