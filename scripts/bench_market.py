"""Gas of the inference market, from real transactions on a fresh deployment.

    ape run bench_market                                   # embedded chain
    ape run bench_market --network ethereum:local:foundry  # anvil
"""

from ape import accounts, project
from offchain.cli import console, local_command, table
from offchain.demos.bench import EIP170_LIMIT, code_sizes, market_gas


@local_command("the benchmark (it advances time)")
def cli(provider):
    single, batches = market_gas(project, accounts.test_accounts)
    where = f"{provider.network.name}:{provider.name}"
    console.print(table(f"Market gas per operation on {where}", ["operation", "gas"], single))
    console.print(
        table(
            f"Batched forms on {where}: gas per request",
            ["batch size", "request", "claim", "fulfil", "finalize", "lifecycle gas per inference"],
            batches,
        )
    )
    console.print(
        table(
            f"Deployed code size (EIP-170 limit {EIP170_LIMIT:,} bytes)",
            ["contract", "bytes", "of limit", "headroom"],
            code_sizes(project, accounts.test_accounts),
        )
    )
