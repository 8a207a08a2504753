"""ModelRegistry: registration, versions, owner controls, governed listing and status."""

import ape
import pytest
from ape import chain
from eth_utils import to_canonical_address

from tests.conftest import MODEL_PRICE
from tests.utils.constants import ZERO_ADDRESS as ZERO

PENDING, ACTIVE, SUSPENDED, RETIRED = 1, 2, 3, 4
ARTIFACT = b"\xaa" * 32
MANIFEST = b"\xbb" * 32
EMPTY = b"\x00" * 32
URI = "ipfs://model-v1"
MAX_MODEL_ID = 2**24 - 1
MODEL_COUNT_SLOT = 1  # `vyper -f layout`: models @0, model_count @1, open_listing @2


def register(models, owner, holders=None, amounts=None, *, price=MODEL_PRICE, artifact=ARTIFACT, manifest=MANIFEST,
             uri=URI):
    """Registers a model owned by `owner` (all shares to it by default); returns (receipt, model id)."""
    holders = [owner] if holders is None else holders
    amounts = [100] * len(holders) if amounts is None else amounts
    tx = models.register_model(artifact, manifest, uri, price, holders, amounts, sender=owner)
    return tx, models.model_count()


def publish(models, owner, parent, holders=None, amounts=None, *, price=MODEL_PRICE, artifact=b"\xcc" * 32,
            manifest=b"\xdd" * 32, uri="ipfs://model-v2"):
    holders = [owner] if holders is None else holders
    amounts = [100] * len(holders) if amounts is None else amounts
    tx = models.publish_version(parent, artifact, manifest, uri, price, holders, amounts, sender=owner)
    return tx, models.model_count()


def status_log(tx, models):
    (log,) = tx.decode_logs(models.ModelStatusChanged)
    return log.model_id, log.old_status, log.new_status, log.reason


def set_storage(address, slot: int, value: int) -> None:
    """Writes one storage slot of the embedded py-evm chain, then mines it in.
    (The test provider has no `set_storage`; this reaches into its backend.)"""
    evm = chain.provider.evm_backend.chain
    state = evm.get_vm().state
    state.set_storage(to_canonical_address(str(address)), slot, value)
    state.persist()
    evm.header = evm.header.copy(state_root=state.state_root)
    chain.mine()


@pytest.fixture(scope="module", autouse=True)
def _module_fixtures_first(model_id, govern, token, project, deployer, author, dave, carol, mallory):
    """Module-scoped fixtures (the approved `model_id` among them) exist before the first
    test, so the chain isolation never has to rebase them."""


@pytest.fixture
def pending(models, author):
    """A pending model owned by `author`."""
    return register(models, author)[1]


@pytest.fixture
def suspended(models, govern, model_id):
    govern((models, "suspend_model", model_id, "licence dispute"))
    return model_id


# ---------------------------------------------------------------- deployment


def test_deploy__wired_to_timelock_and_shares__closed_listing(models, shares, timelock, model_id):
    assert models.governance() == timelock.address
    assert models.shares() == shares.address
    assert shares.is_minter(models)
    assert not models.open_listing()
    assert (model_id, models.model_count()) == (1, 1)  # ids start at 1: 0 means "no parent"


# ---------------------------------------------------------------- register


def test_register__closed_listing__pending_with_shares_minted(models, shares, author, dave):
    count = models.model_count()
    tx, model = register(models, author, [author, dave], [600, 400])
    assert model == count + 1
    state = models.models(model)
    assert (state.owner, state.status, state.parent, state.price) == (author.address, PENDING, 0, MODEL_PRICE)
    assert (bytes(state.artifact_hash), bytes(state.manifest_hash), state.metadata_uri) == (ARTIFACT, MANIFEST, URI)
    log = tx.decode_logs(models.ModelRegistered)[0]
    assert (log.model_id, log.owner, log.parent, log.price, log.status, log.metadata_uri) == (
        model, author.address, 0, MODEL_PRICE, PENDING, URI)
    assert (bytes(log.artifact_hash), bytes(log.manifest_hash)) == (ARTIFACT, MANIFEST)
    assert (shares.balanceOf(author, model), shares.balanceOf(dave, model)) == (600, 400)
    assert shares.total_supply(model) == 1_000
    minted = tx.decode_logs(shares.TransferSingle)
    assert [(m._from, m._to, m._id, m._value) for m in minted] == [
        (ZERO, author.address, model, 600), (ZERO, dave.address, model, 400)]
    assert models.model_terms(model) == (False, MODEL_PRICE)


