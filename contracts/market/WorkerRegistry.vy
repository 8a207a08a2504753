# pragma version ~=0.4.3
"""
@title Neural Commons worker registry
@license MIT
@notice Workers stake governance tokens (a governed minimum), register the
        key that signs their results and the endpoint that serves them,
        unbond with a governed delay and withdraw. Governance (snekmate's
        `ownable`: the deployer while wiring, then the timelock) grants
        contracts two separate permissions: `can_slash` (lock stake for a
        pending dispute and slash it: the market, the channels, the
        training fund) and `can_record` (write reputation: fulfilled and
        missed counts: the market and the training fund). Reputation is
        readable by anyone.
@custom:security Unbonding stake stays slashable until withdrawn, and stake
        that a pending dispute may take stays locked until that dispute
        ends: authorised contracts `lock` what an open claim, result or
        challenge may cost the worker and `unlock` exactly that when it is
        settled, and `withdraw` only releases stake above the locked
        amount. So a worker cannot escape a pending challenge or miss by
        unbonding: the unbonding delay alone is not a lock. Nor by rotating
        its key: a key rotated away still binds the worker (`binds`) for
        the unbonding delay, so a challenge of a receipt it signed cannot
        be defeated by a `set_signer` sent ahead of it. Governance
        excludes this contract from token revenue, so staked tokens do not
        trap holder revenue.
"""

from ethereum.ercs import IERC20

from snekmate.auth import ownable
initializes: ownable

# renounce_ownership is deliberately not exported: without an owner no
# permission, minimum stake or unbonding delay could ever change again.
exports: (ownable.owner, ownable.transfer_ownership)


MAX_ENDPOINT: constant(uint256) = 256  # bytes


# What governance lets a contract do; one storage word per contract, so a
# refund that records a miss and slashes reads one slot.
flag Permission:
    SLASH  # lock stake for a pending dispute and slash it
    RECORD  # record fulfilled and missed counts


struct Worker:
    stake: uint256  # governance tokens, wei
    signer: address  # signs InferenceResult attestations
    withdrawable_at: uint256  # zero while bonded; set by unbond
    endpoint: String[MAX_ENDPOINT]


token: public(immutable(IERC20))

workers: public(HashMap[address, Worker])
fulfilled: public(HashMap[address, uint256])
missed: public(HashMap[address, uint256])
slashed: public(HashMap[address, uint256])  # times slashed
permissions: public(HashMap[address, Permission])
# What pending disputes may take from a worker (may exceed its stake, then the
# whole stake is locked): the total, and the part each authorised contract
# locked. Stored plus one once touched, so the slots never return to zero and
# the next lock after an idle spell is a cheap write (read them with
# `locked` and `locked_by`).
_locked: HashMap[address, uint256]
_locked_by: HashMap[address, HashMap[address, uint256]]  # slasher -> worker
min_stake: public(uint256)
unbonding_delay: public(uint256)  # seconds
# The block a worker last became active (registered, or topped up from below
# the minimum), and the block governance last lowered the minimum (which may
# activate workers without a write of theirs): `active_since` reads both, so
# a court can tell a worker active since before a dispute opened from one that
# came back after its seed was known.
_activated_at: HashMap[address, uint256]
_min_lowered_at: uint256
# Until when (a timestamp) a key the worker rotated away still binds it: its
# signatures stay challengeable for the unbonding delay after the rotation,
# as a stake stays slashable for that delay after unbond.
retired_until: public(HashMap[address, HashMap[address, uint256]])  # worker -> old key -> timestamp


event WorkerRegistered:
    worker: indexed(address)
    signer: indexed(address)
    stake: uint256
    endpoint: String[MAX_ENDPOINT]


event StakeAdded:
    worker: indexed(address)
    amount: uint256
    stake: uint256


event SignerChanged:
    worker: indexed(address)
    old_signer: indexed(address)
    new_signer: indexed(address)
    old_binds_until: uint256  # the old key's signatures bind the worker until then


event EndpointChanged:
    worker: indexed(address)
    endpoint: String[MAX_ENDPOINT]


event UnbondingStarted:
    worker: indexed(address)
    stake: uint256
    withdrawable_at: uint256


