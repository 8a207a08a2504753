"""The main job: the end-to-end demo on a local chain (embedded by default).

    ape run demo                 # the inference economy: DAO listing, paid inferences, verified results, payouts
    ape run demo --governance    # the governance demo: routine and critical proposals
    ape run demo --network ethereum:local:foundry --workers 2   # anvil, two silverback worker bots
    ape run demo --models all    # every model's section: digits, then risk (contract-risk token listing)
"""

import click
from ape import accounts, project
from offchain.cli import Command, quiet_ape, require_local, user_errors
from offchain.demos import governance, inference, risk
from offchain.errors import InvalidInput

SECTIONS = ("digits", "risk")  # --models: the per-model demo sections, in the order `all` runs them


@click.command(cls=Command)
@click.option("--governance", "governance_only", is_flag=True, help="Run the governance demo instead.")
@click.option("--requests", default=100, show_default=True, help="Inferences the app builder pays for.")
@click.option("--workers", default=2, show_default=True, help="Worker bot processes (anvil only).")
@click.option("--models", "models", default="digits", show_default=True,
              help=f"Comma-separated demo sections ({', '.join(SECTIONS)}) or `all`.")
@user_errors
def cli(provider, governance_only, requests, workers, models):
    require_local(provider, "the demo")
    quiet_ape()
    if governance_only:
        governance.print_summary(governance.run(project, accounts.test_accounts))
        return
    chosen = SECTIONS if models.strip() == "all" else tuple(m.strip() for m in models.split(",") if m.strip())
    unknown = [m for m in chosen if m not in SECTIONS]
    if unknown or not chosen:
        raise InvalidInput(f"--models: unknown section '{', '.join(unknown) or models}': use "
                           f"{', '.join(SECTIONS)} or all")
    if "digits" in chosen:
        if provider.name == "test":  # the embedded chain: the worker runs in this process
            summary = inference.run(project, accounts.test_accounts, count=requests)
        else:  # a real node: worker bots in their own processes
            summary = inference.run_live(project, accounts.test_accounts, count=requests, workers=workers)
        inference.print_summary(summary)
    if "risk" in chosen:  # its worker runs in this process (the anvil test runs it as a bot)
        risk.print_summary(risk.run(project, accounts.test_accounts))
