"""Deploys and wires the Neural Commons contracts; records their addresses.

One place owns the wiring so that `ape run deploy`, the demo, the benchmarks
and the test fixtures all build the same system.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import keccak

from offchain.errors import DeploymentNotFound
from offchain.settings import load_settings

DAY = 86_400  # seconds

PROPOSER_ROLE = keccak(text="PROPOSER_ROLE")
EXECUTOR_ROLE = keccak(text="EXECUTOR_ROLE")
CANCELLER_ROLE = keccak(text="CANCELLER_ROLE")
DEFAULT_ADMIN_ROLE = b"\x00" * 32

# Critical from deployment: the Governor's constructor marks these
# (contract, method) pairs, so a proposal calling one needs the critical
# quorum, period and delay. They change who can move money or change the
# rules. On top of these, the Governor itself treats as critical: any call
# with treasury ETH, any call to the Governor or the Timelock (settings,
# critical policy and marks, roles, delay, nested schedule/execute), and on
# any target the asset and hand-over selectors (transfer, transferFrom,
# approve, increaseAllowance, safeTransferFrom, safeBatchTransferFrom,
# setApprovalForAll, delegate, burn, transferOwnership/transfer_ownership,
# renounceOwnership/renounce_ownership, grantRole, revokeRole, renounceRole,
# set_minter). docs/governance.md lists the same table.
CRITICAL_EVERYWHERE = (
    "sweep_treasury",  # every contract's treasury sweep
    "transfer_governance",  # governance hand-overs
    "set_governance",
    "set_minter",  # who may mint
    # The timelock itself is a minter of the token and the shares (snekmate makes an owner one): a routine
    # vote minting itself 10x the supply would hold every later critical vote, or a model's revenue
    "mint",
    "mint_batch",
    "set_permissions",  # who may slash stakes and write reputation
    "transfer_ownership",
)
CRITICAL_METHODS: dict[str, tuple[str, ...]] = {
    "GovernanceToken": ("set_minter", "transfer_ownership", "set_revenue_excluded"),
    "ModelShares": ("set_minter", "transfer_ownership"),
    # transfer_model, set_price, publish_version: models the treasury owns (trained ones), their revenue and who
    # holds the shares of a new version; retire_model: for good, and it frees the artifact for a copy's listing
    # (a routine vote retiring a model and listing a copy registered to the voter would move its revenue)
    "ModelRegistry": ("transfer_model", "set_price", "publish_version", "retire_model"),
    # set_unbonding_delay: how long a stake stays slashable after unbond; set_min_stake: who is an active
    # worker and who may be drawn (a huge minimum empties every committee, so every dispute escalates)
    "WorkerRegistry": ("set_permissions", "transfer_ownership", "set_unbonding_delay", "set_min_stake"),
    # set_params: the fee split and the slash sizes (how much stake a dispute moves)
    "InferenceMarket": ("sweep_treasury", "set_params"),
    "PaymentChannels": ("sweep_treasury", "set_params"),
    # set_params: committee size, periods, fees, the no-show slash and the appeal window (how disputes are
    # decided and what they move); set_client: which contracts may open disputes; rule: each ruling moves
    # a slash, and one proposal can carry many (a routine 5 % vote ruling ten escalated challenges of one
    # worker would take its whole stake)
    "DisputeCourt": ("set_params", "set_client", "rule"),
    # open_bounty: a bounty is a budget of newly minted tokens; set_review_period: how soon anyone may
    # expire an undecided contribution
    "DataBounties": ("open_bounty", "set_review_period"),
    # set_policy: the share split of trained models and the trainer slash; set_params: minimum goal and the
    # timeouts after which anyone may fail a campaign; cancel: ends a campaign and refunds its backers;
    # accept: pays the trainer the whole escrow (routine, a 5 % holder with a trainer of its own could pass a
    # sham delivery and take the backers' money); reject: slashes the trainer (routine, a 5 % holder's reject
    # would execute ahead of a pending critical accept of an honest delivery); a critical vote (18 days) fits
    # the 30-day review period
    "TrainingFund": ("set_policy", "set_params", "cancel", "accept", "reject"),
}


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


@dataclass(frozen=True)
class MarketConfig:
    """Initial market, registry and staking settings; changeable later only by proposal."""

    protocol_fee_bps: int = 500  # charged on top of the model price
    worker_bps: int = 7_000  # shares of each payment; the treasury gets the rest (5 %)
    shareholders_bps: int = 2_000
    holders_bps: int = 500
    claim_timeout: int = 600  # seconds a claim is exclusive
    challenge_window: int = 3_600  # seconds after fulfilment
    challenge_bond: int = 10**16  # wei (0.01 ETH)
    challenge_slash: int = 100 * 10**18  # tokens taken from a worker whose result is overturned
    miss_slash: int = 10 * 10**18  # tokens taken from a worker that claimed and missed
    callback_gas_price: int = 10**9  # wei per gas of consumer callback, prepaid to the finalizer
    max_result_size: int = 1_024  # bytes
    min_stake: int = 1_000 * 10**18  # tokens to be an active worker
    unbonding_delay: int = 7 * DAY  # seconds
    shares_base_uri: str = "nc://models/"
    close_delay: int = 3_600  # seconds a payer waits to close a channel (the worker's time to settle)
    receipt_challenge_bond: int = 10**16  # wei
    receipt_challenge_slash: int = 100 * 10**18  # tokens taken from a worker whose receipt is overturned

    def market_params(self) -> tuple:
        """The InferenceMarket's MarketParams struct, in field order."""
        return (
            self.protocol_fee_bps,
            self.worker_bps,
            self.shareholders_bps,
            self.holders_bps,
            self.claim_timeout,
            self.challenge_window,
            self.challenge_bond,
            self.challenge_slash,
            self.miss_slash,
            self.callback_gas_price,
            self.max_result_size,
        )

    # DisputeCourt (docs/verification.md): a committee of verifiers decides each challenge.
    committee_size: int = 3  # members per dispute, odd
    draw_delay: int = 2  # blocks between the challenge and the block whose hash seeds the draw
    commit_period: int = 3_600  # seconds members have to commit after the draw
    reveal_period: int = 1_800  # seconds members have to reveal
    member_fee: int = 10**15  # wei from the bond to each majority revealer (a tenth of the bond)
    no_show_slash: int = 50 * 10**18  # tokens locked per member at the draw, slashed if it does not reveal
    # seconds governance has to rule an escalated dispute (a ruling is critical: 1 + 10 + 7 = 18 days from
    # proposal to execution, and a few days to propose); then anyone expires it
    escalation_period: int = 21 * DAY
    sample_bps: int = 500  # share of fulfilled requests each verifier re-executes (5 %)

    def court_params(self) -> tuple:
        """The DisputeCourt's CourtParams struct, in field order."""
        return (
            self.committee_size,
            self.draw_delay,
            self.commit_period,
            self.reveal_period,
            self.member_fee,
            self.no_show_slash,
            self.escalation_period,
            self.sample_bps,
        )

    bounty_challenge_bond: int = 10**16  # wei to dispute an accepted data contribution
    bounty_review_period: int = 30 * DAY  # seconds validators (votes) and governance (challenges) have to decide
    backers_bps: int = 5_000  # shares of a crowdfunded model: backers, data contributors;
    data_bps: int = 3_000  # the trainer gets the rest (20 %)
    trainer_miss_slash: int = 50 * 10**18  # tokens taken from a trainer that misses or is rejected

    campaign_min_goal: int = 10**17  # wei: the smallest funding goal (0.1 ETH)
    campaign_queue_timeout: int = 90 * DAY  # seconds a funded campaign waits for a trainer before refunds open
    campaign_review_period: int = 30 * DAY  # seconds governance has to accept or reject a delivery

    def share_policy(self) -> tuple:
        """The TrainingFund's SharePolicy struct, in field order."""
        return (self.backers_bps, self.data_bps, self.trainer_miss_slash)

    def campaign_params(self) -> tuple:
        """The TrainingFund's CampaignParams struct, in field order."""
        return (self.campaign_min_goal, self.campaign_queue_timeout, self.campaign_review_period)

    def channel_params(self) -> tuple:
        """The PaymentChannels' ChannelParams struct, in field order."""
        return (self.close_delay, self.receipt_challenge_bond, self.receipt_challenge_slash)


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


