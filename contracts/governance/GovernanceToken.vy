# pragma version ~=0.4.3
"""
@title Neural Commons governance token
@license MIT
@notice ERC-20 with EIP-2612 permit (snekmate), ERC-5805 votes on an
        ERC-6372 timestamp clock, and ETH revenue that accrues to holders
        pro-rata through a running per-token accumulator.

        Revenue: `deposit_revenue` adds `msg.value * PRECISION / eligible`
        to `revenue_per_token`. Every balance change first settles the
        accounts it touches, so an account's share is exact across
        transfers, mints and burns, with no epochs and no loops.
        Contracts that hold tokens for others (staking, escrow) are marked
        `is_revenue_excluded` by governance: their balances leave the
        denominator, so revenue flows to the people, not into a contract
        that cannot pass it on.
@custom:security Rounding always favours the contract: holders can never
        withdraw more than was deposited; the remainder stays as dust.
        The owner (the timelock) manages minters and the exclusion list;
        the deploy script hands both over, so the deployer keeps no power.
"""

from ethereum.ercs import IERC20
implements: IERC20

from ethereum.ercs import IERC20Detailed
implements: IERC20Detailed

from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]

from snekmate.utils import ecdsa

from ..modules import revenue_accumulator
initializes: revenue_accumulator

# Exported from snekmate's ERC-20. Deliberately not exported: its
# `transfer`, `transferFrom`, `mint`, `burn` and `burn_from` (they skip the
# vote and revenue bookkeeping below, which wraps the same internals) and
# `renounce_ownership` (it would leave minting and exclusions ungoverned).
exports: (
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.approve,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    erc20.is_minter,
    erc20.set_minter,
    erc20.owner,
    erc20.transfer_ownership,
)

# Deliberately not exported from the accumulator: its per-stream getters;
# the token has one stream (REVENUE_STREAM) and its own views below.


REVENUE_STREAM: constant(uint256) = 0  # the token's one stream in the accumulator
MAX_VOTES: constant(uint256) = 2**208 - 1  # checkpoint value width (uint208)
TIMEPOINT_SHIFT: constant(uint256) = 208  # bits below the timepoint in a packed checkpoint
SEARCH_STEPS: constant(uint256) = 64  # binary-search bound: enough for 2**64 checkpoints
SUPPLY_KEY: constant(uint256) = 2**160  # checkpoint key of the total supply; no address maps to it

_DELEGATION_TYPE_HASH: constant(bytes32) = keccak256("Delegation(address delegatee,uint256 nonce,uint256 expiry)")


# ERC-5805 votes. Checkpoint histories are keyed by the account as uint256,
# or SUPPLY_KEY for the total supply; a checkpoint is packed into one word:
# timepoint (uint48) << 208 | votes (uint208).
delegates: public(HashMap[address, address])
_checkpoint_count: HashMap[uint256, uint256]
_checkpoints: HashMap[uint256, HashMap[uint256, uint256]]

# Holder revenue (accumulator state lives in revenue_accumulator).
is_revenue_excluded: public(HashMap[address, bool])
excluded_supply: public(uint256)  # sum of excluded balances
undistributed_revenue: public(uint256)  # deposits made while no eligible holder existed
total_revenue_deposited: public(uint256)
total_revenue_withdrawn: public(uint256)


event DelegateChanged:
    delegator: indexed(address)
    fromDelegate: indexed(address)
    toDelegate: indexed(address)


event DelegateVotesChanged:
    delegate: indexed(address)
    previousVotes: uint256
    newVotes: uint256


event RevenueDeposited:
    sender: indexed(address)
    amount: uint256
    revenue_per_token: uint256


event RevenueWithdrawn:
    account: indexed(address)
    amount: uint256


event RevenueExclusionChanged:
    account: indexed(address)
    excluded: bool


@deploy
def __init__(
    name_: String[25],
    symbol_: String[5],
    initial_holder: address,
    initial_supply: uint256,
):
    """
    @notice Mints `initial_supply` to `initial_holder`. The deployer is owner
            and minter until it calls `transfer_ownership(timelock)`, which
            moves both roles: the deploy script does so once the revenue
            exclusions of the system's own contracts are set.
    @param name_ Token name (also the EIP-712 domain name).
    @param symbol_ Token symbol.
    @param initial_holder Receives the initial supply.
    @param initial_supply Initial supply in wei of token.
    """
    ownable.__init__()
    erc20.__init__(name_, symbol_, 18, name_, "1")
    revenue_accumulator.__init__()
    if initial_supply > 0:
        self._update(empty(address), initial_holder, initial_supply)


