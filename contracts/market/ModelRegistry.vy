# pragma version ~=0.4.3
"""
@title Neural Commons model registry
@license MIT
@notice Models: artifact hash (keccak256 of the ONNX bytes), a hash of the
        reproducibility manifest JSON (runtime, opset, canonical output
        encoding), metadata URI, price per inference, owner, status and
        version lineage. Registering mints the model's shares. Governance
        approves and suspends; a governance-set open-listing policy makes
        new registrations active at once. One listing per artifact: a
        model whose artifact another listed (active or suspended) model
        holds cannot be listed beside it, so a routine vote that suspends
        a model and lists a copy registered to someone else cannot move
        its revenue; only retiring the holder (critical) frees the
        artifact.
"""

from ..interfaces import IModelShares


MAX_HOLDERS: constant(uint256) = 16  # initial shareholders per model
MAX_URI: constant(uint256) = 256  # bytes
MAX_MODEL_ID: constant(uint256) = 2**24 - 1  # the market packs model ids in 24 bits

# Model status
PENDING: constant(uint8) = 1
ACTIVE: constant(uint8) = 2
SUSPENDED: constant(uint8) = 3
RETIRED: constant(uint8) = 4


struct Model:
    owner: address
    status: uint8
    parent: uint256  # zero for a first version
    price: uint256  # wei per inference
    artifact_hash: bytes32
    manifest_hash: bytes32
    metadata_uri: String[MAX_URI]


governance: public(immutable(address))
shares: public(immutable(IModelShares))

models: public(HashMap[uint256, Model])
model_count: public(uint256)
open_listing: public(bool)
# The model holding each artifact's listing (active or suspended); zero while none does.
listing_of: public(HashMap[bytes32, uint256])


event ModelRegistered:
    model_id: indexed(uint256)
    owner: indexed(address)
    parent: indexed(uint256)
    artifact_hash: bytes32
    manifest_hash: bytes32
    metadata_uri: String[MAX_URI]
    price: uint256
    status: uint8


event ModelStatusChanged:
    model_id: indexed(uint256)
    old_status: uint8
    new_status: uint8
    reason: String[MAX_URI]


event PriceChanged:
    model_id: indexed(uint256)
    old_price: uint256
    new_price: uint256


event ModelOwnerChanged:
    model_id: indexed(uint256)
    old_owner: indexed(address)
    new_owner: indexed(address)


event OpenListingSet:
    old_open_listing: bool
    new_open_listing: bool


@deploy
def __init__(governance_: address, shares_: IModelShares):
    """
    @param governance_ The timelock.
    @param shares_ ModelShares; this registry must be one of its minters.
    """
    governance = governance_
    shares = shares_


@external
def register_model(
    artifact_hash: bytes32,
    manifest_hash: bytes32,
    metadata_uri: String[MAX_URI],
    price: uint256,
    shareholders: DynArray[address, MAX_HOLDERS],
    amounts: DynArray[uint256, MAX_HOLDERS],
) -> uint256:
    """
    @notice Registers a model owned by the caller and mints its shares.
            Pending until governance approves, unless listing is open.
    @return The model id.
    @param artifact_hash keccak256 of the model artifact.
    @param manifest_hash keccak256 of its manifest.
    @param metadata_uri Where it is described.
    @param price Wei per inference.
    @param shareholders Who receives its shares.
    @param amounts Shares of each.
    """
    return self._register(msg.sender, 0, artifact_hash, manifest_hash, metadata_uri, price, shareholders, amounts)


@external
def publish_version(
    parent: uint256,
    artifact_hash: bytes32,
    manifest_hash: bytes32,
    metadata_uri: String[MAX_URI],
    price: uint256,
    shareholders: DynArray[address, MAX_HOLDERS],
    amounts: DynArray[uint256, MAX_HOLDERS],
) -> uint256:
    """
    @notice The owner of `parent` publishes a new version: a new model id
            (with its own shares and listing) that points at its parent.
    @return The new model id.
    @param parent The model this one succeeds.
    @param artifact_hash keccak256 of the model artifact.
    @param manifest_hash keccak256 of its manifest.
    @param metadata_uri Where it is described.
    @param price Wei per inference.
    @param shareholders Who receives its shares.
    @param amounts Shares of each.
    """
    self._check_owner(parent)
    parent_status: uint8 = self.models[parent].status
    # A suspension or retirement must not be escaped by publishing a "new version".
    assert parent_status == PENDING or parent_status == ACTIVE, "ModelRegistry: parent suspended or retired"
    return self._register(msg.sender, parent, artifact_hash, manifest_hash, metadata_uri, price, shareholders, amounts)


@external
def set_price(model_id: uint256, price: uint256):
    """
    @notice The owner sets the price per inference (in wei); later requests pay it.
    @param model_id The model.
    @param price Wei per inference.
    """
    self._check_owner(model_id)
    log PriceChanged(model_id=model_id, old_price=self.models[model_id].price, new_price=price)
    self.models[model_id].price = price


