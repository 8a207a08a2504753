"""Canonical encoding, the content store and both runtimes (no chain needed)."""

import numpy as np
import pytest
from eth_utils import keccak

from offchain import canonical
from offchain.demos.inference import held_out_digits
from offchain.errors import ArtifactMismatch, ModelNotFound, NeuralCommonsError, UnknownBackend
from offchain.models import load_spec
from offchain.runtime import load_runtime
from offchain.store import ContentStore

KIND = "class-index+probs"


@pytest.fixture(scope="module")
def spec():
    return load_spec("digits")


@pytest.fixture(scope="module")
def held_out(spec):
    return held_out_digits(spec, 360)


def test_encode__class_then_rounded_probabilities():
    (data,) = canonical.encode(KIND, 1000, np.array([[0.1, 0.7004, 0.1996]]))
    assert data == (1).to_bytes(32, "big") + (100).to_bytes(2, "big") + (700).to_bytes(2, "big") + (200).to_bytes(2, "big")
    assert canonical.decode(KIND, 1000, data) == {"class": 1, "probabilities": [0.1, 0.7, 0.2]}


def test_encode__float_noise_below_the_scale__same_bytes():
    base = np.array([[0.25, 0.6, 0.15]])
    assert canonical.encode(KIND, 1000, base) == canonical.encode(KIND, 1000, base + 3e-7)


def test_encode__tie__lowest_index_wins():
    (data,) = canonical.encode(KIND, 100, np.array([[0.4, 0.2, 0.4]]))
    assert canonical.decode(KIND, 100, data)["class"] == 0


@pytest.mark.parametrize("kind,scale", [("argmax", 1000), (KIND, 0), (KIND, 70_000)])
def test_encode__bad_encoding__clear_error(kind, scale):
    with pytest.raises(NeuralCommonsError):
        canonical.encode(kind, scale, np.array([[1.0]]))


def test_decode__truncated__clear_error():
    with pytest.raises(NeuralCommonsError, match="not a class-index\\+probs encoding"):
        canonical.decode(KIND, 1000, b"\x00" * 33)


def test_store__round_trip_and_tamper_refused(tmp_path):
    store = ContentStore(tmp_path)
    digest = store.put(b"model bytes")
    assert digest == "0x" + keccak(b"model bytes").hex()
    assert store.get(digest) == b"model bytes"
    store.path(digest).write_bytes(b"model bytez")
    with pytest.raises(ArtifactMismatch, match="refusing to use these bytes"):
        store.get(digest)
    with pytest.raises(ModelNotFound):
        store.get("0x" + "00" * 32)
    with pytest.raises(ArtifactMismatch, match="not a keccak256 hash"):
        store.get("0x1234")


def test_load_runtime__artifact_not_matching_registry__refused(spec, tmp_path):
    with pytest.raises(ArtifactMismatch, match="expected 0x" + "ab" * 32):
        load_runtime(spec, "onnxruntime", ContentStore(tmp_path), b"\xab" * 32)


def test_load_runtime__tampered_store_copy__refused(spec, tmp_path):
    store = ContentStore(tmp_path)
    load_runtime(spec, "onnxruntime", store)  # caches the verified artifact
    store.path(spec.artifact_hash).write_bytes(b"not the model")
    with pytest.raises(ArtifactMismatch):
        load_runtime(spec, "onnxruntime", store)


def test_load_runtime__unknown_backend__clear_error(spec, tmp_path):
    store = ContentStore(tmp_path)
    with pytest.raises(UnknownBackend, match="unknown backend 'tensorflow': use onnxruntime or torch"):
        load_runtime(spec, "tensorflow", store)
    assert not store.has(spec.artifact_hash)  # refused before anything was read or stored


def test_load_spec__unknown_model__lists_known():
    with pytest.raises(ModelNotFound, match="known models are digits"):
        load_spec("llama")


def test_backends__onnxruntime_and_torch__same_result_hash_on_every_held_out_digit(spec, held_out):
    pixels = [np.asarray(p, dtype=np.float32) for p, _ in held_out]
    onnx = load_runtime(spec, "onnxruntime").infer(pixels)
    torch = load_runtime(spec, "torch").infer(pixels)
    assert [keccak(r) for r in onnx] == [keccak(r) for r in torch]


def test_model__held_out_accuracy_matches_manifest(spec, held_out):
    results = load_runtime(spec).infer([np.asarray(p, dtype=np.float32) for p, _ in held_out])
    kind, scale = spec.encoding
    correct = sum(canonical.decode(kind, scale, r)["class"] == label for r, (_, label) in zip(results, held_out))
    assert round(correct / len(held_out), 4) == spec.manifest["evaluation"]["accuracy"]


def test_runtime__batch_equals_one_by_one(spec, held_out):
    runtime = load_runtime(spec)
    pixels = [np.asarray(p, dtype=np.float32) for p, _ in held_out[:16]]
    assert runtime.infer(pixels) == [runtime.infer([p])[0] for p in pixels]
