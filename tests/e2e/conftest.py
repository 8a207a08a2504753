"""Fixtures of the tests that run against a real anvil node."""

import pytest
from ape import networks

from tests.e2e.anvil import running_anvil


@pytest.fixture(scope="module")
def anvil(tmp_path_factory):
    """Anvil, ape connected to it, and deployments written to a temporary folder
    (also for processes started from the test, through NC_DEPLOYMENTS_DIR)."""
    directory = tmp_path_factory.mktemp("deployments")
    mp = pytest.MonkeyPatch()
    mp.setenv("NC_DEPLOYMENTS_DIR", str(directory))
    with running_anvil():
        with networks.ethereum.local.use_provider("foundry"):
            yield
    mp.undo()