event StakeWithdrawn:
    worker: indexed(address)
    amount: uint256
    remaining: uint256  # stake still locked by pending disputes (zero: deregistered)


event StakeLocked:
    worker: indexed(address)
    slasher: indexed(address)
    amount: uint256
    locked: uint256  # the worker's total lock after this


event StakeUnlocked:
    worker: indexed(address)
    slasher: indexed(address)
    amount: uint256
    locked: uint256  # the worker's total lock after this


event Slashed:
    worker: indexed(address)
    amount: uint256
    recipient: indexed(address)
    slasher: indexed(address)


event ReputationRecorded:
    worker: indexed(address)
    fulfilled: uint256
    missed: uint256


event PermissionsSet:
    account: indexed(address)
    can_slash: bool
    can_record: bool


event MinStakeSet:
    old_min_stake: uint256
    new_min_stake: uint256


event UnbondingDelaySet:
    old_delay: uint256
    new_delay: uint256


@deploy
def __init__(token_: IERC20, min_stake_: uint256, unbonding_delay_: uint256):
    """
    @notice The deployer governs (owns) until it grants the contracts their
            permissions and calls `transfer_ownership(timelock)`, as the
            deploy script does.
    @param token_ The governance token workers stake.
    @param min_stake_ Minimum stake of an active worker, in token wei.
    @param unbonding_delay_ Seconds between unbond and withdraw.
    """
    ownable.__init__()
    token = token_
    self.min_stake = min_stake_
    self.unbonding_delay = unbonding_delay_


@external
def register(signer: address, endpoint: String[MAX_ENDPOINT], amount: uint256):
    """
    @notice Stakes `amount` (approve this contract first) and registers the
            attestation signer and endpoint of the caller.
    @param signer The key that signs the caller's results and receipts.
    @param endpoint The URL where the caller serves.
    @param amount Token wei to stake (at least `min_stake`).
    """
    assert self.workers[msg.sender].signer == empty(address), "WorkerRegistry: already registered"
    assert signer != empty(address), "WorkerRegistry: signer is the zero address"
    assert amount >= self.min_stake, "WorkerRegistry: stake below minimum"
    self.workers[msg.sender] = Worker(stake=amount, signer=signer, withdrawable_at=0, endpoint=endpoint)
    self._activated_at[msg.sender] = block.number
    log WorkerRegistered(worker=msg.sender, signer=signer, stake=amount, endpoint=endpoint)
    assert extcall token.transferFrom(msg.sender, self, amount, default_return_value=True)


@external
def add_stake(amount: uint256):
    """
    @notice Adds `amount` to the caller's stake.
    @param amount Token wei added.
    """
    self._check_registered(msg.sender)
    assert self.workers[msg.sender].withdrawable_at == 0, "WorkerRegistry: worker is unbonding"
    old: uint256 = self.workers[msg.sender].stake
    if old < self.min_stake:  # inactive for lack of stake until now
        self._activated_at[msg.sender] = block.number
    stake: uint256 = old + amount
    self.workers[msg.sender].stake = stake
    log StakeAdded(worker=msg.sender, amount=amount, stake=stake)
    assert extcall token.transferFrom(msg.sender, self, amount, default_return_value=True)


@external
def set_signer(signer: address):
    """
    @notice Rotates the caller's attestation key. New results must be signed
            by the new key; what the old key signed still binds the caller
            for the unbonding delay (`binds`): long enough to challenge a
            receipt it signed, so rotating ahead of a challenge escapes
            nothing. A later rotation never shortens an old key's time.
    @param signer The new attestation key.
    """
    self._check_registered(msg.sender)
    assert signer != empty(address), "WorkerRegistry: signer is the zero address"
    old: address = self.workers[msg.sender].signer
    until: uint256 = self.retired_until[msg.sender][old]
    if signer != old:
        until = max(until, block.timestamp + self.unbonding_delay)
        self.retired_until[msg.sender][old] = until
    log SignerChanged(worker=msg.sender, old_signer=old, new_signer=signer, old_binds_until=until)
    self.workers[msg.sender].signer = signer


