"""The main job: the end-to-end demo on a local chain (embedded by default).

    ape run demo                 # the inference economy: DAO listing, paid inferences, verified results, payouts
    ape run demo --models all    # every model's section: digits, minilm, nft, risk, one after the other
    ape run demo --models minilm # paid sentence embeddings, verified, and a semantic-search answer from them
    ape run demo --models nft    # images drawn by the pixels model and minted as NFTs
    ape run demo --models risk   # contract-risk scores gate a token listing registry
    ape run demo --governance    # the governance demo: routine and critical proposals
    ape run demo --network ethereum:local:foundry --workers 2   # anvil, two silverback worker bots
"""

import click
from ape import accounts, project
from offchain.cli import Command, quiet_ape, require_local, user_errors
from offchain.demos import governance, inference
from offchain.errors import InvalidInput

SECTIONS = ("digits", "minilm", "nft", "risk")  # --models: each model's demo section, in the order `all` runs them


def _sections(text: str) -> list[str]:
    names = SECTIONS if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise InvalidInput(f"--models '{text}': use all or a comma-separated list of {', '.join(SECTIONS)}")
    return list(names)


@click.command(cls=Command)
@click.option("--governance", "governance_only", is_flag=True, help="Run the governance demo instead.")
@click.option("--models", default="digits", show_default=True,
              help=f"Demo sections to run: all, or a comma-separated list of {', '.join(SECTIONS)}.")
@click.option("--requests", default=100, show_default=True, help="Inferences the app builder pays for (digits).")
@click.option("--texts", default=20, show_default=True, help="Embeddings the app builder pays for (minilm).")
@click.option("--workers", default=2, show_default=True, help="Worker bot processes (anvil only).")
@user_errors
def cli(provider, governance_only, models, requests, texts, workers):
    require_local(provider, "the demo")
    sections = _sections(models)
    quiet_ape()
    if governance_only:
        governance.print_summary(governance.run(project, accounts.test_accounts))
        return
    if "digits" in sections:
        if provider.name == "test":  # the embedded chain: the worker runs in this process
            summary = inference.run(project, accounts.test_accounts, count=requests)
        else:  # a real node: worker bots in their own processes
            summary = inference.run_live(project, accounts.test_accounts, count=requests, workers=workers)
        inference.print_summary(summary)
    if "minilm" in sections:  # its worker runs in this process (the anvil tests run it as a bot)
        from offchain.demos import embeddings

        embeddings.print_summary(embeddings.run(project, accounts.test_accounts, count=texts))
    if "nft" in sections:  # its worker runs in this process (the anvil test runs it as a bot)
        from offchain.demos import nft

        nft.print_summary(nft.run(project, accounts.test_accounts))
    if "risk" in sections:  # its worker runs in this process (the anvil test runs it as a bot)
        from offchain.demos import risk

        risk.print_summary(risk.run(project, accounts.test_accounts))
