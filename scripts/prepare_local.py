"""Prepares a local chain for workers and app builders: deploy, list the digits
model through the DAO, stake workers. Writes deployments/<network>.json.

    ape run prepare_local --network ethereum:local:foundry --workers 2
    ape run prepare_local --network ethereum:local:foundry --models digits,risk   # also list the risk model
    ape run prepare_local --network ethereum:local:foundry --models digits,pixels   # also the image model
                                                                                    # and its NFT collection
"""

import click
from ape import accounts, project

from offchain.cli import Command, console, own_node, quiet_ape, require_local, user_errors
from offchain.demos.inference import WORKER_ACCOUNTS, WORKER_PORT, prepare, stake
from offchain.demos.risk import register_and_list
from offchain.deploy import save_deployment
from offchain.errors import InvalidInput
from offchain.models import load_spec


@click.command(cls=Command)
@click.option("--workers", default=2, show_default=True, help="Test accounts to stake as workers.")
@click.option("--models", "models", default="digits", show_default=True,
              help="Models to list, comma-separated: digits (always, first), risk, pixels (with its "
                   "NFTMinter collection).")
@user_errors
def cli(provider, workers, models):
    require_local(provider, "preparing a local economy")
    if own_node(provider):
        raise InvalidInput("no node is running at the configured host: start one first (`make anvil`); a node ape "
                           "starts for this command alone would vanish with the deployment")
    quiet_ape()
    test = accounts.test_accounts
    names = [n.strip() for n in models.split(",") if n.strip()]
    if names[:1] != ["digits"] or not set(names) <= {"digits", "pixels", "risk"}:
        raise InvalidInput(f"--models '{models}': use digits, optionally followed by risk and/or pixels")
    d, model_id = prepare(project, test, load_spec("digits"))
    if "risk" in names:
        listed = register_and_list(d, load_spec("risk"), test[8], test[9], test[1], [test[1], test[2]])
        console.print(f"model {listed} (risk) listed")
    if "pixels" in names:
        from offchain.demos.nft import deploy_minter, list_pixels

        pixels_id = list_pixels(d, test, load_spec("pixels"))
        console.print(f"model {pixels_id} (pixels) listed; NFTMinter at "
                      f"{deploy_minter(project, d, test[0], pixels_id).address}")
    for i in range(workers):
        stake(d, test[0], test[WORKER_ACCOUNTS[i]], f"http://127.0.0.1:{WORKER_PORT + i}")
    console.print(f"wrote {save_deployment(d)}; model {model_id}; {workers} workers staked")
