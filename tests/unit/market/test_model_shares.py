"""ModelShares: ERC-1155 shares per model and pro-rata ETH revenue per model id."""

import ape
import pytest

from tests.utils.constants import ETH, ZERO_ADDRESS as ZERO

PRECISION = 10**36  # revenue_accumulator's scale of revenue_per_unit
NOT_APPROVED = "erc1155: caller is not token owner or approved"


@pytest.fixture(scope="module", autouse=True)
def _module_fixtures_first(model_id, second_model, own, actor, shares, models, token, timelock, deployer, author,
                           dave, carol, mallory, bob, alice, app_builder):
    """Module-scoped fixtures exist before the first test, so isolation never rebases them."""


@pytest.fixture(scope="module")
def second_model(models, author, carol):
    """A second (pending) model: 1 share to author, 3 to carol."""
    models.register_model(b"\x33" * 32, b"\x44" * 32, "ipfs://b", 1, [author, carol], [1, 3], sender=author)
    return models.model_count()


@pytest.fixture(scope="module")
def own(project, deployer):
    """A standalone ModelShares: the deployer is its owner and only minter."""
    return deployer.deploy(project.ModelShares, "uri/")


@pytest.fixture(scope="module")
def actor(project, deployer):
    return deployer.deploy(project.MockActor)


def credit(shares, model, amount, sender):
    return shares.credit_revenue(model, sender=sender, value=amount)


# ---------------------------------------------------------------- deployment and roles


def test_deploy__standalone__deployer_owner_and_minter(own, deployer):
    assert own.owner() == deployer.address
    assert own.is_minter(deployer)
    assert own.uri(5) == "uri/5"


def test_deploy__system__timelock_owns_and_registry_mints(shares, models, timelock, deployer):
    assert shares.owner() == timelock.address
    assert shares.is_minter(timelock)
    assert shares.is_minter(models)
    assert not shares.is_minter(deployer)
    assert shares.uri(1) == "nc://models/1"


def test_interface__burn_mint_and_uri_setters__not_exported(shares):
    functions = {abi.name for abi in shares.contract_type.abi if abi.type == "function"}
    assert {"safeTransferFrom", "safeBatchTransferFrom", "mint_batch", "credit_revenue", "withdraw_revenue",
            "withdrawable_revenue", "revenue_per_unit"} <= functions
    assert not functions & {"burn", "burn_batch", "safe_mint", "safe_mint_batch", "set_uri", "renounce_ownership"}


def test_supports_interface__erc165_erc1155_and_metadata(shares):
    assert shares.supportsInterface("0x01ffc9a7")  # ERC-165
    assert shares.supportsInterface("0xd9b67a26")  # ERC-1155
    assert shares.supportsInterface("0x0e89341c")  # ERC-1155 metadata URI
    assert not shares.supportsInterface("0xffffffff")


def test_set_minter__by_owner__can_mint_then_revoked_cannot(own, deployer, mallory, alice):
    tx = own.set_minter(mallory, True, sender=deployer)
    log = tx.decode_logs(own.RoleMinterChanged)[0]
    assert (log.minter, log.status) == (mallory.address, True)
    own.mint_batch([alice], 9, [1], sender=mallory)
    own.set_minter(mallory, False, sender=deployer)
    with ape.reverts("ModelShares: caller is not a minter"):
        own.mint_batch([alice], 9, [1], sender=mallory)
    assert own.balanceOf(alice, 9) == 1


def test_set_minter__not_owner__reverts(own, shares, mallory, deployer):
    with ape.reverts("ownable: caller is not the owner"):
        own.set_minter(mallory, True, sender=mallory)
    with ape.reverts("ownable: caller is not the owner"):
        shares.set_minter(deployer, True, sender=deployer)  # handed over to the timelock


# ---------------------------------------------------------------- mint_batch


def test_mint_batch__by_minter__mints_each_holder_and_logs(own, deployer, alice, bob):
    tx = own.mint_batch([alice, bob, alice], 7, [10, 20, 5], sender=deployer)
    assert (own.balanceOf(alice, 7), own.balanceOf(bob, 7)) == (15, 20)
    assert own.total_supply(7) == 35
    assert own.exists(7) and not own.exists(8)
    logs = tx.decode_logs(own.TransferSingle)
    assert [(log._operator, log._from, log._to, log._id, log._value) for log in logs] == [
        (deployer.address, ZERO, alice.address, 7, 10),
        (deployer.address, ZERO, bob.address, 7, 20),
        (deployer.address, ZERO, alice.address, 7, 5),
    ]


