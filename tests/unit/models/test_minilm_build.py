"""minilm's build: the artifact rebuilt from the package hashes to the manifest's, and the
manifest, tokenizer and encoding declare what the worker and the verifier rely on."""

import json

from eth_utils import keccak

from offchain.models import all_specs, load_spec


def test_build__fresh_export_from_package__manifest_hash(minilm_spec):
    build = minilm_spec.build_module()
    artifact = build.export_onnx(build.package_zip())  # the one export of the session
    assert "0x" + keccak(artifact).hex() == minilm_spec.manifest["artifact"]["keccak256"]
    assert len(artifact) == minilm_spec.manifest["artifact"]["bytes"]
    assert minilm_spec.read_artifact() == artifact  # the cached build is the same bytes


def test_build__package_and_toolchain__as_recorded(minilm_spec):
    build = minilm_spec.build_module()
    source = minilm_spec.manifest["artifact"]["source"]
    assert source["version"] == build.package_version()
    assert source["zip_keccak256"] == "0x" + keccak(build.package_zip()).hex()
    assert minilm_spec.manifest["artifact"]["toolchain"] == build.toolchain()


def test_tokenizer__committed_copy__is_the_package_tokenizer(minilm_spec):
    build = minilm_spec.build_module()
    committed = (minilm_spec.folder / "tokenizer.json").read_bytes()
    assert committed == build.tokenizer_json(build.package_zip())
    assert "0x" + keccak(committed).hex() == minilm_spec.manifest["tokenizer"]["keccak256"]


def test_manifest__weights_not_committed__built_on_first_use(minilm_spec):
    assert minilm_spec.manifest["artifact"]["committed"] is False
    assert not minilm_spec.artifact_path.exists()
    assert minilm_spec.built


def test_manifest__schema_encoding_and_policy__declared(minilm_spec):
    m = minilm_spec.manifest
    assert (m["input"]["kind"], m["input"]["field"], m["input"]["max_tokens"]) == ("text", "text", 256)
    assert m["canonical_encoding"] == {"kind": "embedding-int32", "scale": 100_000_000, "dim": 384}
    assert minilm_spec.verification["policy"] == "tolerance"
    assert minilm_spec.verification["metric"] == "max_abs"
    assert 1e-6 < minilm_spec.verification["bound"] < 2e-5


def test_specs__digits_unchanged__exact_policy():
    digits = load_spec("digits")
    assert digits.input_kind == "vector" and digits.verification == {"policy": "exact"}
    assert not digits.built and digits.read_artifact() == digits.artifact_path.read_bytes()
    assert {s.name for s in all_specs()} >= {"digits", "minilm"}
    assert json.loads((digits.folder / "manifest.json").read_text())["artifact"]["file"] == "model.onnx"