# ---------------------------------------------------------------- ERC-20


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` tokens from the caller to `to`.
    @param to Receiver.
    @param amount Token wei.
    @return True.
    """
    assert to != empty(address), "GovernanceToken: transfer to the zero address"
    self._update(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` tokens from `owner` to `to` using the caller's allowance.
    @param owner Whose tokens move (the caller has its allowance).
    @param to Receiver.
    @param amount Token wei.
    @return True.
    """
    assert to != empty(address), "GovernanceToken: transfer to the zero address"
    erc20._spend_allowance(owner, msg.sender, amount)
    self._update(owner, to, amount)
    return True


@external
def mint(owner: address, amount: uint256):
    """
    @notice Creates `amount` tokens for `owner`. Only minters set by governance.
    @param owner Receiver of the new tokens.
    @param amount Token wei.
    """
    assert erc20.is_minter[msg.sender], "GovernanceToken: caller is not a minter"
    self._update(empty(address), owner, amount)


@external
def burn(amount: uint256):
    """
    @notice Destroys `amount` of the caller's tokens.
    @param amount Token wei.
    """
    self._update(msg.sender, empty(address), amount)


@external
def burn_from(owner: address, amount: uint256):
    """
    @notice Destroys `amount` of `owner`'s tokens using the caller's allowance.
    @param owner Whose tokens burn (the caller has its allowance).
    @param amount Token wei.
    """
    erc20._spend_allowance(owner, msg.sender, amount)
    self._update(owner, empty(address), amount)


# ---------------------------------------------------------------- ERC-5805 / ERC-6372


@external
@view
def clock() -> uint48:
    """
    @notice The ERC-6372 clock: block timestamps.
    @return The current timepoint (a timestamp).
    """
    return convert(block.timestamp, uint48)


@external
@pure
def CLOCK_MODE() -> String[32]:
    """
    @notice The ERC-6372 clock mode.
    @return The ERC-6372 clock description.
    """
    return "mode=timestamp"


@external
@view
def getVotes(account: address) -> uint256:
    """
    @notice Current votes delegated to `account`.
    @param account The delegate.
    @return Its votes now.
    """
    return self._latest_votes(convert(account, uint256))


@external
@view
def getPastVotes(account: address, timepoint: uint256) -> uint256:
    """
    @notice Votes delegated to `account` at the end of `timepoint` (a past timestamp).
    @param account The delegate.
    @param timepoint A past timestamp.
    @return Its votes then.
    """
    assert timepoint < block.timestamp, "GovernanceToken: future lookup"
    return self._lookup(convert(account, uint256), timepoint)


@external
@view
def getPastTotalSupply(timepoint: uint256) -> uint256:
    """
    @notice Total supply at the end of `timepoint` (a past timestamp).
    @param timepoint A past timestamp.
    @return The total supply then.
    """
    assert timepoint < block.timestamp, "GovernanceToken: future lookup"
    return self._lookup(SUPPLY_KEY, timepoint)


@external
@view
def num_checkpoints(account: address) -> uint256:
    """
    @notice How many vote checkpoints `account` has.
    @param account The delegate.
    @return How many vote checkpoints it has.
    """
    return self._checkpoint_count[convert(account, uint256)]


@external
@view
def checkpoints(account: address, index: uint256) -> (uint48, uint208):
    """
    @notice The `index`-th checkpoint of `account`: (timepoint, votes).
    @param account The delegate.
    @param index Which checkpoint.
    @return The checkpoint.
    """
    key: uint256 = convert(account, uint256)
    assert index < self._checkpoint_count[key], "GovernanceToken: checkpoint out of range"
    packed: uint256 = self._checkpoints[key][index]
    return convert(packed >> TIMEPOINT_SHIFT, uint48), convert(self._votes_of(packed), uint208)


@external
def delegate(delegatee: address):
    """
    @notice Delegates the caller's votes to `delegatee` (the caller itself to vote directly).
    @param delegatee Who votes with the caller's tokens.
    """
    self._delegate(msg.sender, delegatee)


@external
def delegateBySig(delegatee: address, nonce: uint256, expiry: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @notice Delegates by an EIP-712 `Delegation` signature; shares nonces with `permit`.
    @param delegatee Who votes with the signer's tokens.
    @param nonce The signer's nonce.
    @param expiry Last timestamp the signature is valid.
    @param v Signature v.
    @param r Signature r.
    @param s Signature s.
    """
    assert block.timestamp <= expiry, "GovernanceToken: signature expired"
    struct_hash: bytes32 = keccak256(abi_encode(_DELEGATION_TYPE_HASH, delegatee, nonce, expiry))
    digest: bytes32 = erc20.eip712_domain_separator._hash_typed_data_v4(struct_hash)
    signer: address = ecdsa._recover_vrs(digest, convert(v, uint256), convert(r, uint256), convert(s, uint256))
    assert nonce == erc20.nonces[signer], "GovernanceToken: invalid nonce"
    erc20.nonces[signer] = nonce + 1
    self._delegate(signer, delegatee)


