"""Role-named accounts and deployment factories shared by every test."""

import os

import pytest
from hypothesis import settings

from offchain.deploy import GovernanceConfig, MarketConfig, deploy_system
from tests.utils.constants import ETH, MIN_STAKE, MODEL_PRICE


# Small example counts by default; NC_HYPOTHESIS_PROFILE=thorough for a long run.
settings.register_profile("default", max_examples=25, deadline=None, stateful_step_count=25)
settings.register_profile("thorough", max_examples=500, deadline=None, stateful_step_count=100)
settings.load_profile(os.environ.get("NC_HYPOTHESIS_PROFILE", "default"))

# Role-named accounts (session fixtures): the test account index of each role.
ROLES = {
    "deployer": 0,
    "alice": 1,  # holds 30M votes
    "bob": 2,  # holds 20M votes
    "carol": 3,  # holds 5M votes
    "mallory": 4,  # the attacker
    "worker": 5,
    "app_builder": 6,
    "minter": 7,
    "author": 8,  # registers models; holds 60 % of their shares
    "dave": 9,  # holds 40 % of the model's shares
}
# Contracts of the `system` deployment (module fixtures): fixture name -> contract name.
CONTRACTS = {
    "token": "GovernanceToken",
    "timelock": "Timelock",
    "governor": "Governor",
    "market": "InferenceMarket",
    "models": "ModelRegistry",
    "shares": "ModelShares",
    "workers": "WorkerRegistry",
    "channels": "PaymentChannels",
    "court": "DisputeCourt",
    "bounties": "DataBounties",
    "fund": "TrainingFund",
}


def _role(index: int):
    def account(accounts):
        return accounts[index]

    return account


def _contract(name: str):
    def contract(system):
        return getattr(system, name)

    return contract


for _name, _index in ROLES.items():
    globals()[_name] = pytest.fixture(scope="session", name=_name)(_role(_index))
for _name, _contract_name in CONTRACTS.items():
    globals()[_name] = pytest.fixture(scope="module", name=_name)(_contract(_contract_name))


@pytest.fixture(scope="session")
def governance_config():
    return GovernanceConfig()


@pytest.fixture(scope="session")
def market_config():
    return MarketConfig()


@pytest.fixture(scope="module")
def new_system(project, deployer):
    """Factory: a freshly deployed and wired system."""

    def factory(governance: GovernanceConfig | None = None, market: MarketConfig | None = None):
        return deploy_system(project, deployer, governance, market)

    return factory


@pytest.fixture(scope="module")
def system(new_system, governance_config, market_config, deployer, alice, bob, carol):
    """Deployed, with alice 30M, bob 20M, carol 5M (self-delegated) and the deployer 45M undelegated."""
    d = new_system(governance_config, market_config)
    token = d.GovernanceToken
    for holder, amount in ((alice, 30_000_000), (bob, 20_000_000), (carol, 5_000_000)):
        token.transfer(holder, amount * ETH, sender=deployer)
        token.invoke_transaction("delegate", holder, sender=holder)
    from ape import chain

    chain.mine(timestamp=chain.pending_timestamp + 1)
    return d


@pytest.fixture(scope="module")
def govern(governor, alice, bob):
    """Runs calls through a real proposal (alice and bob vote For): the only way to
    reach a timelock-owned setter, since the embedded chain cannot impersonate."""
    from offchain.governance import Proposal
    from tests.utils.governance import pass_proposal

    counter = iter(range(10**9))

    def run(*calls, description: str | None = None):
        proposal = Proposal(description or f"test proposal {next(counter)}")
        for contract, method, *args in calls:
            proposal.call(contract, method, *args)
        return pass_proposal(governor, proposal, alice, [alice, bob])

    return run


@pytest.fixture(scope="module")
def minting(system, govern, minter):
    """The `minter` account holds the minter role (granted by proposal)."""
    govern((system.GovernanceToken, "set_minter", minter, True))
    return minter


# ---------------------------------------------------------------- market fixtures


@pytest.fixture(scope="session")
def signer_key(worker):
    """The worker attests with its own account key."""
    return worker.private_key


def stake_worker(token, workers, deployer, account, signer=None, amount=MIN_STAKE):
    """Funds `account` with tokens, approves and registers it as a worker."""
    token.transfer(account, amount, sender=deployer)
    token.approve(workers, amount, sender=account)
    workers.register(signer or account, f"http://{account.address[:8]}.example", amount, sender=account)


@pytest.fixture(scope="module")
def model_id(system, govern, author, dave):
    """An approved model: price 0.001 ETH, shares 600 author / 400 dave."""
    registry = system.ModelRegistry
    registry.register_model(
        b"\x11" * 32, b"\x22" * 32, "ipfs://digits", MODEL_PRICE, [author, dave], [600, 400], sender=author
    )
    model = registry.model_count()
    govern((registry, "approve_model", model))
    return model


@pytest.fixture(scope="module")
def staked_worker(system, deployer, worker):
    stake_worker(system.GovernanceToken, system.WorkerRegistry, deployer, worker)
    return worker