def test_register__shareholders_need_not_include_owner__owner_holds_none(models, shares, author, dave, carol):
    _, model = register(models, author, [dave, carol], [1, 2])
    assert models.models(model).owner == author.address
    assert shares.balanceOf(author, model) == 0
    assert (shares.balanceOf(dave, model), shares.balanceOf(carol, model)) == (1, 2)


def test_register__twice__ids_increase_and_shares_kept_apart(models, shares, author, carol):
    count = models.model_count()
    _, first = register(models, author)
    _, second = register(models, carol, [carol], [7])
    assert (first, second, models.model_count()) == (count + 1, count + 2, count + 2)
    assert models.models(second).owner == carol.address
    assert (shares.total_supply(first), shares.total_supply(second)) == (100, 7)
    assert shares.balanceOf(carol, first) == 0


def test_register__free_model__price_zero_allowed(models, author):
    _, model = register(models, author, price=0)
    assert models.model_terms(model) == (False, 0)


def test_register__max_shareholders__all_minted(accounts, models, shares, author):
    holders = [accounts[i % 10] for i in range(16)]  # the 10 named test accounts; repeats add up
    _, model = register(models, author, holders, list(range(1, 17)))
    assert shares.total_supply(model) == sum(range(1, 17))
    assert shares.balanceOf(accounts[0], model) == 1 + 11  # positions 0 and 10


def test_register__more_than_max_shareholders__reverts(accounts, models, author):
    count = models.model_count()
    with ape.reverts():
        register(models, author, [accounts[i % 10] for i in range(17)], [1] * 17)
    assert models.model_count() == count


def test_register__contract_shareholder_with_receiver_hook__minted(project, models, shares, deployer, author):
    actor = deployer.deploy(project.MockActor)
    _, model = register(models, author, [actor], [5])
    assert shares.balanceOf(actor, model) == 5


def test_register__open_listing__active_at_once(models, govern, author):
    tx = govern((models, "set_open_listing", True))
    log = tx.decode_logs(models.OpenListingSet)[0]
    assert (log.old_open_listing, log.new_open_listing) == (False, True)
    assert models.open_listing()
    reg, model = register(models, author)
    assert models.models(model).status == ACTIVE
    assert reg.decode_logs(models.ModelRegistered)[0].status == ACTIVE
    assert models.model_terms(model) == (True, MODEL_PRICE)


def test_set_open_listing__closed_again__new_registrations_pending(models, govern, author):
    govern((models, "set_open_listing", True))
    _, before = register(models, author)
    tx = govern((models, "set_open_listing", False))
    log = tx.decode_logs(models.OpenListingSet)[0]
    assert (log.old_open_listing, log.new_open_listing) == (True, False)
    _, after = register(models, author)
    assert (models.models(before).status, models.models(after).status) == (ACTIVE, PENDING)


@pytest.mark.parametrize("caller", ["deployer", "author"])
def test_set_open_listing__not_governance__reverts(models, deployer, author, caller):
    sender = {"deployer": deployer, "author": author}[caller]
    with ape.reverts("ModelRegistry: caller is not governance"):
        models.set_open_listing(True, sender=sender)


