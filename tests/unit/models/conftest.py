"""Fixtures of the real-model tests: minilm loaded once per session (ONNX Runtime and PyTorch).

The ONNX graph is built from the installed package at most once (into .cache/, keyed by the
package version) and reused by every later session."""

import sys

import pytest

from offchain.models import load_spec
from offchain.runtime import load_runtime


@pytest.fixture(scope="session")
def minilm_spec():
    return load_spec("minilm")


@pytest.fixture(scope="session")
def minilm(minilm_spec):
    """The ONNX Runtime model, as a worker runs it."""
    return load_runtime(minilm_spec)


@pytest.fixture(scope="session")
def minilm_torch(minilm_spec):
    """The PyTorch reference, built from the package's weights."""
    return load_runtime(minilm_spec, "torch")


@pytest.fixture(scope="session")
def corpus(minilm_spec):
    sys.path.insert(0, str(minilm_spec.folder))
    import corpus

    return corpus