@external
def transfer_model(model_id: uint256, new_owner: address):
    """
    @notice The owner hands the model (price, versions, retirement) to `new_owner`.
    @param model_id The model.
    @param new_owner Who may manage it next.
    """
    self._check_owner(model_id)
    assert new_owner != empty(address), "ModelRegistry: new owner is the zero address"
    log ModelOwnerChanged(model_id=model_id, old_owner=msg.sender, new_owner=new_owner)
    self.models[model_id].owner = new_owner


@external
def retire_model(model_id: uint256):
    """
    @notice The owner or governance retires a model for good: no new requests.
    @param model_id The model.
    """
    status: uint8 = self._status(model_id)
    assert msg.sender == self.models[model_id].owner or msg.sender == governance, "ModelRegistry: caller is not the model owner or governance"
    assert status != RETIRED, "ModelRegistry: model already retired"
    artifact: bytes32 = self.models[model_id].artifact_hash
    if self.listing_of[artifact] == model_id:
        self.listing_of[artifact] = 0
    self._set_status(model_id, status, RETIRED, "")


@external
def approve_model(model_id: uint256):
    """
    @notice Governance lists a pending model or reinstates a suspended one,
            unless another listed model holds its artifact.
    @param model_id The model.
    """
    self._check_governance()
    status: uint8 = self._status(model_id)
    assert status == PENDING or status == SUSPENDED, "ModelRegistry: model not pending or suspended"
    artifact: bytes32 = self.models[model_id].artifact_hash
    holder: uint256 = self.listing_of[artifact]
    assert holder == 0 or holder == model_id, "ModelRegistry: another listed model holds this artifact"
    self.listing_of[artifact] = model_id
    self._set_status(model_id, status, ACTIVE, "")


@external
def suspend_model(model_id: uint256, reason: String[MAX_URI]):
    """
    @notice Governance suspends a pending or active model, saying why.
    @param model_id The model.
    @param reason Why (emitted).
    """
    self._check_governance()
    status: uint8 = self._status(model_id)
    assert status == PENDING or status == ACTIVE, "ModelRegistry: model not pending or active"
    self._set_status(model_id, status, SUSPENDED, reason)


@external
def set_open_listing(open_listing_: bool):
    """
    @notice Governance chooses whether new registrations are active at once.
    @param open_listing_ Whether new models are active at once.
    """
    self._check_governance()
    log OpenListingSet(old_open_listing=self.open_listing, new_open_listing=open_listing_)
    self.open_listing = open_listing_


@external
@view
def model_terms(model_id: uint256) -> (bool, uint256):
    """
    @notice (is active, price per inference): what the market needs in one call.
    @param model_id The model.
    @return (active, price in wei).
    """
    return self.models[model_id].status == ACTIVE, self.models[model_id].price


@internal
def _register(
    owner: address,
    parent: uint256,
    artifact_hash: bytes32,
    manifest_hash: bytes32,
    metadata_uri: String[MAX_URI],
    price: uint256,
    shareholders: DynArray[address, MAX_HOLDERS],
    amounts: DynArray[uint256, MAX_HOLDERS],
) -> uint256:
    assert artifact_hash != empty(bytes32), "ModelRegistry: empty artifact hash"
    assert manifest_hash != empty(bytes32), "ModelRegistry: empty manifest hash"
    assert len(shareholders) > 0, "ModelRegistry: no shareholders"
    assert len(shareholders) == len(amounts), "ModelRegistry: length mismatch"
    total: uint256 = 0
    for amount: uint256 in amounts:
        assert amount > 0, "ModelRegistry: zero share amount"
        total += amount
    model_id: uint256 = self.model_count + 1
    assert model_id <= MAX_MODEL_ID, "ModelRegistry: too many models"
    self.model_count = model_id
    status: uint8 = PENDING
    if self.open_listing and self.listing_of[artifact_hash] == 0:  # a copy of a listed artifact waits for a vote
        status = ACTIVE
        self.listing_of[artifact_hash] = model_id
    self.models[model_id] = Model(
        owner=owner,
        status=status,
        parent=parent,
        price=price,
        artifact_hash=artifact_hash,
        manifest_hash=manifest_hash,
        metadata_uri=metadata_uri,
    )
    log ModelRegistered(
        model_id=model_id,
        owner=owner,
        parent=parent,
        artifact_hash=artifact_hash,
        manifest_hash=manifest_hash,
        metadata_uri=metadata_uri,
        price=price,
        status=status,
    )
    extcall shares.mint_batch(shareholders, model_id, amounts)
    return model_id


@internal
@view
def _status(model_id: uint256) -> uint8:
    status: uint8 = self.models[model_id].status
    assert status != 0, "ModelRegistry: unknown model"
    return status


@internal
def _set_status(model_id: uint256, old: uint8, new: uint8, reason: String[MAX_URI]):
    self.models[model_id].status = new
    log ModelStatusChanged(model_id=model_id, old_status=old, new_status=new, reason=reason)


@internal
@view
def _check_owner(model_id: uint256):
    self._status(model_id)
    assert msg.sender == self.models[model_id].owner, "ModelRegistry: caller is not the model owner"


@internal
@view
def _check_governance():
    assert msg.sender == governance, "ModelRegistry: caller is not governance"
