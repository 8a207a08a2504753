"""GovernanceToken as an ERC-20: transfers, allowances, minting, burning, permit."""

import ape
import pytest
from ape import chain

from tests.utils.signing import permit_signature
from tests.utils.constants import ETH, ZERO_ADDRESS as ZERO


def test_metadata(token):
    assert token.name() == "Neural Commons"
    assert token.symbol() == "NCOM"
    assert token.decimals() == 18
    assert token.totalSupply() == 100_000_000 * ETH


def test_constructor__hands_minting_and_ownership_to_governance(token, timelock, deployer):
    assert token.owner() == timelock.address
    assert token.is_minter(timelock)
    assert not token.is_minter(deployer)


def test_transfer__moves_balance_and_logs(token, alice, mallory):
    tx = token.transfer(mallory, 5 * ETH, sender=alice)
    assert token.balanceOf(mallory) == 5 * ETH
    assert token.balanceOf(alice) == 30_000_000 * ETH - 5 * ETH
    assert tx.decode_logs(token.Transfer)[0].value == 5 * ETH


def test_transfer__more_than_balance__reverts(token, mallory, alice):
    with ape.reverts("erc20: transfer amount exceeds balance"):
        token.transfer(alice, 1, sender=mallory)


def test_transfer__to_zero_address__reverts(token, alice):
    with ape.reverts("GovernanceToken: transfer to the zero address"):
        token.transfer(ZERO, 1, sender=alice)


def test_transfer_from__spends_allowance(token, alice, bob, mallory):
    token.approve(bob, 10 * ETH, sender=alice)
    token.transferFrom(alice, mallory, 4 * ETH, sender=bob)
    assert token.allowance(alice, bob) == 6 * ETH
    assert token.balanceOf(mallory) == 4 * ETH


def test_transfer_from__beyond_allowance__reverts(token, alice, bob, mallory):
    token.approve(bob, 1 * ETH, sender=alice)
    with ape.reverts("erc20: insufficient allowance"):
        token.transferFrom(alice, mallory, 2 * ETH, sender=bob)


def test_mint__by_minter__adds_supply(token, minting, mallory):
    supply = token.totalSupply()
    token.mint(mallory, 7 * ETH, sender=minting)
    assert token.balanceOf(mallory) == 7 * ETH
    assert token.totalSupply() == supply + 7 * ETH


def test_mint__by_non_minter__reverts(token, mallory, deployer):
    with ape.reverts("GovernanceToken: caller is not a minter"):
        token.mint(mallory, 1, sender=deployer)


def test_mint__to_zero_address__reverts(token, minting):
    with ape.reverts("erc20: mint to the zero address"):
        token.mint(ZERO, 1, sender=minting)


def test_mint__beyond_vote_capacity__reverts(token, minting, mallory):
    with ape.reverts("GovernanceToken: supply exceeds vote capacity"):
        token.mint(mallory, 2**208, sender=minting)


def test_set_minter__by_governance__grants_minting(token, govern, mallory, carol):
    govern((token, "set_minter", mallory, True))
    assert token.is_minter(mallory)
    token.mint(carol, 1, sender=mallory)
    govern((token, "set_minter", mallory, False))
    with ape.reverts("GovernanceToken: caller is not a minter"):
        token.mint(carol, 1, sender=mallory)


def test_set_minter__by_deployer__reverts(token, deployer, mallory):
    with ape.reverts("ownable: caller is not the owner"):
        token.set_minter(mallory, True, sender=deployer)


def test_burn__reduces_supply(token, alice):
    supply = token.totalSupply()
    token.burn(3 * ETH, sender=alice)
    assert token.totalSupply() == supply - 3 * ETH


def test_burn__more_than_balance__reverts(token, mallory):
    with ape.reverts("erc20: burn amount exceeds balance"):
        token.burn(1, sender=mallory)


def test_burn_from__spends_allowance(token, alice, bob):
    token.approve(bob, 2 * ETH, sender=alice)
    token.burn_from(alice, 2 * ETH, sender=bob)
    assert token.allowance(alice, bob) == 0


def test_burn_from__without_allowance__reverts(token, alice, bob):
    with ape.reverts("erc20: insufficient allowance"):
        token.burn_from(alice, 1, sender=bob)


# ---------------------------------------------------------------- permit


def _permit(token, owner, spender, value, *, nonce=None, deadline=None, chain_id=None, verifying_contract=None):
    nonce = token.nonces(owner) if nonce is None else nonce
    deadline = chain.pending_timestamp + 3600 if deadline is None else deadline
    v, r, s = permit_signature(
        owner,
        token,
        spender,
        value,
        nonce,
        deadline,
        chain_id=chain.chain_id if chain_id is None else chain_id,
        verifying_contract=verifying_contract,
    )
    return (owner, spender, value, deadline, v, r, s)


def test_permit__valid_signature__sets_allowance(token, alice, bob, mallory):
    args = _permit(token, alice, bob, 9 * ETH)
    tx = token.permit(*args, sender=mallory)  # anyone relays it
    assert token.allowance(alice, bob) == 9 * ETH
    assert token.nonces(alice) == 1
    assert tx.decode_logs(token.Approval)[0].value == 9 * ETH


def test_permit__reused_nonce__reverts(token, alice, bob):
    args = _permit(token, alice, bob, 9 * ETH)
    token.permit(*args, sender=bob)
    with ape.reverts("erc20: invalid signature"):
        token.permit(*args, sender=bob)


def test_permit__other_chain_id__reverts(token, alice, bob):
    args = _permit(token, alice, bob, 9 * ETH, chain_id=chain.chain_id + 1)
    with ape.reverts("erc20: invalid signature"):
        token.permit(*args, sender=bob)


def test_permit__other_contract__reverts(token, timelock, alice, bob):
    args = _permit(token, alice, bob, 9 * ETH, verifying_contract=timelock.address)
    with ape.reverts("erc20: invalid signature"):
        token.permit(*args, sender=bob)


def test_permit__expired_deadline__reverts(token, alice, bob):
    args = _permit(token, alice, bob, 9 * ETH, deadline=chain.pending_timestamp - 1)
    with ape.reverts("erc20: expired deadline"):
        token.permit(*args, sender=bob)


@pytest.mark.parametrize("tampered", ["value", "spender"])
def test_permit__tampered_field__reverts(token, alice, bob, mallory, tampered):
    owner, spender, value, deadline, v, r, s = _permit(token, alice, bob, 9 * ETH)
    if tampered == "value":
        value += 1
    else:
        spender = mallory
    with ape.reverts("erc20: invalid signature"):
        token.permit(owner, spender, value, deadline, v, r, s, sender=bob)


def test_transfer_from__to_zero_address__reverts(token, alice, bob):
    token.approve(bob, 1, sender=alice)
    with ape.reverts("GovernanceToken: transfer to the zero address"):
        token.transferFrom(alice, ZERO, 1, sender=bob)