@external
def set_endpoint(endpoint: String[MAX_ENDPOINT]):
    """
    @notice Changes the URL where the caller serves results.
    @param endpoint The new URL.
    """
    self._check_registered(msg.sender)
    self.workers[msg.sender].endpoint = endpoint
    log EndpointChanged(worker=msg.sender, endpoint=endpoint)


@external
def unbond():
    """
    @notice Stops the caller working at once; its stake is withdrawable after the delay.
    """
    self._check_registered(msg.sender)
    assert self.workers[msg.sender].withdrawable_at == 0, "WorkerRegistry: already unbonding"
    withdrawable_at: uint256 = block.timestamp + self.unbonding_delay
    self.workers[msg.sender].withdrawable_at = withdrawable_at
    log UnbondingStarted(worker=msg.sender, stake=self.workers[msg.sender].stake, withdrawable_at=withdrawable_at)


@external
def withdraw_stake():
    """
    @notice After the unbonding delay, returns the caller's stake that no
            pending dispute may take. With nothing locked the whole stake
            returns and the caller is deregistered; otherwise the locked part
            stays (still unbonding, still slashable) and a later `withdraw`
            returns it once the disputes have ended. (Named apart from the
            pull payments' `withdraw` of the contracts that pay ETH: this
            returns staked tokens.)
    """
    self._check_registered(msg.sender)
    withdrawable_at: uint256 = self.workers[msg.sender].withdrawable_at
    assert withdrawable_at != 0, "WorkerRegistry: not unbonding"
    assert block.timestamp >= withdrawable_at, "WorkerRegistry: unbonding delay not passed"
    stake: uint256 = self.workers[msg.sender].stake
    locked: uint256 = self._stored(self._locked[msg.sender])
    amount: uint256 = stake
    if locked == 0:
        self.workers[msg.sender] = empty(Worker)
    else:
        assert stake > locked, "WorkerRegistry: stake locked"
        amount = stake - locked
        self.workers[msg.sender].stake = locked
    log StakeWithdrawn(worker=msg.sender, amount=amount, remaining=stake - amount)
    assert extcall token.transfer(msg.sender, amount, default_return_value=True)


@external
def lock(worker: address, amount: uint256):
    """
    @notice A contract that may slash locks `amount` of a worker's stake for
            a dispute that may slash it; `withdraw_stake` keeps locked stake
            back. The lock may exceed the stake (then all of it is locked).
    @param worker The worker whose stake is locked.
    @param amount Token wei added to the caller's lock on the worker.
    """
    self._check_can_slash()
    self._locked_by[msg.sender][worker] = self._stored(self._locked_by[msg.sender][worker]) + amount + 1
    total: uint256 = self._stored(self._locked[worker]) + amount
    self._locked[worker] = total + 1
    log StakeLocked(worker=worker, slasher=msg.sender, amount=amount, locked=total)


@external
def unlock(worker: address, amount: uint256):
    """
    @notice A contract releases `amount` it locked for a dispute that has
            ended. No authorisation needed: a caller only ever releases its
            own lock, so a contract whose permission governance revoked can
            still let go.
    @param worker The worker whose stake is unlocked.
    @param amount Token wei released from the caller's lock on the worker.
    """
    assert amount > 0, "WorkerRegistry: nothing to unlock"
    own: uint256 = self._stored(self._locked_by[msg.sender][worker])
    assert amount <= own, "WorkerRegistry: unlock exceeds lock"
    self._locked_by[msg.sender][worker] = unsafe_sub(own, amount) + 1  # amount <= own
    # The total is the sum of every slasher's part, so it is at least `own`.
    total: uint256 = unsafe_sub(self._stored(self._locked[worker]), amount)
    self._locked[worker] = total + 1
    log StakeUnlocked(worker=worker, slasher=msg.sender, amount=amount, locked=total)


@external
def slash(worker: address, amount: uint256, recipient: address) -> uint256:
    """
    @notice A contract that may slash takes up to `amount` of a worker's
            stake (bonded or unbonding) and sends it to `recipient`. A slash
            does not release a lock: the slasher unlocks what it locked after.
    @param worker The worker slashed.
    @param amount Token wei to take at most.
    @param recipient Who receives the slashed tokens.
    @return What was taken (less than `amount` when the stake is smaller).
    """
    self._check_can_slash()
    assert recipient != empty(address), "WorkerRegistry: recipient is the zero address"
    taken: uint256 = self._take(worker, amount)
    if taken > 0:
        self._send(worker, taken, recipient)
    return taken


