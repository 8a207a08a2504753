"""minilm outputs under the tolerance policy: honest backends agree, tampered outputs are refused;
the text input schema and the embedding encoding."""

import copy

import numpy as np
import pytest
import torch

from offchain import canonical, inputs, verification
from offchain.errors import BadInput, NeuralCommonsError

SCALE = 100_000_000


@pytest.fixture(scope="module")
def sample(corpus):
    return corpus.texts(1200)[::19]  # 64 texts spread over the corpus


@pytest.fixture(scope="module")
def honest(minilm, sample):
    return minilm.infer(sample)


def decoded(results):
    return np.stack([canonical.decode_embedding(SCALE, r) for r in results])


def reencode(vectors):
    return canonical.encode("embedding-int32", SCALE, vectors)


def policy_verdicts(spec, results, references):
    return [verification.within_tolerance(spec.manifest["canonical_encoding"], spec.verification, r, ref)
            for r, ref in zip(results, references, strict=True)]


def test_policy__onnxruntime_vs_torch__all_within_bound(minilm_spec, minilm_torch, sample, honest):
    verdicts = policy_verdicts(minilm_spec, minilm_torch.infer(sample), honest)
    assert all(ok for ok, _ in verdicts)
    assert max(gap for _, gap in verdicts) < minilm_spec.verification["bound"] / 5  # a wide margin


def test_policy__batch_of_one_vs_batch_of_64__within_bound(minilm_spec, minilm, sample, honest):
    singles = [minilm.infer([text])[0] for text in sample[:8]]
    assert all(ok for ok, _ in policy_verdicts(minilm_spec, singles, honest[:8]))


@pytest.mark.parametrize("tamper", ["fp16 output", "noise 1e-5", "swapped inputs", "zero vector"])
def test_policy__tampered_output__refused(minilm_spec, honest, tamper):
    vectors = decoded(honest)
    rng = np.random.default_rng(3)
    if tamper == "fp16 output":
        vectors = vectors.astype(np.float16).astype(np.float64)
    elif tamper == "noise 1e-5":
        vectors = vectors + rng.normal(0, 1e-5, vectors.shape)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    elif tamper == "swapped inputs":
        vectors = np.roll(vectors, 1, axis=0)
    else:
        vectors = np.zeros_like(vectors)
    verdicts = policy_verdicts(minilm_spec, reencode(vectors), honest)
    assert not any(ok for ok, _ in verdicts)


def test_policy__fp16_weights__refused(minilm_spec, minilm_torch, sample, honest):
    cheap = copy.deepcopy(minilm_torch.backend.model)
    with torch.no_grad():
        for p in cheap.parameters():
            p.copy_(p.half().float())
    original, minilm_torch.backend.model = minilm_torch.backend.model, cheap
    try:
        results = minilm_torch.infer(sample[:16])
    finally:
        minilm_torch.backend.model = original
    verdicts = policy_verdicts(minilm_spec, results, honest[:16])
    assert not any(ok for ok, _ in verdicts)
    assert min(gap for _, gap in verdicts) > 4 * minilm_spec.verification["bound"]


@pytest.mark.parametrize("result", [b"", b"\x00" * 3, b"\x00" * 1532])
def test_policy__malformed_result__refused(minilm_spec, honest, result):
    ok, gap = verification.within_tolerance(minilm_spec.manifest["canonical_encoding"], minilm_spec.verification,
                                         result, honest[0])
    assert not ok and gap == float("inf")


def test_runtime_check__honest_and_tampered__judged(minilm, sample, honest):
    assert minilm.check(sample[0], honest[0])[0]
    assert not minilm.check(sample[0], honest[1])[0]


def test_encoding__int32_big_endian__round_trips():
    (data,) = canonical.encode("embedding-int32", SCALE, np.array([[0.6, -0.8, 0.0]]))
    assert data == (60_000_000).to_bytes(4, "big") + (-80_000_000).to_bytes(4, "big", signed=True) + bytes(4)
    assert canonical.decode("embedding-int32", SCALE, data) == {"embedding": [0.6, -0.8, 0.0]}


@pytest.mark.parametrize("outputs,match", [
    (np.array([[2.0, 0.0]]), "unit-length rows"),
    (np.array([[np.nan, 0.0]]), "unit-length rows"),
    (np.array([0.6, 0.8]), "unit-length rows"),
])
def test_encoding__not_unit_vectors__clear_error(outputs, match):
    with pytest.raises(NeuralCommonsError, match=match):
        canonical.encode("embedding-int32", SCALE, outputs)


def test_encoding__scale_out_of_range__clear_error():
    with pytest.raises(NeuralCommonsError, match="does not fit the int32 encoding"):
        canonical.encode("embedding-int32", 2**31, np.array([[1.0]]))


def test_within_tolerance__exact_policy_or_unknown_metric__clear_error(minilm_spec, honest):
    encoding = minilm_spec.manifest["canonical_encoding"]
    with pytest.raises(NeuralCommonsError, match="is not a tolerance policy"):
        verification.within_tolerance(encoding, {"policy": "exact"}, honest[0], honest[0])
    with pytest.raises(NeuralCommonsError, match="unknown verification metric 'l2'"):
        verification.within_tolerance(encoding, {"policy": "tolerance", "metric": "l2", "bound": 1}, honest[0], honest[0])


def test_parse_text__document__the_text(minilm_spec):
    assert inputs.parse(minilm_spec.input_schema, inputs.encode_text("Grüße, world")) == "Grüße, world"


@pytest.mark.parametrize("document,reason", [
    (b"not json", "input is not JSON"),
    (b'{"pixels": [1]}', "input must be a JSON object with a 'text' string"),
    (b'{"text": 7}', "input must be a JSON object with a 'text' string"),
    (b'{"text": "   "}', "'text' must not be empty"),
    (inputs.encode_text("x" * 2049), "'text' is 2049 characters; the model accepts at most 2048"),
    (b'{"text": "' + b"y" * 9000 + b'"}', "the model accepts at most 8192"),
])
def test_parse_text__bad_document__bad_input(minilm_spec, document, reason):
    with pytest.raises(BadInput, match=reason.replace("(", "\\(")):
        inputs.parse(minilm_spec.input_schema, document)


def test_runtime__long_text__truncated_to_max_tokens(minilm, sample):
    long = " ".join(sample)  # thousands of tokens
    ids = minilm.tokenizer.lengths_and_ids([long])[0]
    assert len(ids) == 256
    assert len(minilm.infer([long])[0]) == 384 * 4


def test_runtime__order_of_a_batch__kept(minilm, sample, honest):
    reordered = minilm.infer(sample[:10][::-1])[::-1]
    assert all(verification.distance("max_abs", a, b) < 1e-6
               for a, b in zip(decoded(reordered), decoded(honest[:10]), strict=True))