@pytest.mark.parametrize(
    "kwargs,reason",
    [
        ({"artifact": EMPTY}, "ModelRegistry: empty artifact hash"),
        ({"manifest": EMPTY}, "ModelRegistry: empty manifest hash"),
        ({"holders": [], "amounts": []}, "ModelRegistry: no shareholders"),
        ({"amounts": [1, 2]}, "ModelRegistry: length mismatch"),
        ({"holders": "two", "amounts": [1]}, "ModelRegistry: length mismatch"),
        ({"holders": "two", "amounts": [5, 0]}, "ModelRegistry: zero share amount"),
        ({"amounts": [0]}, "ModelRegistry: zero share amount"),
        ({"holders": [ZERO]}, "erc1155: mint to the zero address"),
    ],
)
def test_register__bad_input__reverts_and_registers_nothing(models, author, dave, kwargs, reason):
    if kwargs.get("holders") == "two":
        kwargs = {**kwargs, "holders": [author, dave]}
    count = models.model_count()
    with ape.reverts(reason):
        register(models, author, **kwargs)
    assert models.model_count() == count


def test_register__shareholder_contract_without_receiver_hook__reverts(models, token, author):
    count = models.model_count()
    with ape.reverts():
        register(models, author, [token], [1])
    assert models.model_count() == count


def test_register__last_packable_id__registered(models, author):
    set_storage(models.address, MODEL_COUNT_SLOT, MAX_MODEL_ID - 1)
    assert models.model_count() == MAX_MODEL_ID - 1
    _, model = register(models, author)
    assert model == MAX_MODEL_ID
    assert models.models(model).owner == author.address


def test_register__id_beyond_24_bits__reverts(models, author):
    set_storage(models.address, MODEL_COUNT_SLOT, MAX_MODEL_ID)
    with ape.reverts("ModelRegistry: too many models"):
        register(models, author)
    assert models.model_count() == MAX_MODEL_ID


# ---------------------------------------------------------------- publish_version


def test_publish_version__by_owner__new_pending_model_pointing_at_parent(models, shares, model_id, author, carol):
    tx, version = publish(models, author, model_id, [carol], [50], price=2 * MODEL_PRICE)
    assert version == model_id + 1
    state = models.models(version)
    assert (state.owner, state.status, state.parent, state.price) == (author.address, PENDING, model_id,
                                                                     2 * MODEL_PRICE)
    assert (bytes(state.artifact_hash), state.metadata_uri) == (b"\xcc" * 32, "ipfs://model-v2")
    log = tx.decode_logs(models.ModelRegistered)[0]
    assert (log.model_id, log.owner, log.parent, log.status) == (version, author.address, model_id, PENDING)
    # Own shares and own listing; the parent is untouched.
    assert (shares.total_supply(version), shares.balanceOf(carol, version)) == (50, 50)
    assert shares.total_supply(model_id) == 1_000
    assert models.model_terms(model_id) == (True, MODEL_PRICE)
    assert models.model_terms(version) == (False, 2 * MODEL_PRICE)


def test_publish_version__of_a_version__lineage_chains(models, model_id, author):
    _, v2 = publish(models, author, model_id)
    _, v3 = publish(models, author, v2)
    assert (models.models(v3).parent, models.models(v2).parent, models.models(model_id).parent) == (v2, model_id, 0)


def test_publish_version__open_listing__active_at_once(models, govern, model_id, author):
    govern((models, "set_open_listing", True))
    _, version = publish(models, author, model_id)
    assert models.models(version).status == ACTIVE


def test_publish_version__retired_parent__reverts(models, pending, author):
    models.retire_model(pending, sender=author)
    with ape.reverts("ModelRegistry: parent suspended or retired"):
        publish(models, author, pending)


def test_publish_version__suspended_parent__reverts(models, suspended, author):
    with ape.reverts("ModelRegistry: parent suspended or retired"):
        publish(models, author, suspended)


def test_publish_version__after_transfer__new_owner_only(models, model_id, author, carol):
    models.transfer_model(model_id, carol, sender=author)
    with ape.reverts("ModelRegistry: caller is not the model owner"):
        publish(models, author, model_id)
    _, version = publish(models, carol, model_id)
    assert models.models(version).owner == carol.address


