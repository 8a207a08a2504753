# pragma version ~=0.4.3
"""
@title Neural Commons model shares
@license MIT
@notice ERC-1155 (snekmate), one id per model. Shares are minted at
        registration by the ModelRegistry, and later by other contracts
        that governance makes minters (training, data). ETH credited to
        model id X (`credit_revenue`) is withdrawable by the holders of id X
        pro-rata, exact across transfers, with no loops over holders.
@custom:security Transfers settle revenue of both parties before balances
        change (the accumulator's one rule); the ERC-1155 receiver hook runs
        after that, so a re-entering receiver sees consistent state.
"""

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc1155
initializes: erc1155[ownable := ownable]

from ..modules import revenue_accumulator
initializes: revenue_accumulator

# Exported from snekmate's ERC-1155. Deliberately not exported: its
# `safeTransferFrom`/`safeBatchTransferFrom` (wrapped below to settle
# revenue), its mint and burn functions (minting is `mint_batch` below;
# shares are never burned, so revenue always has holders), `set_uri` and
# `renounce_ownership`.
exports: (
    erc1155.balanceOf,
    erc1155.balanceOfBatch,
    erc1155.isApprovedForAll,
    erc1155.setApprovalForAll,
    erc1155.supportsInterface,
    erc1155.uri,
    erc1155.total_supply,
    erc1155.exists,
    erc1155.is_minter,
    erc1155.set_minter,
    erc1155.owner,
    erc1155.transfer_ownership,
    revenue_accumulator.revenue_per_unit,
)


MAX_HOLDERS: constant(uint256) = 16  # shareholders per mint call
MAX_IDS: constant(uint256) = 32  # models per withdrawal
MAX_BATCH: constant(uint8) = 128  # snekmate's batch bound


event RevenueCredited:
    id: indexed(uint256)
    sender: indexed(address)
    amount: uint256


event RevenueWithdrawn:
    account: indexed(address)
    amount: uint256


@deploy
def __init__(base_uri: String[80]):
    """
    @notice The deployer is owner and minter until the deploy script makes the
            ModelRegistry a minter and hands ownership to the timelock.
    @param base_uri Base of every id's metadata URI.
    """
    ownable.__init__()
    erc1155.__init__(base_uri)
    revenue_accumulator.__init__()


@external
def safeTransferFrom(owner: address, to: address, id: uint256, amount: uint256, data: Bytes[1_024]):
    """
    @notice ERC-1155 transfer; revenue earned so far stays with `owner`.
    @param owner Sender of the shares.
    @param to Receiver.
    @param id Model id.
    @param amount Shares.
    @param data Passed to a receiving contract.
    """
    assert owner == msg.sender or erc1155.isApprovedForAll[owner][msg.sender], "erc1155: caller is not token owner or approved"
    self._settle(id, owner)
    self._settle(id, to)
    erc1155._safe_transfer_from(owner, to, id, amount, data)


@external
def safeBatchTransferFrom(
    owner: address,
    to: address,
    ids: DynArray[uint256, MAX_BATCH],
    amounts: DynArray[uint256, MAX_BATCH],
    data: Bytes[1_024],
):
    """
    @notice ERC-1155 batch transfer; revenue earned so far stays with `owner`.
    @param owner Sender of the shares.
    @param to Receiver.
    @param ids Model ids.
    @param amounts Shares of each.
    @param data Passed to a receiving contract.
    """
    assert owner == msg.sender or erc1155.isApprovedForAll[owner][msg.sender], "erc1155: caller is not token owner or approved"
    for id: uint256 in ids:
        self._settle(id, owner)
        self._settle(id, to)
    erc1155._safe_batch_transfer_from(owner, to, ids, amounts, data)


@external
def mint_batch(holders: DynArray[address, MAX_HOLDERS], id: uint256, amounts: DynArray[uint256, MAX_HOLDERS]):
    """
    @notice Mints shares of model `id` to several holders. Minters only.
    @param holders Receivers.
    @param id Model id.
    @param amounts Shares of each.
    """
    assert erc1155.is_minter[msg.sender], "ModelShares: caller is not a minter"
    assert len(holders) == len(amounts), "ModelShares: length mismatch"
    for i: uint256 in range(len(holders), bound=MAX_HOLDERS):
        self._settle(id, holders[i])
        erc1155._safe_mint(holders[i], id, amounts[i], b"")


@external
@payable
def credit_revenue(id: uint256):
    """
    @notice Credits `msg.value` to the holders of model `id`, pro-rata.
    @param id Model id whose holders earn `msg.value`.
    """
    assert msg.value > 0, "ModelShares: nothing to credit"
    supply: uint256 = erc1155.total_supply[id]
    assert supply > 0, "ModelShares: model has no shares"
    revenue_accumulator._distribute(id, msg.value, supply)
    log RevenueCredited(id=id, sender=msg.sender, amount=msg.value)


@external
@view
def withdrawable_revenue(account: address, ids: DynArray[uint256, MAX_IDS]) -> uint256:
    """
    @notice ETH `account` can withdraw now from the models `ids` (plus revenue already settled).
    @param account The holder.
    @param ids Models to count.
    @return Wei it may withdraw.
    """
    total: uint256 = revenue_accumulator.owed[account]
    seen: DynArray[uint256, MAX_IDS] = []
    for id: uint256 in ids:
        # A repeated id is settled once by withdraw_revenue; count it once here too.
        if id in seen:
            continue
        seen.append(id)
        total += revenue_accumulator._pending(id, account, erc1155.balanceOf[account][id])
    return total


@external
@nonreentrant
def withdraw_revenue(ids: DynArray[uint256, MAX_IDS]) -> uint256:
    """
    @notice Sends the caller its revenue from the models `ids` (plus revenue already settled).
    @return The amount sent, in wei.
    @param ids Models to settle first.
    """
    for id: uint256 in ids:
        self._settle(id, msg.sender)
    amount: uint256 = revenue_accumulator._take_owed(msg.sender)
    assert amount > 0, "ModelShares: no revenue to withdraw"
    log RevenueWithdrawn(account=msg.sender, amount=amount)
    raw_call(msg.sender, b"", value=amount)
    return amount


@internal
def _settle(id: uint256, account: address):
    revenue_accumulator._settle(id, account, erc1155.balanceOf[account][id])