@external
def slash_split(worker: address, amount: uint256, challenger: address, treasury: address) -> uint256:
    """
    @notice A contract that may slash takes up to `amount` of a worker's
            stake, like `slash`, for a challenge the worker lost: half of
            what was taken (rounded down) goes to the challenger, the rest
            to the treasury. Why not all to the challenger: a worker that
            served a wrong result could front-run the honest challenge with
            a second staked account of its own and take its slash back; so
            split, the pair still loses at least half of the slash. One
            `Slashed` event per recipient (none for a zero share).
    @param worker The worker slashed.
    @param amount Token wei to take at most.
    @param challenger Who won the challenge: receives half, rounded down.
    @param treasury The client's treasury (its timelock): receives the rest.
    @return What was taken in all (less than `amount` when the stake is smaller).
    """
    self._check_can_slash()
    assert challenger != empty(address) and treasury != empty(address), "WorkerRegistry: recipient is the zero address"
    taken: uint256 = self._take(worker, amount)
    reward: uint256 = taken // 2
    if reward > 0:
        self._send(worker, reward, challenger)
    if taken > reward:
        self._send(worker, taken - reward, treasury)
    return taken


@external
def record_outcomes(worker: address, fulfilled_: uint256, missed_: uint256):
    """
    @notice A contract that may record adds to a worker's fulfilled and missed counts.
    @param worker The worker.
    @param fulfilled_ Requests it fulfilled.
    @param missed_ Requests it missed.
    """
    assert Permission.RECORD in self.permissions[msg.sender], "WorkerRegistry: caller may not record"
    total_fulfilled: uint256 = self.fulfilled[worker] + fulfilled_
    total_missed: uint256 = self.missed[worker] + missed_
    self.fulfilled[worker] = total_fulfilled
    self.missed[worker] = total_missed
    log ReputationRecorded(worker=worker, fulfilled=total_fulfilled, missed=total_missed)


@external
@view
def locked(worker: address) -> uint256:
    """
    @notice What pending disputes may take from the worker, in token wei (may exceed its stake).
    @param worker The worker.
    @return Token wei locked.
    """
    return self._stored(self._locked[worker])


@external
@view
def locked_by(slasher: address, worker: address) -> uint256:
    """
    @notice The part of `locked(worker)` that `slasher` locked.
    @param slasher The locking contract.
    @param worker The worker.
    @return Token wei `slasher` locked.
    """
    return self._stored(self._locked_by[slasher][worker])


@external
@view
def stake_of(worker: address) -> uint256:
    """
    @notice The worker's whole stake, locked or not (what the court ranks its pools by).
    @param worker The worker.
    @return Token wei staked.
    """
    return self.workers[worker].stake


@external
@view
def free_stake(worker: address) -> uint256:
    """
    @notice The part of the worker's stake that no pending dispute may take.
    @param worker The worker.
    @return Token wei not locked.
    """
    stake: uint256 = self.workers[worker].stake
    return stake - min(stake, self._stored(self._locked[worker]))


@external
@view
def signer_of(worker: address) -> address:
    """
    @notice The worker's registered attestation key, active or not (zero once deregistered).
    @param worker The worker.
    @return Its registered key.
    """
    return self.workers[worker].signer


@external
@view
def binds(worker: address, signer: address) -> bool:
    """
    @notice Whether a signature by `signer` binds `worker` now: its
            registered key, or a key it rotated away less than the
            unbonding delay ago; nothing once it has withdrawn.
    @param worker The worker.
    @param signer The key that signed.
    @return Whether the worker answers for what the key signed.
    """
    registered: address = self.workers[worker].signer
    if registered == empty(address) or signer == empty(address):
        return False
    return signer == registered or block.timestamp < self.retired_until[worker][signer]