def test_mint_batch__not_a_minter__reverts(own, shares, model_id, mallory, deployer):
    with ape.reverts("ModelShares: caller is not a minter"):
        own.mint_batch([mallory], 7, [1], sender=mallory)
    with ape.reverts("ModelShares: caller is not a minter"):
        shares.mint_batch([deployer], model_id, [1_000_000], sender=deployer)  # no longer a minter
    assert shares.total_supply(model_id) == 1_000


@pytest.mark.parametrize("holders,amounts", [(2, [1]), (1, [1, 2])])
def test_mint_batch__length_mismatch__reverts(own, deployer, alice, bob, holders, amounts):
    with ape.reverts("ModelShares: length mismatch"):
        own.mint_batch([alice, bob][:holders], 7, amounts, sender=deployer)


def test_mint_batch__zero_address__reverts(own, deployer):
    with ape.reverts("erc1155: mint to the zero address"):
        own.mint_batch([ZERO], 7, [1], sender=deployer)


def test_mint_batch__after_revenue__old_revenue_stays_with_old_holders(own, deployer, alice, bob, carol):
    own.mint_batch([alice, bob], 7, [100, 100], sender=deployer)
    credit(own, 7, 2 * ETH, carol)
    own.mint_batch([alice, carol], 7, [200, 100], sender=deployer)  # alice 300, bob 100, carol 100
    assert own.withdrawable_revenue(alice, [7]) == ETH
    assert own.withdrawable_revenue(bob, [7]) == ETH
    assert own.withdrawable_revenue(carol, [7]) == 0
    credit(own, 7, 5 * ETH, carol)
    assert own.withdrawable_revenue(alice, [7]) == ETH + 3 * ETH
    assert own.withdrawable_revenue(bob, [7]) == ETH + ETH
    assert own.withdrawable_revenue(carol, [7]) == ETH


# ---------------------------------------------------------------- credit_revenue


def test_credit_revenue__splits_pro_rata_and_logs(shares, model_id, author, dave, app_builder):
    tx = credit(shares, model_id, ETH, app_builder)
    assert shares.withdrawable_revenue(author, [model_id]) == 6 * ETH // 10
    assert shares.withdrawable_revenue(dave, [model_id]) == 4 * ETH // 10
    assert shares.revenue_per_unit(model_id) == ETH * PRECISION // 1_000
    assert shares.balance == ETH
    log = tx.decode_logs(shares.RevenueCredited)[0]
    assert (log.id, log.sender, log.amount) == (model_id, app_builder.address, ETH)


def test_credit_revenue__repeated__accumulates(shares, model_id, author, dave, app_builder, mallory):
    credit(shares, model_id, ETH, app_builder)
    credit(shares, model_id, 3 * ETH, mallory)
    assert shares.withdrawable_revenue(author, [model_id]) == 24 * ETH // 10
    assert shares.withdrawable_revenue(dave, [model_id]) == 16 * ETH // 10


def test_credit_revenue__indivisible__rounds_down_dust_stays(shares, model_id, author, dave, app_builder):
    credit(shares, model_id, 1_001, app_builder)  # 600.6 and 400.4 wei
    assert shares.withdrawable_revenue(author, [model_id]) == 600
    assert shares.withdrawable_revenue(dave, [model_id]) == 400
    credit(shares, model_id, 999, app_builder)  # dust carried in the per-unit value: 2000 wei in all
    assert shares.withdrawable_revenue(author, [model_id]) == 1_200
    assert shares.withdrawable_revenue(dave, [model_id]) == 800


