"""GovernanceToken as ERC-5805 votes on an ERC-6372 timestamp clock."""

import ape
from ape import chain

from tests.utils.governance import advance
from tests.utils.signing import delegation_signature
from tests.utils.constants import ETH


def delegate(token, delegatee, sender):
    # `delegate` is shadowed by ape's EIP-7702 property on every address.
    return token.invoke_transaction("delegate", delegatee, sender=sender)


def test_clock__is_block_timestamp(token):
    assert token.CLOCK_MODE() == "mode=timestamp"
    assert token.clock() == chain.blocks.head.timestamp


def test_delegate__moves_votes_and_logs(token, alice, bob):
    tx = delegate(token, bob, alice)
    assert token.delegates(alice) == bob.address
    assert token.getVotes(alice) == 0
    assert token.getVotes(bob) == 50_000_000 * ETH
    changed = tx.decode_logs(token.DelegateChanged)[0]
    assert (changed.delegator, changed.fromDelegate, changed.toDelegate) == (alice.address, alice.address, bob.address)
    moves = tx.decode_logs(token.DelegateVotesChanged)
    assert [(m.delegate, m.previousVotes, m.newVotes) for m in moves] == [
        (alice.address, 30_000_000 * ETH, 0),
        (bob.address, 20_000_000 * ETH, 50_000_000 * ETH),
    ]


def test_delegate__undelegated_balance__has_no_votes(token, deployer):
    assert token.balanceOf(deployer) == 45_000_000 * ETH
    assert token.getVotes(deployer) == 0


def test_transfer__moves_votes_between_delegates(token, alice, bob):
    token.transfer(bob, 1_000 * ETH, sender=alice)
    assert token.getVotes(alice) == 30_000_000 * ETH - 1_000 * ETH
    assert token.getVotes(bob) == 20_000_000 * ETH + 1_000 * ETH


def test_get_past_votes__reads_history(token, alice, bob):
    t0 = chain.blocks.head.timestamp
    advance(10)
    token.transfer(bob, 1_000 * ETH, sender=alice)
    t1 = chain.blocks.head.timestamp
    advance(10)
    assert token.getPastVotes(alice, t0) == 30_000_000 * ETH
    assert token.getPastVotes(alice, t1) == 30_000_000 * ETH - 1_000 * ETH
    assert token.getPastVotes(alice, 0) == 0


def test_get_past_votes__future_timepoint__reverts(token, alice):
    with ape.reverts("GovernanceToken: future lookup"):
        token.getPastVotes(alice, chain.pending_timestamp + 100)


def test_get_past_total_supply__future_timepoint__reverts(token):
    with ape.reverts("GovernanceToken: future lookup"):
        token.getPastTotalSupply(chain.pending_timestamp + 100)


def test_get_past_total_supply__tracks_burns(token, alice):
    t0 = chain.blocks.head.timestamp
    advance(5)
    token.burn(10 * ETH, sender=alice)
    advance(5)
    assert token.getPastTotalSupply(t0) == 100_000_000 * ETH
    assert token.getPastTotalSupply(chain.blocks.head.timestamp - 1) == 100_000_000 * ETH - 10 * ETH


def test_binary_search__many_checkpoints__every_past_value_exact(token, alice, mallory):
    history = []
    for i in range(1, 20):
        token.transfer(mallory, i * ETH, sender=alice)
        history.append((chain.blocks.head.timestamp, token.getVotes(alice)))
        advance(7)
    assert token.num_checkpoints(alice) >= 20
    for timepoint, votes in history:
        assert token.getPastVotes(alice, timepoint) == votes
        assert token.getPastVotes(alice, timepoint + 1) == votes


def test_checkpoints__two_changes_in_one_timestamp__one_checkpoint(project, token, deployer, alice):
    sender = deployer.deploy(project.MockTokenUser, token)
    token.transfer(sender, 10 * ETH, sender=alice)
    count = token.num_checkpoints(alice)
    sender.transfer_twice(alice, 1 * ETH, sender=deployer)
    assert token.num_checkpoints(alice) == count + 1
    timepoint, votes = token.checkpoints(alice, count)
    assert timepoint == chain.blocks.head.timestamp
    assert votes == token.getVotes(alice) == 30_000_000 * ETH - 8 * ETH


def test_checkpoints__index_out_of_range__reverts(token, alice):
    with ape.reverts("GovernanceToken: checkpoint out of range"):
        token.checkpoints(alice, token.num_checkpoints(alice))


def test_total_votes__equal_delegated_supply(token, deployer, alice, bob, carol, mallory):
    token.transfer(mallory, 100 * ETH, sender=deployer)  # undelegated
    delegate(token, alice, carol)
    delegated = sum(token.balanceOf(a) for a in (alice, bob, carol))
    assert sum(token.getVotes(a) for a in (alice, bob, carol, mallory, deployer)) == delegated


# ---------------------------------------------------------------- delegateBySig


def _by_sig(token, signer, delegatee, *, nonce=None, expiry=None, chain_id=None, verifying_contract=None):
    nonce = token.nonces(signer) if nonce is None else nonce
    expiry = chain.pending_timestamp + 3600 if expiry is None else expiry
    v, r, s = delegation_signature(
        signer,
        token,
        delegatee,
        nonce,
        expiry,
        chain_id=chain.chain_id if chain_id is None else chain_id,
        verifying_contract=verifying_contract,
    )
    return (delegatee, nonce, expiry, v, r, s)


def test_delegate_by_sig__valid__delegates_for_signer(token, alice, carol, mallory):
    tx = token.delegateBySig(*_by_sig(token, alice, carol), sender=mallory)
    assert token.delegates(alice) == carol.address
    assert token.nonces(alice) == 1
    assert token.getVotes(carol) == 35_000_000 * ETH
    assert tx.decode_logs(token.DelegateChanged)[0].delegator == alice.address


def test_delegate_by_sig__reused_nonce__reverts(token, alice, carol, mallory):
    args = _by_sig(token, alice, carol)
    token.delegateBySig(*args, sender=mallory)
    with ape.reverts("GovernanceToken: invalid nonce"):
        token.delegateBySig(*args, sender=mallory)


def test_delegate_by_sig__expired__reverts(token, alice, carol, mallory):
    with ape.reverts("GovernanceToken: signature expired"):
        token.delegateBySig(*_by_sig(token, alice, carol, expiry=chain.pending_timestamp - 1), sender=mallory)


def test_delegate_by_sig__other_chain__does_not_move_signers_votes(token, alice, mallory):
    # A signature for another domain recovers to an unrelated address: the
    # signer's delegation and votes are untouched (OpenZeppelin semantics).
    token.delegateBySig(*_by_sig(token, alice, mallory, chain_id=chain.chain_id + 1), sender=mallory)
    assert token.delegates(alice) == alice.address
    assert token.getVotes(mallory) == 0
    assert token.getVotes(alice) == 30_000_000 * ETH


def test_delegate_by_sig__other_contract__does_not_move_signers_votes(token, timelock, alice, mallory):
    token.delegateBySig(*_by_sig(token, alice, mallory, verifying_contract=timelock.address), sender=mallory)
    assert token.delegates(alice) == alice.address
    assert token.getVotes(mallory) == 0


def test_delegate_by_sig__permit_nonce_shared__old_signature_reverts(token, alice, bob, carol, mallory):
    args = _by_sig(token, alice, carol)  # signed for nonce 0
    token.delegateBySig(*_by_sig(token, alice, bob), sender=mallory)  # uses nonce 0
    with ape.reverts("GovernanceToken: invalid nonce"):
        token.delegateBySig(*args, sender=mallory)
