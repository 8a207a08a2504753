"""Deploys the Neural Commons system and writes deployments/<network>.json.

    ape run deploy                                   # embedded chain (lives as long as the command)
    ape run deploy --network ethereum:local:foundry  # anvil
    ape run deploy --network <any> --account <alias>
"""

import click
from ape import project
from ape.cli import ConnectedProviderCommand, account_option

from offchain.cli import console, resolve_account, table, user_errors
from offchain.deploy import GovernanceConfig, deploy_system, save_deployment


@click.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.option("--timelock-delay", type=int, default=None, help="Routine timelock delay in seconds.")
@click.option("--voting-delay", type=int, default=None, help="Seconds from proposal to snapshot.")
@click.option("--voting-period", type=int, default=None, help="Routine voting period in seconds.")
@user_errors
def cli(provider, account, timelock_delay, voting_delay, voting_period):
    deployer = resolve_account(account, provider)
    overrides = {
        key: value
        for key, value in {
            "timelock_delay": timelock_delay,
            "voting_delay": voting_delay,
            "voting_period": voting_period,
        }.items()
        if value is not None
    }
    config = GovernanceConfig(**overrides)
    deployment = deploy_system(project, deployer, config)
    path = save_deployment(deployment)
    console.print(table(f"Deployed on {deployment.network}", ["contract", "address"], deployment.addresses().items()))
    console.print(f"wrote {path}")
    if provider.network.name == "local" and provider.name == "test":
        console.print("note: the embedded chain ends with this command; use --network ethereum:local:foundry to keep it")