def test_credit_revenue__two_models__kept_apart(shares, model_id, second_model, author, dave, carol, app_builder):
    credit(shares, model_id, ETH, app_builder)
    credit(shares, second_model, 4 * ETH, app_builder)
    assert shares.withdrawable_revenue(author, [model_id]) == 6 * ETH // 10
    assert shares.withdrawable_revenue(author, [second_model]) == ETH
    assert shares.withdrawable_revenue(author, [model_id, second_model]) == 16 * ETH // 10
    assert shares.withdrawable_revenue(dave, [second_model]) == 0
    assert shares.withdrawable_revenue(carol, [model_id]) == 0
    assert shares.withdrawable_revenue(carol, [second_model]) == 3 * ETH
    # Withdrawing one model's revenue leaves the other's.
    shares.withdraw_revenue([second_model], sender=author)
    assert shares.withdrawable_revenue(author, [model_id]) == 6 * ETH // 10
    assert shares.withdrawable_revenue(author, [second_model]) == 0


def test_credit_revenue__zero_value__reverts(shares, model_id, app_builder):
    with ape.reverts("ModelShares: nothing to credit"):
        credit(shares, model_id, 0, app_builder)


@pytest.mark.parametrize("model", [0, 999])
def test_credit_revenue__model_without_shares__reverts(shares, app_builder, model):
    with ape.reverts("ModelShares: model has no shares"):
        credit(shares, model, ETH, app_builder)
    assert shares.balance == 0


# ---------------------------------------------------------------- withdraw_revenue