@external
@view
def active_since(worker: address) -> uint256:
    """
    @notice The block from which `worker` has been active without a break
            (registered or topped up to the minimum, and not since the
            minimum was lowered); zero while it is not active. The
            DisputeCourt draws only members active since before a dispute
            opened, so reactivating an account after the draw's seed is
            known does not make it eligible.
    @param worker The worker.
    @return A block number, or zero.
    """
    if self._active_signer(worker) == empty(address):
        return 0
    return max(self._activated_at[worker], self._min_lowered_at)


@external
@view
def is_active(worker: address) -> bool:
    """
    @notice Registered, bonded and staked at least the minimum.
    @param worker The worker.
    @return Whether it may claim work.
    """
    return self._active_signer(worker) != empty(address)


@external
@view
def active_signer(worker: address) -> address:
    """
    @notice The worker's attestation key if it is active, else the zero address.
    @param worker The worker.
    @return Its key, or zero when not active.
    """
    return self._active_signer(worker)


@external
def set_permissions(account: address, can_slash_: bool, can_record_: bool):
    """
    @notice Governance sets what a contract may do: lock and slash stake,
            and record reputation (two separate permissions).
    @param account The contract.
    @param can_slash_ Whether it may lock and slash worker stake.
    @param can_record_ Whether it may record fulfilled and missed counts.
    """
    self._check_governance()
    granted: Permission = empty(Permission)
    if can_slash_:
        granted |= Permission.SLASH
    if can_record_:
        granted |= Permission.RECORD
    self.permissions[account] = granted
    log PermissionsSet(account=account, can_slash=can_slash_, can_record=can_record_)


@external
@view
def can_slash(account: address) -> bool:
    """
    @notice Whether `account` may lock and slash worker stake.
    @param account The contract asked about.
    @return True if governance granted it.
    """
    return Permission.SLASH in self.permissions[account]


@external
@view
def can_record(account: address) -> bool:
    """
    @notice Whether `account` may record fulfilled and missed counts.
    @param account The contract asked about.
    @return True if governance granted it.
    """
    return Permission.RECORD in self.permissions[account]


@external
def set_min_stake(min_stake_: uint256):
    """
    @notice Governance sets the minimum stake of an active worker.
    @param min_stake_ Token wei.
    """
    self._check_governance()
    log MinStakeSet(old_min_stake=self.min_stake, new_min_stake=min_stake_)
    if min_stake_ < self.min_stake:  # may activate workers below the old minimum
        self._min_lowered_at = block.number
    self.min_stake = min_stake_


@external
def set_unbonding_delay(delay: uint256):
    """
    @notice Governance sets the seconds between unbond and withdraw.
    @param delay Seconds.
    """
    self._check_governance()
    log UnbondingDelaySet(old_delay=self.unbonding_delay, new_delay=delay)
    self.unbonding_delay = delay


@internal
@view
def _active_signer(worker: address) -> address:
    if self.workers[worker].withdrawable_at != 0 or self.workers[worker].stake < self.min_stake:
        return empty(address)
    return self.workers[worker].signer


@internal
@pure
def _stored(raw: uint256) -> uint256:
    # Lock slots hold the amount plus one once touched, zero before.
    return max(raw, 1) - 1


@internal
@view
def _check_registered(worker: address):
    assert self.workers[worker].signer != empty(address), "WorkerRegistry: not registered"


@internal
def _check_governance():
    ownable._check_owner()


@internal
def _take(worker: address, amount: uint256) -> uint256:
    # Takes up to `amount` of the worker's stake and counts one slash. Nothing
    # to take (never staked, or already withdrawn): no record, and no revert,
    # so a refund that slashes a departed worker still settles.
    stake: uint256 = self.workers[worker].stake
    taken: uint256 = min(amount, stake)
    if taken > 0:
        self.workers[worker].stake = stake - taken
        self.slashed[worker] += 1
    return taken


@internal
def _send(worker: address, amount: uint256, recipient: address):
    log Slashed(worker=worker, amount=amount, recipient=recipient, slasher=msg.sender)
    assert extcall token.transfer(recipient, amount, default_return_value=True)


@internal
@view
def _check_can_slash():
    assert Permission.SLASH in self.permissions[msg.sender], "WorkerRegistry: caller may not slash"
