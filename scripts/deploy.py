"""Deploys the Neural Commons system and writes deployments/<network>.json.

    ape run deploy                                   # embedded chain (lives as long as the command)
    ape run deploy --network ethereum:local:foundry  # anvil: start it first (`make anvil`)
    ape run deploy --network <any> --account <alias> [--timelock-delay 2d] [--voting-delay 1d] [--voting-period 5d]

Durations take units (2d, 6h, 30m, 45s; a bare number is seconds).
"""

import click
from ape import project

from offchain.cli import chain_command, console, own_node, parse_duration, resolve_account, table
from offchain.deploy import GovernanceConfig, deploy_system, save_deployment
from offchain.errors import InvalidInput


@chain_command(
    None,
    click.option("--timelock-delay", default=None, help="Routine timelock delay: 2d, 6h ..."),
    click.option("--voting-delay", default=None, help="From proposal to snapshot: 1d, 6h ..."),
    click.option("--voting-period", default=None, help="Routine voting period: 5d ..."),
)
def cli(provider, account, timelock_delay, voting_delay, voting_period):
    if own_node(provider):
        raise InvalidInput(f"no node is running at {getattr(provider, 'uri', 'the configured host')}: ape would start "
                           f"one for this command alone and the deployment would vanish with it; start a node first "
                           f"(`make anvil`), then deploy")
    deployer = resolve_account(account, provider)
    overrides = {
        key: parse_duration(value, f"--{key.replace('_', '-')}")
        for key, value in {
            "timelock_delay": timelock_delay,
            "voting_delay": voting_delay,
            "voting_period": voting_period,
        }.items()
        if value is not None
    }
    try:
        config = GovernanceConfig(**overrides)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"governance settings do not fit together: {exc}") from None
    deployment = deploy_system(project, deployer, config)
    path = save_deployment(deployment)
    console.print(table(f"Deployed on {deployment.network}", ["contract", "address"], deployment.addresses().items()))
    console.print(f"wrote {path}")
    if provider.network.name == "local" and provider.name == "test":
        console.print("note: the embedded chain ends with this command; use --network ethereum:local:foundry to keep it")