def test_withdraw_revenue__pays_and_logs(shares, model_id, author, app_builder):
    credit(shares, model_id, ETH, app_builder)
    assert shares.withdraw_revenue.call([model_id], sender=author) == 6 * ETH // 10
    before = author.balance
    tx = shares.withdraw_revenue([model_id], sender=author)
    assert author.balance == before + 6 * ETH // 10 - tx.total_fees_paid
    log = tx.decode_logs(shares.RevenueWithdrawn)[0]
    assert (log.account, log.amount) == (author.address, 6 * ETH // 10)
    assert shares.withdrawable_revenue(author, [model_id]) == 0
    assert shares.balance == 4 * ETH // 10


def test_withdraw_revenue__several_models__paid_together(shares, model_id, second_model, author, app_builder):
    credit(shares, model_id, ETH, app_builder)
    credit(shares, second_model, 4 * ETH, app_builder)
    tx = shares.withdraw_revenue([model_id, second_model], sender=author)
    assert tx.decode_logs(shares.RevenueWithdrawn)[0].amount == 16 * ETH // 10


def test_withdraw_revenue__duplicate_ids__paid_once(shares, model_id, author, app_builder):
    credit(shares, model_id, ETH, app_builder)
    tx = shares.withdraw_revenue([model_id, model_id], sender=author)
    assert tx.decode_logs(shares.RevenueWithdrawn)[0].amount == 6 * ETH // 10


def test_withdrawable_revenue__duplicate_ids__counted_once(shares, model_id, author, app_builder):
    credit(shares, model_id, ETH, app_builder)
    assert shares.withdrawable_revenue(author, [model_id, model_id]) == 6 * ETH // 10


def test_withdraw_revenue__nothing_owed__reverts(shares, model_id, mallory, author):
    with ape.reverts("ModelShares: no revenue to withdraw"):
        shares.withdraw_revenue([model_id], sender=mallory)  # holds no shares
    with ape.reverts("ModelShares: no revenue to withdraw"):
        shares.withdraw_revenue([model_id], sender=author)  # holds shares, nothing credited
    with ape.reverts("ModelShares: no revenue to withdraw"):
        shares.withdraw_revenue([], sender=author)


def test_withdraw_revenue__other_model_named__reverts(shares, model_id, second_model, dave, app_builder):
    credit(shares, second_model, ETH, app_builder)  # dave holds none of it
    with ape.reverts("ModelShares: no revenue to withdraw"):
        shares.withdraw_revenue([second_model], sender=dave)


def test_withdraw_revenue__twice__second_reverts(shares, model_id, dave, app_builder):
    credit(shares, model_id, ETH, app_builder)
    shares.withdraw_revenue([model_id], sender=dave)
    with ape.reverts("ModelShares: no revenue to withdraw"):
        shares.withdraw_revenue([model_id], sender=dave)


def test_withdraw_revenue__settled_by_transfer__paid_without_naming_the_model(shares, model_id, author, carol,
                                                                               app_builder):
    credit(shares, model_id, ETH, app_builder)
    shares.safeTransferFrom(author, carol, model_id, 600, b"", sender=author)
    assert shares.withdrawable_revenue(author, []) == 6 * ETH // 10
    tx = shares.withdraw_revenue([], sender=author)
    assert tx.decode_logs(shares.RevenueWithdrawn)[0].amount == 6 * ETH // 10


def test_withdraw_revenue__reentrant_receiver__reverts_and_keeps_revenue(shares, model_id, author, actor,
                                                                         app_builder, deployer):
    shares.safeTransferFrom(author, actor, model_id, 100, b"", sender=author)
    credit(shares, model_id, ETH, app_builder)
    owed = ETH // 10
    withdraw = shares.withdraw_revenue.encode_input([model_id])
    actor.arm(shares, withdraw, sender=deployer)  # its receive hook withdraws again
    with ape.reverts():
        actor.act(shares, withdraw, sender=deployer)
    assert shares.withdrawable_revenue(actor, [model_id]) == owed
    assert shares.balanceOf(actor, model_id) == 100
    assert (actor.balance, shares.balance) == (0, ETH)
    # Re-armed with a harmless call, the same withdrawal pays exactly once.
    actor.arm(shares, shares.balanceOf.encode_input(actor, model_id), sender=deployer)
    actor.act(shares, withdraw, sender=deployer)
    assert actor.balance == owed
    assert shares.balance == ETH - owed
    assert shares.withdrawable_revenue(actor, [model_id]) == 0


def test_withdraw_revenue__receiver_transfers_shares_from_hook__no_double_pay(shares, model_id, author, actor,
                                                                             app_builder, deployer, carol):
    shares.safeTransferFrom(author, actor, model_id, 100, b"", sender=author)
    credit(shares, model_id, ETH, app_builder)
    move = shares.safeTransferFrom.encode_input(actor, carol, model_id, 100, b"")
    actor.arm(shares, move, sender=deployer)  # shares move while its payment is in flight
    actor.act(shares, shares.withdraw_revenue.encode_input([model_id]), sender=deployer)
    assert actor.balance == ETH // 10
    assert (shares.balanceOf(actor, model_id), shares.balanceOf(carol, model_id)) == (0, 100)
    assert shares.withdrawable_revenue(actor, [model_id]) == 0
    assert shares.withdrawable_revenue(carol, [model_id]) == 0
    credit(shares, model_id, ETH, app_builder)
    assert shares.withdrawable_revenue(carol, [model_id]) == ETH // 10
    assert shares.withdrawable_revenue(actor, [model_id]) == 0


# ---------------------------------------------------------------- safeTransferFrom


def test_safe_transfer__revenue_before_stays_with_sender_after_follows_shares(shares, model_id, author, dave, carol,
                                                                             app_builder):
    credit(shares, model_id, ETH, app_builder)
    tx = shares.safeTransferFrom(author, carol, model_id, 300, b"", sender=author)
    log = tx.decode_logs(shares.TransferSingle)[0]
    assert (log._operator, log._from, log._to, log._id, log._value) == (
        author.address, author.address, carol.address, model_id, 300)
    assert (shares.balanceOf(author, model_id), shares.balanceOf(carol, model_id)) == (300, 300)
    assert shares.withdrawable_revenue(author, [model_id]) == 6 * ETH // 10
    assert shares.withdrawable_revenue(carol, [model_id]) == 0
    credit(shares, model_id, ETH, app_builder)
    assert shares.withdrawable_revenue(author, [model_id]) == 6 * ETH // 10 + 3 * ETH // 10
    assert shares.withdrawable_revenue(carol, [model_id]) == 3 * ETH // 10
    assert shares.withdrawable_revenue(dave, [model_id]) == 8 * ETH // 10


def test_safe_transfer__receiver_already_earning__keeps_its_revenue(shares, model_id, author, dave, app_builder):
    credit(shares, model_id, ETH, app_builder)
    shares.safeTransferFrom(author, dave, model_id, 600, b"", sender=author)  # dave 1000
    assert shares.withdrawable_revenue(dave, [model_id]) == 4 * ETH // 10
    credit(shares, model_id, ETH, app_builder)
    assert shares.withdrawable_revenue(dave, [model_id]) == 4 * ETH // 10 + ETH
    assert shares.withdrawable_revenue(author, [model_id]) == 6 * ETH // 10


def test_safe_transfer__back_and_forth__exact_to_the_wei(shares, model_id, author, dave, carol, app_builder):
    paid = 0
    for amount, (sender, to, n) in zip((7, 11, 13, 17), ((author, carol, 99), (carol, dave, 33), (dave, author, 1),
                                                        (author, carol, 250))):
        credit(shares, model_id, amount * ETH + amount, app_builder)
        paid += amount * ETH + amount
        shares.safeTransferFrom(sender, to, model_id, n, b"", sender=sender)
    total = sum(shares.withdrawable_revenue(a, [model_id]) for a in (author, dave, carol))
    assert paid - 3 <= total <= paid  # at most a wei of dust per holder


def test_safe_transfer__to_self__revenue_unchanged(shares, model_id, author, app_builder):
    credit(shares, model_id, ETH, app_builder)
    shares.safeTransferFrom(author, author, model_id, 600, b"", sender=author)
    assert shares.balanceOf(author, model_id) == 600
    assert shares.withdrawable_revenue(author, [model_id]) == 6 * ETH // 10


def test_safe_transfer__to_receiver_contract__accepted(shares, model_id, author, actor):
    shares.safeTransferFrom(author, actor, model_id, 1, b"\x01", sender=author)
    assert shares.balanceOf(actor, model_id) == 1


def test_safe_transfer__to_contract_without_hook__reverts(shares, model_id, author, token):
    with ape.reverts():
        shares.safeTransferFrom(author, token, model_id, 1, b"", sender=author)
    assert shares.balanceOf(author, model_id) == 600


def test_safe_transfer__non_approved_operator__reverts(shares, model_id, author, mallory, app_builder):
    credit(shares, model_id, ETH, app_builder)
    with ape.reverts(NOT_APPROVED):
        shares.safeTransferFrom(author, mallory, model_id, 600, b"", sender=mallory)
    assert shares.balanceOf(author, model_id) == 600
    assert shares.withdrawable_revenue(author, [model_id]) == 6 * ETH // 10


def test_safe_transfer__approved_operator__moves_shares_and_settles_owner(shares, model_id, author, bob, carol,
                                                                         app_builder):
    tx = shares.setApprovalForAll(bob, True, sender=author)
    log = tx.decode_logs(shares.ApprovalForAll)[0]
    assert (log._owner, log._operator, log._approved) == (author.address, bob.address, True)
    assert shares.isApprovedForAll(author, bob)
    credit(shares, model_id, ETH, app_builder)
    tx = shares.safeTransferFrom(author, carol, model_id, 600, b"", sender=bob)
    assert tx.decode_logs(shares.TransferSingle)[0]._operator == bob.address
    assert (shares.balanceOf(author, model_id), shares.balanceOf(carol, model_id)) == (0, 600)
    credit(shares, model_id, ETH, app_builder)
    assert shares.withdrawable_revenue(author, [model_id]) == 6 * ETH // 10
    assert shares.withdrawable_revenue(carol, [model_id]) == 6 * ETH // 10
    assert shares.withdrawable_revenue(bob, [model_id]) == 0


def test_safe_transfer__approval_revoked__reverts(shares, model_id, author, bob, carol):
    shares.setApprovalForAll(bob, True, sender=author)
    shares.setApprovalForAll(bob, False, sender=author)
    with ape.reverts(NOT_APPROVED):
        shares.safeTransferFrom(author, carol, model_id, 1, b"", sender=bob)


def test_set_approval_for_all__self__reverts(shares, author):
    with ape.reverts("erc1155: setting approval status for self"):
        shares.setApprovalForAll(author, True, sender=author)


def test_safe_transfer__more_than_balance__reverts(shares, model_id, dave, carol):
    with ape.reverts("erc1155: insufficient balance for transfer"):
        shares.safeTransferFrom(dave, carol, model_id, 401, b"", sender=dave)


def test_safe_transfer__to_zero_address__reverts(shares, model_id, dave):
    with ape.reverts("erc1155: transfer to the zero address"):
        shares.safeTransferFrom(dave, ZERO, model_id, 1, b"", sender=dave)


# ---------------------------------------------------------------- safeBatchTransferFrom


def test_safe_batch_transfer__two_models__revenue_exact_per_id(shares, model_id, second_model, author, dave, carol,
                                                                mallory, app_builder):
    credit(shares, model_id, ETH, app_builder)
    credit(shares, second_model, 4 * ETH, app_builder)
    tx = shares.safeBatchTransferFrom(author, mallory, [model_id, second_model], [150, 1], b"", sender=author)
    log = tx.decode_logs(shares.TransferBatch)[0]
    assert (log._from, log._to, list(log._ids), list(log._values)) == (
        author.address, mallory.address, [model_id, second_model], [150, 1])
    assert shares.balanceOfBatch([author, mallory, author, mallory], [model_id, model_id, second_model,
                                                                      second_model]) == [450, 150, 0, 1]
    assert shares.withdrawable_revenue(mallory, [model_id, second_model]) == 0
    credit(shares, model_id, 2 * ETH, app_builder)
    credit(shares, second_model, 8 * ETH, app_builder)
    assert shares.withdrawable_revenue(mallory, [model_id]) == 3 * ETH // 10
    assert shares.withdrawable_revenue(dave, [model_id]) == 4 * ETH // 10 + 8 * ETH // 10
    assert shares.withdrawable_revenue(mallory, [second_model]) == 2 * ETH
    # The transfer settled the author's revenue of both models (0.6 + 1 ETH) into one pooled balance,
    # which every query includes; only the later 0.9 ETH of the first model is still pending.
    assert shares.withdrawable_revenue(author, []) == 6 * ETH // 10 + ETH
    assert shares.withdrawable_revenue(author, [second_model]) == 6 * ETH // 10 + ETH
    assert shares.withdrawable_revenue(author, [model_id, second_model]) == 6 * ETH // 10 + ETH + 9 * ETH // 10
    assert shares.withdrawable_revenue(carol, [second_model]) == 3 * ETH + 6 * ETH
    assert shares.withdrawable_revenue(mallory, [model_id, second_model]) == 3 * ETH // 10 + 2 * ETH


def test_safe_batch_transfer__same_id_twice__settled_once(shares, model_id, author, carol, app_builder):
    credit(shares, model_id, ETH, app_builder)
    shares.safeBatchTransferFrom(author, carol, [model_id, model_id], [100, 200], b"", sender=author)
    assert (shares.balanceOf(author, model_id), shares.balanceOf(carol, model_id)) == (300, 300)
    assert shares.withdrawable_revenue(author, [model_id]) == 6 * ETH // 10
    assert shares.withdrawable_revenue(carol, [model_id]) == 0
    credit(shares, model_id, ETH, app_builder)
    assert shares.withdrawable_revenue(carol, [model_id]) == 3 * ETH // 10


def test_safe_batch_transfer__approved_operator__moves_shares(shares, model_id, second_model, author, bob, carol,
                                                              app_builder):
    shares.setApprovalForAll(bob, True, sender=author)
    credit(shares, second_model, 4 * ETH, app_builder)
    shares.safeBatchTransferFrom(author, carol, [model_id, second_model], [600, 1], b"", sender=bob)
    assert (shares.balanceOf(carol, model_id), shares.balanceOf(carol, second_model)) == (600, 4)
    assert shares.withdrawable_revenue(author, [second_model]) == ETH


def test_safe_batch_transfer__non_approved_operator__reverts(shares, model_id, second_model, author, mallory):
    with ape.reverts(NOT_APPROVED):
        shares.safeBatchTransferFrom(author, mallory, [model_id, second_model], [1, 1], b"", sender=mallory)


def test_safe_batch_transfer__length_mismatch__reverts(shares, model_id, second_model, author, carol):
    with ape.reverts("erc1155: ids and amounts length mismatch"):
        shares.safeBatchTransferFrom(author, carol, [model_id, second_model], [1], b"", sender=author)


def test_safe_batch_transfer__one_short__reverts_all(shares, model_id, second_model, author, carol):
    with ape.reverts("erc1155: insufficient balance for transfer"):
        shares.safeBatchTransferFrom(author, carol, [model_id, second_model], [1, 2], b"", sender=author)
    assert shares.balanceOf(carol, model_id) == 0