def test_publish_version__not_owner__reverts(models, model_id, dave):
    count = models.model_count()
    with ape.reverts("ModelRegistry: caller is not the model owner"):
        publish(models, dave, model_id)  # a shareholder, not the owner
    assert models.model_count() == count


@pytest.mark.parametrize("parent", [0, 999])
def test_publish_version__unknown_parent__reverts(models, author, parent):
    with ape.reverts("ModelRegistry: unknown model"):
        publish(models, author, parent)


def test_publish_version__bad_input__same_checks_as_register(models, model_id, author):
    with ape.reverts("ModelRegistry: empty artifact hash"):
        publish(models, author, model_id, artifact=EMPTY)
    with ape.reverts("ModelRegistry: no shareholders"):
        publish(models, author, model_id, [], [])


# ---------------------------------------------------------------- set_price


def test_set_price__by_owner__changes_terms_and_logs(models, model_id, author):
    tx = models.set_price(model_id, 42, sender=author)
    log = tx.decode_logs(models.PriceChanged)[0]
    assert (log.model_id, log.old_price, log.new_price) == (model_id, MODEL_PRICE, 42)
    assert models.models(model_id).price == 42
    assert models.model_terms(model_id) == (True, 42)


def test_set_price__to_zero__free_model(models, model_id, author):
    models.set_price(model_id, 0, sender=author)
    assert models.model_terms(model_id) == (True, 0)


def test_set_price__pending_model__allowed(models, pending, author):
    models.set_price(pending, 1, sender=author)
    assert models.model_terms(pending) == (False, 1)


@pytest.mark.parametrize("caller", ["dave", "mallory"])
def test_set_price__not_owner__reverts(models, model_id, dave, mallory, caller):
    with ape.reverts("ModelRegistry: caller is not the model owner"):
        models.set_price(model_id, 1, sender={"dave": dave, "mallory": mallory}[caller])
    assert models.models(model_id).price == MODEL_PRICE


@pytest.mark.parametrize("model", [0, 999])
def test_set_price__unknown_model__reverts(models, author, model):
    with ape.reverts("ModelRegistry: unknown model"):
        models.set_price(model, 1, sender=author)


# ---------------------------------------------------------------- transfer_model


def test_transfer_model__by_owner__hands_over_control_not_shares(models, shares, model_id, author, carol):
    tx = models.transfer_model(model_id, carol, sender=author)
    log = tx.decode_logs(models.ModelOwnerChanged)[0]
    assert (log.model_id, log.old_owner, log.new_owner) == (model_id, author.address, carol.address)
    assert models.models(model_id).owner == carol.address
    assert models.models(model_id).status == ACTIVE
    assert (shares.balanceOf(author, model_id), shares.balanceOf(carol, model_id)) == (600, 0)
    with ape.reverts("ModelRegistry: caller is not the model owner"):
        models.set_price(model_id, 1, sender=author)
    models.set_price(model_id, 1, sender=carol)
    assert models.models(model_id).price == 1


def test_transfer_model__zero_address__reverts(models, model_id, author):
    with ape.reverts("ModelRegistry: new owner is the zero address"):
        models.transfer_model(model_id, ZERO, sender=author)
    assert models.models(model_id).owner == author.address


def test_transfer_model__not_owner__reverts(models, model_id, mallory):
    with ape.reverts("ModelRegistry: caller is not the model owner"):
        models.transfer_model(model_id, mallory, sender=mallory)


def test_transfer_model__unknown_model__reverts(models, author, carol):
    with ape.reverts("ModelRegistry: unknown model"):
        models.transfer_model(999, carol, sender=author)


# ---------------------------------------------------------------- retire_model