# ---------------------------------------------------------------- revenue


@external
@payable
def deposit_revenue():
    """
    @notice Distributes `msg.value` to holders pro-rata to their balances now.
            While no eligible holder exists the ETH waits for the next deposit.
    """
    assert msg.value > 0, "GovernanceToken: nothing to deposit"
    self.total_revenue_deposited += msg.value
    eligible: uint256 = erc20.totalSupply - self.excluded_supply
    if eligible == 0:
        self.undistributed_revenue += msg.value
        log RevenueDeposited(
            sender=msg.sender, amount=msg.value, revenue_per_token=revenue_accumulator.revenue_per_unit[REVENUE_STREAM]
        )
        return
    amount: uint256 = msg.value + self.undistributed_revenue
    self.undistributed_revenue = 0
    per_token: uint256 = revenue_accumulator._distribute(REVENUE_STREAM, amount, eligible)
    log RevenueDeposited(sender=msg.sender, amount=msg.value, revenue_per_token=per_token)


@external
@view
def revenue_per_token() -> uint256:
    """
    @notice Accumulated revenue per token since deployment, in wei scaled by 1e36.
    @return Wei per token, scaled by the accumulator's precision.
    """
    return revenue_accumulator.revenue_per_unit[REVENUE_STREAM]


@external
@view
def withdrawable_revenue(account: address) -> uint256:
    """
    @notice ETH `account` can withdraw now.
    @param account The holder.
    @return Wei it may withdraw.
    """
    return revenue_accumulator.owed[account] + revenue_accumulator._pending(
        REVENUE_STREAM, account, self._eligible_balance(account)
    )


@external
@nonreentrant
def withdraw_revenue() -> uint256:
    """
    @notice Sends the caller all its accrued revenue.
    @return The amount sent, in wei.
    """
    self._settle_revenue(msg.sender)
    amount: uint256 = revenue_accumulator._take_owed(msg.sender)
    assert amount > 0, "GovernanceToken: no revenue to withdraw"
    self.total_revenue_withdrawn += amount
    log RevenueWithdrawn(account=msg.sender, amount=amount)
    raw_call(msg.sender, b"", value=amount)
    return amount


@external
def set_revenue_excluded(account: address, excluded: bool):
    """
    @notice Governance marks contracts that hold tokens for others; their
            balances stop earning revenue and leave the denominator.
    @param account The holder (a contract such as the worker registry).
    @param excluded Whether its balance earns no revenue.
    """
    ownable._check_owner()
    assert account != empty(address), "GovernanceToken: account is the zero address"
    assert self.is_revenue_excluded[account] != excluded, "GovernanceToken: exclusion unchanged"
    self._settle_revenue(account)
    balance: uint256 = erc20.balanceOf[account]
    if excluded:
        self.excluded_supply += balance
    else:
        self.excluded_supply -= balance
    self.is_revenue_excluded[account] = excluded
    log RevenueExclusionChanged(account=account, excluded=excluded)


# ---------------------------------------------------------------- internal


