"""The commons demo: community data and community money train a model whose
revenue reaches its backers and data contributors.

    ape run commons            # embedded chain
"""

import click
from ape import accounts, project
from offchain.cli import local_command
from offchain.demos import commons


@local_command("the commons demo",
               click.option("--requests", default=20, show_default=True, help="Paid inferences on the trained model."))
def cli(provider, requests):
    commons.print_summary(commons.run(project, accounts.test_accounts, requests=requests))
