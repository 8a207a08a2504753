"""NCOM, the governance token, from a terminal: for holders.

    ape run token balance [ADDRESS]                 # NCOM, votes, delegate, revenue owed, ETH
    ape run token transfer TO AMOUNT                # AMOUNT: 100 (whole NCOM) or "0.5 ether"
    ape run token delegate [--to ADDRESS]           # votes count only once delegated (to yourself is fine)
    ape run token revenue [ADDRESS]                 # ETH revenue the token has credited and not paid out
    ape run token withdraw                          # collect your ETH revenue

Every command takes --network and --account (on the embedded chain and anvil the first test account).
"""

import click

from offchain.cli import chain_command, withdraw_owed, delegate_votes, deployment_of
from offchain.cli import Group, console, fmt_eth, fmt_tokens, parse_address, parse_amount, \
    resolve_account, table
from offchain.errors import InvalidInput

ZERO = "0x" + "00" * 20


@click.group(cls=Group)
def cli():
    """Balances, transfers, delegation and revenue of NCOM."""


def _who(provider, account, address):
    return parse_address(address) if address else resolve_account(account, provider).address


@chain_command(cli, click.argument("address", required=False))
def balance(provider, account, address):
    """NCOM balance, votes, delegate, revenue owed and ETH of ADDRESS (default: your account)."""
    who = _who(provider, account, address)
    token = deployment_of(provider).GovernanceToken
    delegate = token.delegates(who)
    console.print(table(f"{who}", ["field", "value"], [
        ("NCOM", fmt_tokens(token.balanceOf(who))),
        ("votes", fmt_tokens(token.getVotes(who))),
        ("delegates to", "nobody: run `ape run token delegate`" if delegate == ZERO else delegate),
        ("revenue owed (ETH)", fmt_eth(token.withdrawable_revenue(who))),
        ("ETH", fmt_eth(provider.get_balance(who))),
    ]))


@chain_command(cli, click.argument("to"), click.argument("amount"))
def transfer(provider, account, to, amount):
    """Send AMOUNT NCOM (a bare number is whole NCOM) to TO."""
    sender = resolve_account(account, provider)
    receiver, wei = parse_address(to, "receiver"), parse_amount(amount, "amount")
    token = deployment_of(provider).GovernanceToken
    held = token.balanceOf(sender)
    if wei > held:
        raise InvalidInput(f"you hold {fmt_tokens(held)} NCOM, less than the {fmt_tokens(wei)} to send")
    token.transfer(receiver, wei, sender=sender)
    console.print(f"sent {fmt_eth(wei)} NCOM to {receiver}; you hold {fmt_tokens(token.balanceOf(sender))}")


@chain_command(
    cli,
    click.option("--to", "delegatee", default=None, help="Delegate to this address (default: yourself)."),
)
def delegate(provider, account, delegatee):
    """Delegate your votes (needed once before your tokens count)."""
    delegate_votes(provider, account, delegatee)


@chain_command(cli, click.argument("address", required=False))
def revenue(provider, account, address):
    """ETH revenue owed to ADDRESS's NCOM (default: your account)."""
    who = _who(provider, account, address)
    token = deployment_of(provider).GovernanceToken
    console.print(f"{who}: {fmt_eth(token.withdrawable_revenue(who))} ETH of revenue owed "
                  f"(collect with `ape run token withdraw`)")


@chain_command(cli)
def withdraw(provider, account):
    """Collect the ETH revenue your NCOM earned."""
    sender = resolve_account(account, provider)
    token = deployment_of(provider).GovernanceToken
    withdraw_owed(token.withdrawable_revenue(sender), lambda: token.withdraw_revenue(sender=sender),
                  "no revenue is owed to you yet: revenue accrues as the market pays the token's share", "ETH of revenue")
