"""Gas of governance operations, from real transactions on a fresh deployment.

    ape run bench_governance                                   # embedded chain
    ape run bench_governance --network ethereum:local:foundry  # anvil
"""

from ape import accounts, project
from offchain.cli import console, local_command, table
from offchain.demos.bench import governance_gas


@local_command("the benchmark (it advances time)")
def cli(provider):
    rows = governance_gas(project, accounts.test_accounts)
    console.print(table(f"Governance gas on {provider.network.name}:{provider.name}", ["operation", "gas"], rows))
