"""The main job: the end-to-end demo on a local chain (embedded by default).

    ape run demo
    ape run demo --network ethereum:local:foundry
"""

import click
from ape import accounts, project
from ape.cli import ConnectedProviderCommand

from offchain.cli import quiet_ape, require_local, user_errors
from offchain.demos import governance


@click.command(cls=ConnectedProviderCommand)
@user_errors
def cli(provider):
    require_local(provider, "the demo")
    quiet_ape()
    summary = governance.run(project, accounts.test_accounts)
    governance.print_summary(summary)