@pytest.mark.parametrize("start", ["pending", "active", "suspended"])
def test_retire_model__by_owner__retired_from_any_live_status(models, govern, model_id, author, start):
    model, old = model_id, ACTIVE
    if start == "pending":
        model, old = register(models, author)[1], PENDING
    elif start == "suspended":
        govern((models, "suspend_model", model, "bad outputs"))
        old = SUSPENDED
    tx = models.retire_model(model, sender=author)
    assert status_log(tx, models) == (model, old, RETIRED, "")
    assert models.models(model).status == RETIRED
    assert models.model_terms(model) == (False, MODEL_PRICE)


def test_retire_model__by_governance__retired(models, govern, model_id):
    tx = govern((models, "retire_model", model_id))
    assert status_log(tx, models) == (model_id, ACTIVE, RETIRED, "")
    assert models.model_terms(model_id) == (False, MODEL_PRICE)


def test_retire_model__after_transfer__new_owner_may_old_may_not(models, model_id, author, carol):
    models.transfer_model(model_id, carol, sender=author)
    with ape.reverts("ModelRegistry: caller is not the model owner or governance"):
        models.retire_model(model_id, sender=author)
    models.retire_model(model_id, sender=carol)
    assert models.models(model_id).status == RETIRED


@pytest.mark.parametrize("caller", ["dave", "mallory", "deployer"])
def test_retire_model__not_owner_or_governance__reverts(models, model_id, dave, mallory, deployer, caller):
    with ape.reverts("ModelRegistry: caller is not the model owner or governance"):
        models.retire_model(model_id, sender={"dave": dave, "mallory": mallory, "deployer": deployer}[caller])
    assert models.models(model_id).status == ACTIVE


def test_retire_model__already_retired__reverts(models, pending, author):
    models.retire_model(pending, sender=author)
    with ape.reverts("ModelRegistry: model already retired"):
        models.retire_model(pending, sender=author)


def test_retire_model__already_retired_by_governance__reverts(models, govern, pending, author):
    models.retire_model(pending, sender=author)
    with ape.reverts("ModelRegistry: model already retired"):
        govern((models, "retire_model", pending))


@pytest.mark.parametrize("model", [0, 999])
def test_retire_model__unknown_model__reverts(models, mallory, model):
    # The existence check comes before the caller check.
    with ape.reverts("ModelRegistry: unknown model"):
        models.retire_model(model, sender=mallory)


# ---------------------------------------------------------------- approve_model


def test_approve_model__pending__active_and_logged(models, govern, pending):
    tx = govern((models, "approve_model", pending))
    assert status_log(tx, models) == (pending, PENDING, ACTIVE, "")
    assert models.models(pending).status == ACTIVE
    assert models.model_terms(pending) == (True, MODEL_PRICE)


def test_approve_model__suspended__reinstated(models, govern, suspended):
    tx = govern((models, "approve_model", suspended))
    assert status_log(tx, models) == (suspended, SUSPENDED, ACTIVE, "")
    assert models.model_terms(suspended) == (True, MODEL_PRICE)


def test_approve_model__records_the_artifacts_listing_retire_frees_it(models, govern, pending, author):
    assert models.listing_of(ARTIFACT) == 0
    govern((models, "approve_model", pending))
    assert models.listing_of(ARTIFACT) == pending
    models.retire_model(pending, sender=author)
    assert models.listing_of(ARTIFACT) == 0


@pytest.mark.parametrize("holder_state", ["active", "suspended"])
def test_attack__suspend_a_model_and_list_a_copy__copy_refused(models, govern, model_id, mallory, holder_state):
    """Attack: register a copy of a listed model's artifact with every share to yourself, then have a routine vote
    suspend the original and list the copy, so its traffic and revenue come to you. A listed model (active or
    suspended) holds its artifact: the copy cannot be listed beside it."""
    artifact = bytes(models.models(model_id).artifact_hash)
    _, copy = register(models, mallory, artifact=artifact)
    calls = [(models, "approve_model", copy)]
    if holder_state == "suspended":
        calls.insert(0, (models, "suspend_model", model_id, "licence dispute"))
    with ape.reverts("ModelRegistry: another listed model holds this artifact"):
        govern(*calls)
    assert models.models(copy).status == PENDING
    assert models.listing_of(artifact) == model_id


