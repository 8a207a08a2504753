"""The DAO treasury (the timelock) from a terminal.

    ape run treasury balance      # ETH and NCOM the timelock holds, and what the contracts owe it
    ape run treasury owed         # what each contract owes the treasury
    ape run treasury sweep        # anyone: move the market's and the channels' treasury share to the timelock
    ape run treasury deposit "3 ether"   # anyone: give the treasury ETH (a donation, or a grant's funding)

Spending it takes a proposal: `ape run dao propose "Grant" --send-eth 0xRECIPIENT "2.5 ether"`.
"""

import click

from offchain.cli import chain_command, deployment_of
from offchain.cli import Group, console, fmt_eth, parse_amount, fmt_tokens, resolve_account, table
from offchain.errors import InvalidInput

# Contracts that credit the treasury with pull payments, and whether anyone can sweep them.
OWING = (("InferenceMarket", True), ("PaymentChannels", True), ("TrainingFund", False), ("DataBounties", False))


@click.group(cls=Group)
def cli():
    """What the DAO's treasury holds and is owed."""


def _owed(deployment) -> list[tuple[str, int, bool]]:
    treasury = deployment.Timelock.address
    return [(name, deployment.contracts[name].owed(treasury), sweepable)
            for name, sweepable in OWING if name in deployment.contracts]


@chain_command(cli)
def balance(provider, account):
    """ETH and NCOM held by the timelock, and what it is owed."""
    d = deployment_of(provider)
    treasury = d.Timelock.address
    owed = sum(amount for _, amount, _ in _owed(d))
    console.print(table(f"Treasury {treasury}", ["field", "value"], [
        ("ETH held", fmt_eth(provider.get_balance(treasury))),
        ("NCOM held", fmt_tokens(d.GovernanceToken.balanceOf(treasury))),
        ("ETH owed by the contracts", fmt_eth(owed)),
    ]))


@chain_command(cli)
def owed(provider, account):
    """ETH each contract owes the treasury (sweep the market's and the channels' with `treasury sweep`)."""
    rows = [(name, fmt_eth(amount), "treasury sweep" if sweepable else "a DAO proposal: "
             f"{name}.withdraw()") for name, amount, sweepable in _owed(deployment_of(provider))]
    console.print(table("Owed to the treasury (ETH)", ["contract", "owed", "collected by"], rows))


@chain_command(cli)
def sweep(provider, account):
    """Send the market's and the channels' treasury share to the timelock (anyone may)."""
    sender = resolve_account(account, provider)
    d = deployment_of(provider)
    swept = 0
    for name, amount, sweepable in _owed(d):
        if sweepable and amount:
            d.contracts[name].sweep_treasury(sender=sender)
            swept += amount
            console.print(f"{name}: {fmt_eth(amount)} ETH to the treasury")
    if not swept:
        raise InvalidInput("nothing to sweep: the market and the channels owe the treasury nothing yet")


@chain_command(cli, click.argument("amount"))
def deposit(provider, account, amount):
    """Send AMOUNT ETH to the treasury (the timelock)."""
    sender = resolve_account(account, provider)
    wei = parse_amount(amount, "amount")
    treasury = deployment_of(provider).Timelock
    if provider.get_balance(sender.address) < wei:
        raise InvalidInput(f"your balance {fmt_eth(provider.get_balance(sender.address))} ETH is below {amount}")
    sender.transfer(treasury.address, wei)
    console.print(f"the treasury now holds {fmt_eth(provider.get_balance(treasury.address))} ETH")
