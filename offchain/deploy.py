"""Deploys and wires the Neural Commons contracts; records their addresses.

One place owns the wiring so that `ape run deploy`, the demo, the benchmarks
and the test fixtures all build the same system.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import keccak

from offchain.errors import DeploymentNotFound

DAY = 86_400  # seconds
# Where deployments/<network>.json live; NC_DEPLOYMENTS_DIR moves them (tests use a temporary folder).
DEPLOYMENTS_DIR = Path(os.environ.get("NC_DEPLOYMENTS_DIR", Path(__file__).resolve().parent.parent / "deployments"))

PROPOSER_ROLE = keccak(text="PROPOSER_ROLE")
EXECUTOR_ROLE = keccak(text="EXECUTOR_ROLE")
CANCELLER_ROLE = keccak(text="CANCELLER_ROLE")
DEFAULT_ADMIN_ROLE = b"\x00" * 32


@dataclass(frozen=True)
class GovernanceConfig:
    """Initial governance settings; every one is changeable later only by proposal."""

    token_name: str = "Neural Commons"
    token_symbol: str = "NCOM"
    initial_supply: int = 100_000_000 * 10**18  # to the deployer, who distributes it
    timelock_delay: int = 2 * DAY  # seconds, routine proposals
    voting_delay: int = 1 * DAY  # seconds from proposal to snapshot
    voting_period: int = 5 * DAY  # seconds, routine proposals
    proposal_threshold: int = 100_000 * 10**18  # votes needed to propose
    quorum_bps: int = 400  # 4 % of supply at the snapshot
    critical_voting_period: int = 10 * DAY  # seconds
    critical_quorum_bps: int = 2_000  # 20 %
    critical_delay: int = 7 * DAY  # timelock delay of critical proposals, seconds
    grace_period: int = 14 * DAY  # seconds a queued proposal stays executable


@dataclass
class Deployment:
    """The deployed contracts of one network."""

    network: str
    chain_id: int
    deployer: str
    contracts: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["contracts"][name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    def addresses(self) -> dict[str, str]:
        return {name: str(contract.address) for name, contract in self.contracts.items()}


def network_label(provider) -> str:
    """File-friendly name of the connected network, e.g. `ethereum-local-foundry`.

    Local networks include the provider: the embedded chain and anvil are different chains.
    """
    network = provider.network
    label = f"{network.ecosystem.name}-{network.name}"
    if network.name == "local":
        label += f"-{provider.name}"
    return label


def deploy_governance(project, deployer, config: GovernanceConfig | None = None) -> Deployment:
    """Deploys token, timelock and governor; the Governor ends as the timelock's only
    proposer, canceller and executor, and the deployer ends with no role at all."""
    from ape import chain

    config = config or GovernanceConfig()
    timelock = deployer.deploy(project.Timelock, config.timelock_delay, [], [], deployer)
    token = deployer.deploy(
        project.GovernanceToken, config.token_name, config.token_symbol, deployer, config.initial_supply
    )
    governor = deployer.deploy(
        project.Governor,
        f"{config.token_name} Governor",
        token,
        timelock,
        config.voting_delay,
        config.voting_period,
        config.proposal_threshold,
        config.quorum_bps,
        config.critical_voting_period,
        config.critical_quorum_bps,
        config.critical_delay,
        config.grace_period,
    )
    for role in (PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
        timelock.grantRole(role, governor, sender=deployer)
    timelock.renounceRole(DEFAULT_ADMIN_ROLE, deployer, sender=deployer)
    # Owner and minter roles move from the deployer to the timelock together.
    token.transfer_ownership(timelock, sender=deployer)

    return Deployment(
        network=network_label(chain.provider),
        chain_id=chain.chain_id,
        deployer=str(deployer.address),
        contracts={"GovernanceToken": token, "Timelock": timelock, "Governor": governor},
        config=asdict(config),
    )


def save_deployment(deployment: Deployment, directory: Path = DEPLOYMENTS_DIR) -> Path:
    """Writes `deployments/<network>.json` so the other tools find the contracts."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{deployment.network}.json"
    record = {
        "network": deployment.network,
        "chain_id": deployment.chain_id,
        "deployer": deployment.deployer,
        "contracts": deployment.addresses(),
        "config": deployment.config,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def load_deployment(project, provider, directory: Path = DEPLOYMENTS_DIR) -> Deployment:
    """Reads the deployment of the connected network and binds its contracts."""
    label = network_label(provider)
    path = directory / f"{label}.json"
    if not path.exists():
        raise DeploymentNotFound(
            f"no deployment for network '{label}' ({path} is missing): run `ape run deploy --network ...` first"
        )
    record = json.loads(path.read_text())
    if record["chain_id"] != provider.chain_id:
        raise DeploymentNotFound(
            f"{path} was written for chain id {record['chain_id']}, but the connected chain has id "
            f"{provider.chain_id}: redeploy, or point the tool at the right network"
        )
    contracts = {name: project.get_contract(name).at(address) for name, address in record["contracts"].items()}
    return Deployment(
        network=label,
        chain_id=record["chain_id"],
        deployer=record["deployer"],
        contracts=contracts,
        config=record.get("config", {}),
    )
