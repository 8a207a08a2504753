"""Verification policies, the cheating worker's tampering, and the verifier's
sampling and crash-safe state (no chain needed)."""

import math

import numpy as np
import pytest

from offchain import canonical, verification
from offchain.demos.inference import held_out_digits
from offchain.errors import NeuralCommonsError
from offchain.models import load_spec
from offchain.runtime import load_runtime
from offchain.tamper import Tamper
from offchain.verification import (ActivationFingerprintPolicy, ExactPolicy, PolicyError, PolicyNotAvailable,
                                   TolerancePolicy, policy_from)
from offchain.verifier import VerifierState, sampled

EMB = {"kind": "embedding-int32", "scale": 100_000_000, "dim": 4}
PROBS = {"kind": "class-index+probs", "scale": 1000}


def unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def emb(v):
    return canonical.encode(EMB["kind"], EMB["scale"], unit(v)[None, :])[0]


@pytest.fixture(scope="module")
def digits():
    return load_runtime(load_spec("digits"))


# ---------------------------------------------------------------- policies from manifests


def test_policy_from__no_block__exact():
    assert isinstance(policy_from({}), ExactPolicy)


def test_policy_from__digits_and_minilm__exact_and_tolerance():
    assert isinstance(policy_from(load_spec("digits").manifest), ExactPolicy)
    minilm = policy_from(load_spec("minilm").manifest)
    assert isinstance(minilm, TolerancePolicy) and minilm.metric == "max_abs" and minilm.bound == 5e-6


def test_policy_from__unknown_policy__raises():
    with pytest.raises(PolicyError, match="unknown verification policy 'majority'"):
        policy_from({"verification": {"policy": "majority"}})


def test_policy_from__unknown_metric__raises():
    with pytest.raises(PolicyError, match="unknown verification metric 'l2'"):
        policy_from({"canonical_encoding": EMB, "verification": {"policy": "tolerance", "metric": "l2", "bound": 1}})


@pytest.mark.parametrize("bound", [0, -1e-6, math.inf, math.nan])
def test_policy_from__bad_bound__raises(bound):
    with pytest.raises(PolicyError, match="must be a positive finite number"):
        policy_from({"canonical_encoding": EMB, "verification": {"policy": "tolerance", "metric": "max_abs",
                                                                 "bound": bound}})


def test_policy_from__tolerance_without_bound__raises():
    with pytest.raises(PolicyError, match="needs 'bound'"):
        policy_from({"canonical_encoding": EMB, "verification": {"policy": "tolerance", "metric": "max_abs"}})


def test_policy_from__unknown_encoding__raises():
    with pytest.raises(PolicyError, match="no tolerance comparison for the 'tokens' encoding"):
        policy_from({"canonical_encoding": {"kind": "tokens", "scale": 1},
                     "verification": {"policy": "tolerance", "metric": "max_abs", "bound": 1}})


def test_policy_from__activation_fingerprint__not_available_with_a_clear_error():
    with pytest.raises(PolicyNotAvailable, match="lands with the first language model"):
        policy_from({"verification": {"policy": "activation-fingerprint", "layer": 20}})
    with pytest.raises(PolicyNotAvailable):
        ActivationFingerprintPolicy(layer=20)


# ---------------------------------------------------------------- exact


def test_exact__same_bytes__agrees():
    assert tuple(ExactPolicy().judge(b"\x01\x02", b"\x01\x02")) == (True, 0.0)


def test_exact__one_bit_differs__disagrees():
    verdict = ExactPolicy().judge(b"\x01\x03", b"\x01\x02")
    assert not verdict.agrees and verdict.distance == math.inf


def test_exact__digits_onnxruntime_vs_torch__all_agree(digits):
    spec = digits.spec
    torch_rt = load_runtime(spec, "torch")
    pixels = [p for p, _ in held_out_digits(spec, 200)]
    for mine, theirs in zip(digits.infer(pixels), torch_rt.infer(pixels), strict=True):
        assert digits.policy.judge(theirs, mine).agrees


def test_exact__digits_tampered_flip__caught(digits):
    pixels = [p for p, _ in held_out_digits(digits.spec, 20)]
    honest = digits.infer(pixels)
    flip = Tamper.parse("flip")
    assert not any(digits.policy.judge(flip.apply(digits.spec.encoding, r, i), r).agrees
                   for i, r in enumerate(honest))


# ---------------------------------------------------------------- tolerance metrics


def test_tolerance_max_abs__within_and_beyond_bound():
    policy = TolerancePolicy(EMB, "max_abs", 1e-5)
    base = unit([1, 2, 3, 4])
    near = canonical.encode(EMB["kind"], EMB["scale"], (base + [5e-6, 0, 0, 0])[None, :])[0]
    far = canonical.encode(EMB["kind"], EMB["scale"], (base + [2e-5, 0, 0, 0])[None, :])[0]
    ref = emb([1, 2, 3, 4])
    assert policy.judge(near, ref).agrees
    verdict = policy.judge(far, ref)
    assert not verdict.agrees and verdict.distance == pytest.approx(2e-5, rel=1e-3)


def test_tolerance_cosine__orthogonal__disagrees():
    policy = TolerancePolicy(EMB, "cosine", 1e-6)
    assert policy.judge(emb([1, 0, 0, 0]), emb([1, 0, 0, 0])).agrees
    verdict = policy.judge(emb([0, 1, 0, 0]), emb([1, 0, 0, 0]))
    assert not verdict.agrees and verdict.distance == pytest.approx(1.0)


