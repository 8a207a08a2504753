"""The pixels image model as the worker runs it: the PNG is a pure function of (model, digit, seed),
honest backends agree within the manifest's bound, tampered images are refused, the build is
deterministic; and the NFT demo on the embedded chain."""

import dataclasses
import io

import pytest
import torch
from eth_utils import keccak

from offchain import verification
from offchain import canonical, diffusion, images
from offchain.demos import nft
from offchain.errors import NeuralCommonsError
from offchain.models import load_spec
from offchain.runtime import load_runtime

REQUESTS = [{"digit": d, "seed": 500 + d} for d in range(10)]


@pytest.fixture(scope="module")
def spec():
    """This module's model (tests/integration/conftest.py's `runtime` loads it with ONNX Runtime)."""
    return load_spec("pixels")


@pytest.fixture(scope="module")
def honest(runtime):
    return runtime.infer(REQUESTS)


def test_manifest__artifacts__hash_as_recorded(spec):
    assert "0x" + keccak(spec.artifact_path.read_bytes()).hex() == spec.manifest["artifact"]["keccak256"]
    weights = (spec.folder / spec.manifest["torch"]["file"]).read_bytes()
    assert "0x" + keccak(weights).hex() == spec.manifest["torch"]["keccak256"]
    assert spec.verification["policy"] == "tolerance" and spec.encoding[0] == "png-gray8"


def test_runtime__same_request_fresh_runtime__same_png_bytes(spec, honest):
    again = load_runtime(spec).infer(REQUESTS)
    assert again == honest  # bit-identical: same graph, same thread count, same noise
    assert len(set(honest)) == len(REQUESTS)  # and every (digit, seed) is another image


def test_runtime__png__canonical_and_small_enough_for_the_collection(honest):
    for png in honest:
        assert len(png) == 340 <= 384  # NFTMinter.MAX_IMAGE
        assert images.encode_png(images.decode_png(png)) == png


def test_runtime__batch_of_one_vs_batch_of_ten__within_bound(spec, runtime, honest):
    singles = [runtime.infer([r])[0] for r in REQUESTS[:4]]
    for got, want in zip(singles, honest, strict=False):
        ok, gap = verification.within_tolerance(spec.manifest["canonical_encoding"], spec.verification, got, want)
        assert ok, gap


def test_policy__torch_reference_vs_onnxruntime__within_bound(spec, honest):
    torch_results = load_runtime(spec, "torch").infer(REQUESTS)
    gaps = [verification.within_tolerance(spec.manifest["canonical_encoding"], spec.verification, got, want)
            for got, want in zip(torch_results, honest, strict=True)]
    assert all(ok for ok, _ in gaps), gaps


def _tampered(spec, runtime, how):
    if how == "another seed":
        return runtime.infer([{**r, "seed": r["seed"] + 1} for r in REQUESTS])
    # The manifest's sampler with one setting changed: the same seeds and digits, other images.
    changed = {"10 steps": {"steps": 10}, "no guidance": {"guidance": 1.0}}[how]
    sampler = dataclasses.replace(diffusion.Sampler.from_manifest(spec.manifest["sampler"]), **changed)
    pixels = diffusion.to_pixels(diffusion.sample(runtime.backend.denoise, sampler,
                                                  [r["seed"] for r in REQUESTS], [r["digit"] for r in REQUESTS]))
    return canonical.encode("png-gray8", 255, pixels)


@pytest.mark.parametrize("how", ["another seed", "10 steps", "no guidance"])
def test_policy__tampered_images__refused_by_check(spec, runtime, how):
    for request, result in zip(REQUESTS, _tampered(spec, runtime, how), strict=True):
        ok, gap = runtime.check(request, result)
        assert not ok and gap > spec.verification["bound"], (how, request, gap)


def test_policy__one_pixel_pushed_past_the_bound__refused(spec, runtime, honest):
    pixels = images.decode_png(honest[0]).copy()
    pixels[8, 8] = 255 if pixels[8, 8] < 128 else 0
    ok, gap = runtime.check(REQUESTS[0], images.encode_png(pixels))
    assert not ok and gap > 100
    assert runtime.check(REQUESTS[0], honest[0]) == (True, 0.0)


def test_runtime__artifact_not_the_registered_one__refused(spec):
    with pytest.raises(NeuralCommonsError, match="refusing to use these bytes"):
        load_runtime(spec, expected_hash=b"\x01" * 32)


def test_build__training_and_export__repeat_byte_for_byte(spec, monkeypatch):
    build = spec.build_module()
    monkeypatch.setattr(build, "TRAIN_STEPS", 3)
    threads = torch.get_num_threads()
    first = build.train(log=lambda _: None)
    second = build.train(log=lambda _: None)
    assert build.weights_bytes(first) == build.weights_bytes(second)
    assert build.export_onnx(first) == build.export_onnx(second)
    torch.set_num_threads(threads)  # train() pins the build's thread count


def test_quality__generated_digits_read_as_asked(spec):
    assert spec.manifest["evaluation"]["conditional_accuracy"] >= 0.8
    state = torch.load(io.BytesIO((spec.folder / "weights.pt").read_bytes()), weights_only=True)
    assert sum(v.numel() for v in state.values()) < 2_000_000


def test_nft_demo__minted_tokens_with_images__shareholders_paid(project, accounts, tmp_path):
    summary = nft.run(project, accounts, workdir=tmp_path)
    assert summary.verified == summary.requests == len(nft.DEMO_MINTS)
    assert summary.max_pixel_gap <= summary.bound
    assert [(t.digit, t.seed) for t in summary.minted] == list(nft.DEMO_MINTS)
    for token in summary.minted:
        assert token.owner == accounts[nft.BUYER].address
        assert token.path.exists() and keccak(token.path.read_bytes()).hex() == token.image_hash[2:]
        assert images.decode_png(token.path.read_bytes()).shape == (16, 16)
    payment = len(nft.DEMO_MINTS) * 10**15 * 105 // 100
    received = summary.received
    assert received["author (70 % of shares)"] + received["dave (30 % of shares)"] == payment * 20 // 100
    assert received["worker (its share + callback gas)"] == payment * 70 // 100 + len(nft.DEMO_MINTS) * \
        nft.CALLBACK_GAS * 10**9
    assert received["treasury"] > 0
