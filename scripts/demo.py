"""The main job: the end-to-end demo on a local chain (embedded by default).

    ape run demo                 # the inference economy: DAO listing, paid inferences, verified results, payouts
    ape run demo --models all    # every model's section: digits, minilm, nft, risk, one after the other
    ape run demo --models minilm # paid sentence embeddings, verified, and a semantic-search answer from them
    ape run demo --models nft    # images drawn by the pixels model and minted as NFTs
    ape run demo --models risk   # contract-risk scores gate a token listing registry
    ape run demo --governance    # the governance demo: routine and critical proposals
    ape run demo --network ethereum:local:foundry --workers 2   # anvil, two silverback worker bots
"""

import time

import click
from ape import accounts, project
from offchain.cli import Command, console, fmt_eth, quiet_ape, require_local, table, user_errors
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
    rows = []
    for name in (n for n in SECTIONS if n in sections):  # one after the other, each on its own deployment
        start = time.monotonic()
        summary = _run_section(name, provider, requests=requests, texts=texts, workers=workers)
        rows.append((name, summary.requests, summary.verified, fmt_eth(sum(summary.received.values())),
                     f"{time.monotonic() - start:.1f}"))
    if len(rows) > 1:
        console.print(table("Demo sections", ["model", "requests paid", "results verified",
                                              "revenue withdrawn (ETH)", "wall time (s)"], rows))


def _run_section(name: str, provider, *, requests: int, texts: int, workers: int):
    """Runs and prints one section; returns its summary (requests, verified, received)."""
    test_accounts = accounts.test_accounts
    if name == "digits":
        if provider.name == "test":  # the embedded chain: the worker runs in this process
            summary = inference.run(project, test_accounts, count=requests)
        else:  # a real node: worker bots in their own processes
            summary = inference.run_live(project, test_accounts, count=requests, workers=workers)
        print_summary = inference.print_summary
    elif name == "minilm":
        from offchain.demos import embeddings

        if provider.name == "test":  # the embedded chain: the worker runs in this process
            summary = embeddings.run(project, test_accounts, count=texts)
        else:  # a real node: the worker is a bot in its own process
            summary = embeddings.run_live(project, test_accounts, count=texts)
        print_summary = embeddings.print_summary
    elif name == "nft":  # its worker runs in this process (the anvil test runs it as a bot)
        from offchain.demos import nft

        summary, print_summary = nft.run(project, test_accounts), nft.print_summary
    elif name == "risk":  # its worker runs in this process (the anvil test runs it as a bot)
        from offchain.demos import risk

        summary, print_summary = risk.run(project, test_accounts), risk.print_summary
    else:
        raise InvalidInput(f"--models: no section '{name}'")
    print_summary(summary)
    return summary