@internal
def _update(sender: address, receiver: address, amount: uint256):
    """
    @dev The one path for every balance change (transfer, mint, burn):
         settle revenue on the old balances, move the balances with
         snekmate's checks, then move votes and excluded supply.
    """
    if sender != empty(address):
        self._settle_revenue(sender)
    if receiver != empty(address):
        self._settle_revenue(receiver)

    if sender == empty(address):
        erc20._mint(receiver, amount)
        assert erc20.totalSupply <= MAX_VOTES, "GovernanceToken: supply exceeds vote capacity"
        self._push_checkpoint(SUPPLY_KEY, erc20.totalSupply)
    elif receiver == empty(address):
        erc20._burn(sender, amount)
        self._push_checkpoint(SUPPLY_KEY, erc20.totalSupply)
    else:
        erc20._transfer(sender, receiver, amount)

    if self.is_revenue_excluded[sender]:
        self.excluded_supply -= amount
    if self.is_revenue_excluded[receiver]:
        self.excluded_supply += amount
    self._move_votes(self.delegates[sender], self.delegates[receiver], amount)


@internal
@view
def _eligible_balance(account: address) -> uint256:
    if self.is_revenue_excluded[account]:
        return 0
    return erc20.balanceOf[account]


@internal
def _settle_revenue(account: address):
    revenue_accumulator._settle(REVENUE_STREAM, account, self._eligible_balance(account))


@internal
def _delegate(account: address, delegatee: address):
    previous: address = self.delegates[account]
    self.delegates[account] = delegatee
    log DelegateChanged(delegator=account, fromDelegate=previous, toDelegate=delegatee)
    self._move_votes(previous, delegatee, erc20.balanceOf[account])


@internal
def _move_votes(source: address, destination: address, amount: uint256):
    # Undelegated balances (delegate = zero address) carry no votes.
    if source == destination or amount == 0:
        return
    if source != empty(address):
        old: uint256 = self._latest_votes(convert(source, uint256))
        self._push_checkpoint(convert(source, uint256), old - amount)
        log DelegateVotesChanged(delegate=source, previousVotes=old, newVotes=old - amount)
    if destination != empty(address):
        old: uint256 = self._latest_votes(convert(destination, uint256))
        self._push_checkpoint(convert(destination, uint256), old + amount)
        log DelegateVotesChanged(delegate=destination, previousVotes=old, newVotes=old + amount)


@internal
@view
def _latest_votes(key: uint256) -> uint256:
    count: uint256 = self._checkpoint_count[key]
    if count == 0:
        return 0
    return self._votes_of(self._checkpoints[key][count - 1])


@internal
def _push_checkpoint(key: uint256, votes: uint256):
    """
    @dev One checkpoint per key per timestamp: a later change in the same
         block overwrites it. `votes` fits 208 bits: it is at most the total
         supply, which `_update` caps at MAX_VOTES.
    """
    now: uint256 = block.timestamp
    packed: uint256 = (now << TIMEPOINT_SHIFT) | votes
    count: uint256 = self._checkpoint_count[key]
    if count > 0 and (self._checkpoints[key][count - 1] >> TIMEPOINT_SHIFT) == now:
        self._checkpoints[key][count - 1] = packed
    else:
        self._checkpoints[key][count] = packed
        self._checkpoint_count[key] = count + 1


@internal
@view
def _lookup(key: uint256, timepoint: uint256) -> uint256:
    """
    @dev Votes in the last checkpoint at or before `timepoint`. Checks the
         latest checkpoint first (proposal snapshots are usually recent),
         then binary-searches.
    """
    count: uint256 = self._checkpoint_count[key]
    if count == 0:
        return 0
    latest: uint256 = self._checkpoints[key][count - 1]
    if (latest >> TIMEPOINT_SHIFT) <= timepoint:
        return self._votes_of(latest)
    low: uint256 = 0
    high: uint256 = count - 1  # the answer lies below index `high`
    for _: uint256 in range(SEARCH_STEPS):
        if low >= high:
            break
        mid: uint256 = (low + high) // 2
        if (self._checkpoints[key][mid] >> TIMEPOINT_SHIFT) > timepoint:
            high = mid
        else:
            low = mid + 1
    if low == 0:
        return 0
    return self._votes_of(self._checkpoints[key][low - 1])


@internal
@pure
def _votes_of(packed: uint256) -> uint256:
    return packed & MAX_VOTES
