"""The commons demo: community data and community money train a model whose
revenue reaches its backers and data contributors.

    ape run commons            # embedded chain
"""

import click
from ape import accounts, project
from offchain.cli import Command, quiet_ape, require_local, user_errors
from offchain.demos import commons


@click.command(cls=Command)
@click.option("--requests", default=20, show_default=True, help="Paid inferences on the trained model.")
@user_errors
def cli(provider, requests):
    require_local(provider, "the commons demo")
    quiet_ape()
    commons.print_summary(commons.run(project, accounts.test_accounts, requests=requests))