def test_approve_model__copy_of_a_retired_model__listed(models, govern, pending, author, mallory):
    govern((models, "approve_model", pending))
    models.retire_model(pending, sender=author)
    _, copy = register(models, mallory)
    govern((models, "approve_model", copy))
    assert models.listing_of(ARTIFACT) == copy


def test_register__open_listing_copy_of_a_listed_artifact__pending(models, govern, model_id, mallory):
    govern((models, "set_open_listing", True))
    artifact = bytes(models.models(model_id).artifact_hash)
    tx, copy = register(models, mallory, artifact=artifact)
    assert models.models(copy).status == PENDING
    assert tx.decode_logs(models.ModelRegistered)[0].status == PENDING
    assert models.listing_of(artifact) == model_id


def test_approve_model__already_active__reverts(models, govern, model_id):
    with ape.reverts("ModelRegistry: model not pending or suspended"):
        govern((models, "approve_model", model_id))


def test_approve_model__retired__reverts(models, govern, pending, author):
    models.retire_model(pending, sender=author)
    with ape.reverts("ModelRegistry: model not pending or suspended"):
        govern((models, "approve_model", pending))
    assert models.models(pending).status == RETIRED


def test_approve_model__unknown_model__reverts(models, govern):
    with ape.reverts("ModelRegistry: unknown model"):
        govern((models, "approve_model", 999))


@pytest.mark.parametrize("caller", ["author", "deployer"])
def test_approve_model__not_governance__reverts(models, pending, author, deployer, caller):
    with ape.reverts("ModelRegistry: caller is not governance"):
        models.approve_model(pending, sender={"author": author, "deployer": deployer}[caller])
    assert models.models(pending).status == PENDING


# ---------------------------------------------------------------- suspend_model


def test_suspend_model__active__suspended_with_reason(models, govern, model_id):
    tx = govern((models, "suspend_model", model_id, "plagiarised weights"))
    assert status_log(tx, models) == (model_id, ACTIVE, SUSPENDED, "plagiarised weights")
    assert models.models(model_id).status == SUSPENDED
    assert models.model_terms(model_id) == (False, MODEL_PRICE)


def test_suspend_model__pending__suspended_with_reason(models, govern, pending):
    tx = govern((models, "suspend_model", pending, "manifest does not reproduce"))
    assert status_log(tx, models) == (pending, PENDING, SUSPENDED, "manifest does not reproduce")


def test_suspend_model__owner_keeps_owner_controls(models, suspended, author):
    models.set_price(suspended, 5, sender=author)
    assert models.model_terms(suspended) == (False, 5)


def test_suspend_model__already_suspended__reverts(models, govern, suspended):
    with ape.reverts("ModelRegistry: model not pending or active"):
        govern((models, "suspend_model", suspended, "again"))


def test_suspend_model__retired__reverts(models, govern, pending, author):
    models.retire_model(pending, sender=author)
    with ape.reverts("ModelRegistry: model not pending or active"):
        govern((models, "suspend_model", pending, "too late"))


def test_suspend_model__unknown_model__reverts(models, govern):
    with ape.reverts("ModelRegistry: unknown model"):
        govern((models, "suspend_model", 999, "no such model"))


@pytest.mark.parametrize("caller", ["author", "mallory"])
def test_suspend_model__not_governance__reverts(models, model_id, author, mallory, caller):
    with ape.reverts("ModelRegistry: caller is not governance"):
        models.suspend_model(model_id, "because", sender={"author": author, "mallory": mallory}[caller])
    assert models.models(model_id).status == ACTIVE


# ---------------------------------------------------------------- model_terms


def test_model_terms__unknown_model__inactive_and_free(models):
    assert models.model_terms(0) == (False, 0)
    assert models.model_terms(999) == (False, 0)
