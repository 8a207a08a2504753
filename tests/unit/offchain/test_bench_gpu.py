"""The prepared GPU benchmark refuses to run without CUDA, in one line."""

import os
import subprocess
import sys
from pathlib import Path

import onnxruntime
import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif("CUDAExecutionProvider" in onnxruntime.get_available_providers(), reason="CUDA is here")
def test_bench_gpu__no_cuda__one_line_and_exit_status_1():
    result = subprocess.run([sys.executable, "-m", "offchain.demos.gpu"], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("bench_gpu: no CUDA here (ONNX Runtime ")