def test_tolerance_psnr__image__higher_is_closer():
    policy = TolerancePolicy({"kind": "image-rgb8", "scale": 1}, "psnr", 40.0)
    image = np.arange(192, dtype=np.uint8).tobytes()
    one_off = bytearray(image)
    one_off[0] ^= 1
    assert policy.judge(image, image) == verification.Verdict(True, math.inf)
    close = policy.judge(bytes(one_off), image)
    assert close.agrees and close.distance > 60
    noisy = (np.frombuffer(image, np.uint8).astype(int) + 40).clip(0, 255).astype(np.uint8).tobytes()
    far = policy.judge(noisy, image)
    assert not far.agrees and far.distance < 40


def test_tolerance__garbage_result__disagrees():
    policy = TolerancePolicy(EMB, "max_abs", 1e-5)
    verdict = policy.judge(b"\x00\x01\x02", emb([1, 2, 3, 4]))  # not a multiple of 4 bytes
    assert not verdict.agrees and verdict.distance == math.inf


def test_tolerance__other_length__disagrees():
    policy = TolerancePolicy(EMB, "max_abs", 1e-5)
    assert not policy.judge(emb([1, 2, 3]), emb([1, 2, 3, 4])).agrees


def test_tolerance__class_probabilities__compared_as_vectors():
    policy = TolerancePolicy(PROBS, "max_abs", 0.0015)
    a = canonical.encode(PROBS["kind"], 1000, np.array([[0.1, 0.9]]))[0]
    b = canonical.encode(PROBS["kind"], 1000, np.array([[0.101, 0.899]]))[0]
    c = canonical.encode(PROBS["kind"], 1000, np.array([[0.2, 0.8]]))[0]
    assert policy.judge(b, a).agrees and not policy.judge(c, a).agrees


def test_within_tolerance__exact_block__raises():
    with pytest.raises(PolicyError, match="not a tolerance policy"):
        verification.within_tolerance(EMB, {"policy": "exact"}, b"", b"")


# ---------------------------------------------------------------- tampering


def test_tamper_parse__bad_inputs__raise():
    for text, reason in (("zero", "unknown tamper mode"), ("noise", "positive sigma"), ("noise:x", "not a number")):
        with pytest.raises(NeuralCommonsError, match=reason):
            Tamper.parse(text)


def test_tamper_noise__embedding__unit_length_and_beyond_the_minilm_bound():
    ref = emb([1, 2, 3, 4])
    noisy = Tamper.parse("noise:1e-4").apply(("embedding-int32", EMB["scale"]), ref, 7)
    vector = canonical.decode_embedding(EMB["scale"], noisy)
    assert abs(np.linalg.norm(vector) - 1) < 1e-6
    assert not TolerancePolicy(EMB, "max_abs", 5e-6).judge(noisy, ref).agrees


def test_tamper_noise__same_index__same_bytes():
    tamper = Tamper.parse("noise:1e-3")
    ref = emb([1, 2, 3, 4])
    encoding = ("embedding-int32", EMB["scale"])
    assert tamper.apply(encoding, ref, 3) == tamper.apply(encoding, ref, 3) != tamper.apply(encoding, ref, 4)


# ---------------------------------------------------------------- verifier: sampling, commitments, state


def test_sampled__rate_follows_sample_bps():
    secret = bytes(range(32))
    hits = sum(sampled(secret, i, 500) for i in range(20_000))
    assert 800 < hits < 1200  # 5 % of 20,000 = 1,000
    assert not any(sampled(secret, i, 0) for i in range(1000))
    assert all(sampled(secret, i, 10_000) for i in range(1000))


def test_sampled__other_secret__other_requests():
    a = {i for i in range(5000) if sampled(b"\x01" * 32, i, 1000)}
    b = {i for i in range(5000) if sampled(b"\x02" * 32, i, 1000)}
    assert a != b and len(a & b) < len(a) / 2  # independent draws overlap ~10 %


def test_state__saved_and_loaded__secret_and_salts_survive(tmp_path):
    path = tmp_path / "verifier-state.json"
    state = VerifierState.load(path)
    assert len(bytes.fromhex(state.secret)) == 32
    state.disputes["3"] = {"subject": 5, "verdict": False, "salt": "11" * 32, "committed": True}
    state.save(path)
    again = VerifierState.load(path)
    assert again.secret == state.secret and again.disputes == state.disputes
    assert VerifierState.load(tmp_path / "other.json").secret != state.secret


# ---------------------------------------------------------------- settings and the bench's arithmetic


def test_settings__bad_tamper__refused_naming_the_variable():
    from offchain.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="NC_TAMPER: unknown tamper mode 'zero'"):
        load_settings(tamper="zero")
    assert load_settings(tamper="noise:1e-4").as_env()["NC_TAMPER"] == "noise:1e-4"
    assert "NC_TAMPER" not in load_settings().as_env()


def test_cheat_economics__five_percent_three_verifiers():
    from offchain.demos.verification_bench import cheat_economics, detection

    assert detection(500, 1) == pytest.approx(0.05)
    assert detection(500, 3) == pytest.approx(1 - 0.95**3)
    deterred = cheat_economics(500, 3, slash_wei=10 * 10**14, price_wei=10**14, compute_cost_wei=10**14)
    assert deterred["deterred"] and deterred["loss_over_gain"] == pytest.approx(detection(500, 3) * 11)
    assert not cheat_economics(500, 1, slash_wei=10**14, price_wei=10**14, compute_cost_wei=10**14)["deterred"]


def test_measure_digits__exact_policy__no_honest_dispute_every_tampering_caught():
    from offchain.demos.verification_bench import measure_digits

    measure = measure_digits(100, progress=lambda *_: None)
    assert measure.upheld == 0 and measure.honest_results == 4 * 100 + 100
    caught, total = measure.caught
    assert total > 100 and caught == total
