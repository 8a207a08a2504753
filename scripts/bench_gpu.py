"""minilm on CUDA: the worker's runtime against raw ONNX Runtime CUDA (see offchain/demos/gpu.py).

    ape run bench_gpu [--sizes 1,8,32,64,128] [--rounds 20] [--out gpu.md]
    python -m offchain.demos.gpu ...           # the same, without ape

Without CUDA it stops with one line and exit status 1.
"""

from offchain.demos.gpu import cli

__all__ = ["cli"]
