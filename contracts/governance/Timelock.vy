# pragma version ~=0.4.3
"""
@title Neural Commons timelock
@license MIT
@notice snekmate's timelock controller, deployed as is. It holds the
        treasury and owns every governed setter of every contract; the
        Governor is its only proposer, canceller and executor.
@custom:security The deploy script renounces the deployer's temporary
        admin role once the Governor holds its roles, so afterwards the
        timelock administers itself: role and delay changes need a
        proposal, and the Governor treats every call to the timelock as
        critical (critical quorum, period and delay).
"""

from snekmate.auth import access_control
initializes: access_control

from snekmate.governance import timelock_controller
initializes: timelock_controller[access_control := access_control]

exports: timelock_controller.__interface__


MAX_ROLE_HOLDERS: constant(uint256) = 255  # proposers or executors at construction (snekmate's _DYNARRAY_BOUND)


@deploy
@payable
def __init__(
    minimum_delay: uint256,
    proposers: DynArray[address, MAX_ROLE_HOLDERS],
    executors: DynArray[address, MAX_ROLE_HOLDERS],
    admin: address,
):
    """
    @param minimum_delay Minimum delay of an operation, in seconds.
    @param proposers Granted the proposer and canceller roles.
    @param executors Granted the executor role.
    @param admin Optional temporary admin for wiring roles (zero for none).
    """
    access_control.__init__()
    timelock_controller.__init__(minimum_delay, proposers, executors, admin)
