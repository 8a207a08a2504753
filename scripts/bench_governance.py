"""Gas of governance operations, from real transactions on a fresh deployment.

    ape run bench_governance                                   # embedded chain
    ape run bench_governance --network ethereum:local:foundry  # anvil
"""

import click
from ape import accounts, project
from offchain.cli import Command, console, quiet_ape, require_local, table, user_errors
from offchain.demos.bench import governance_gas


@click.command(cls=Command)
@user_errors
def cli(provider):
    require_local(provider, "the benchmark (it advances time)")
    quiet_ape()
    rows = governance_gas(project, accounts.test_accounts)
    console.print(table(f"Governance gas on {provider.network.name}:{provider.name}", ["operation", "gas"], rows))