def deploy_system(
    project,
    deployer,
    governance: GovernanceConfig | None = None,
    market: MarketConfig | None = None,
) -> Deployment:
    """Deploys and wires every contract, then hands all power to the timelock.

    The deployer wires what needs wiring (timelock roles, minters, the
    market's slashing right, revenue exclusions) and ends with no role at
    all: the Governor is the timelock's only proposer, canceller and
    executor, and the timelock owns every governed setter.
    """
    from ape import chain

    governance = governance or GovernanceConfig()
    market = market or MarketConfig()
    timelock = deployer.deploy(project.Timelock, governance.timelock_delay, [], [], deployer)
    token = deployer.deploy(
        project.GovernanceToken, governance.token_name, governance.token_symbol, deployer, governance.initial_supply
    )
    shares = deployer.deploy(project.ModelShares, market.shares_base_uri)
    registry = deployer.deploy(project.ModelRegistry, timelock, shares)
    workers = deployer.deploy(project.WorkerRegistry, token, market.min_stake, market.unbonding_delay)
    court = deployer.deploy(project.DisputeCourt, registry, workers, timelock, market.court_params())
    inference = deployer.deploy(
        project.InferenceMarket, timelock, registry, workers, court, shares, token, market.market_params()
    )
    channels = deployer.deploy(
        project.PaymentChannels, timelock, registry, workers, inference, court, shares, token,
        market.channel_params(),
    )
    bounties = deployer.deploy(
        project.DataBounties, timelock, token, market.bounty_challenge_bond, market.bounty_review_period
    )
    fund = deployer.deploy(
        project.TrainingFund, timelock, registry, shares, workers, bounties, market.share_policy(),
        market.campaign_params(),
    )
    governed = {
        "GovernanceToken": token,
        "ModelShares": shares,
        "ModelRegistry": registry,
        "WorkerRegistry": workers,
        "InferenceMarket": inference,
        "PaymentChannels": channels,
        "DisputeCourt": court,
        "DataBounties": bounties,
        "TrainingFund": fund,
    }
    # Last, so that its constructor can mark every other contract's critical setters.
    governor = deployer.deploy(
        project.Governor,
        f"{governance.token_name} Governor",
        token,
        timelock,
        governance.voting_delay,
        governance.voting_period,
        governance.proposal_threshold,
        governance.quorum_bps,
        governance.critical_voting_period,
        governance.critical_quorum_bps,
        governance.critical_delay,
        governance.grace_period,
        [(address, selector) for _, _, address, selector in critical_marks(governed)],
    )

    # Wiring, while the deployer still holds the roles.
    for role in (PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
        timelock.grantRole(role, governor, sender=deployer)
    shares.set_minter(registry, True, sender=deployer)
    # (contract, can slash, can record reputation)
    workers.set_permissions(inference, True, True, sender=deployer)
    workers.set_permissions(channels, True, False, sender=deployer)  # slashes workers whose receipts are overturned
    workers.set_permissions(court, True, False, sender=deployer)  # locks committee members, slashes no-shows
    court.set_client(inference, True, sender=deployer)  # request challenges
    court.set_client(channels, True, sender=deployer)  # receipt challenges
    workers.set_permissions(fund, True, True, sender=deployer)  # slashes and records trainers that miss or are rejected
    token.set_minter(bounties, True, sender=deployer)  # data rewards, capped by each bounty's budget
    shares.set_minter(fund, True, sender=deployer)  # shares of crowdfunded models
    # Staked tokens belong to workers: they must not soak up holder revenue.
    token.set_revenue_excluded(workers, True, sender=deployer)

    # Hand-over: owner and minter roles move together; the deployer renounces last.
    token.transfer_ownership(timelock, sender=deployer)
    shares.transfer_ownership(timelock, sender=deployer)
    workers.transfer_ownership(timelock, sender=deployer)
    court.transfer_ownership(timelock, sender=deployer)
    timelock.renounceRole(DEFAULT_ADMIN_ROLE, deployer, sender=deployer)

    return Deployment(
        network=network_label(chain.provider),
        chain_id=chain.chain_id,
        deployer=str(deployer.address),
        contracts={"GovernanceToken": token, "Timelock": timelock, "Governor": governor, **governed},
        config={"governance": asdict(governance), "market": asdict(market)},
    )


def critical_marks(contracts: dict[str, Any]) -> list[tuple[str, str, str, bytes]]:
    """(contract name, method, address, selector) for every critical setter of `contracts`.

    Each contract's `CRITICAL_METHODS` entry must exist in its ABI (a renamed
    setter fails here rather than silently becoming routine); the
    `CRITICAL_EVERYWHERE` names are marked on whichever contracts have them.
    Overloads of a name are all marked.
    """
    marks: list[tuple[str, str, str, bytes]] = []
    for name, contract in contracts.items():
        methods = {abi.name: abi for abi in contract.contract_type.mutable_methods}
        wanted = set(CRITICAL_METHODS.get(name, ()))
        missing = sorted(wanted - methods.keys())
        if missing:
            raise ValueError(f"{name} has no method {', '.join(missing)}: update CRITICAL_METHODS in offchain/deploy.py")
        wanted |= set(CRITICAL_EVERYWHERE) & methods.keys()
        for abi in contract.contract_type.mutable_methods:
            if abi.name in wanted:
                selector = keccak(text=abi.selector)[:4]
                marks.append((name, abi.name, str(contract.address), selector))
    return marks


def save_deployment(deployment: Deployment, directory: Path | None = None) -> Path:
    """Writes `deployments/<network>.json` so the other tools find the contracts."""
    directory = Path(directory or load_settings().deployments_dir)  # NC_DEPLOYMENTS_DIR
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


def load_deployment(project, provider, directory: Path | None = None) -> Deployment:
    """Reads the deployment of the connected network and binds its contracts."""
    directory = Path(directory or load_settings().deployments_dir)  # NC_DEPLOYMENTS_DIR
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
