"""Features of EVM runtime bytecode for the contract-risk model (`models/risk`).

A pure function of the code bytes, shared by the build (training), the worker
and every verifier, so all of them feed the graph the same numbers:

    [0, 256)              log(1 + count) of each opcode byte (PUSH data skipped)
    [256, 256 + 512)      log(1 + count) of opcode bigrams, hashed into 512 buckets
    [768, 768 + 8)        patterns: CALLER near EQ (an owner compare), CALLER hashed
                          as a mapping key (a role/blacklist lookup), SELFDESTRUCT,
                          DELEGATECALL, CALL with value (ETH sent), SSTORE count,
                          JUMPI count, all log(1 + n)
    [776]                 log(1 + code length in bytes)

Version 1; the manifest records `features: {"extractor": "offchain.bytecode", "version": 1, "dim": 777}`.
"""

from __future__ import annotations

import numpy as np

VERSION = 1
OPCODES = 256
BIGRAMS = 512
PATTERNS = 8
DIM = OPCODES + BIGRAMS + PATTERNS + 1

PUSH1, PUSH32 = 0x60, 0x7F
CALLER, EQ, SHA3, MSTORE = 0x33, 0x14, 0x20, 0x52
SELFDESTRUCT, DELEGATECALL, CALL, SSTORE, JUMPI, CALLVALUE = 0xFF, 0xF4, 0xF1, 0x55, 0x57, 0x34
NEAR = 6  # opcodes: how close CALLER and EQ must be to count as a compare


def opcodes(code: bytes) -> list[int]:
    """The opcode stream of `code`, PUSH immediates skipped."""
    ops, i, n = [], 0, len(code)
    while i < n:
        op = code[i]
        ops.append(op)
        i += 1 + (op - PUSH1 + 1 if PUSH1 <= op <= PUSH32 else 0)
    return ops


def features(code: bytes) -> np.ndarray:
    """The model input (float32, `DIM`) of runtime bytecode `code`."""
    ops = opcodes(bytes(code))
    counts = np.bincount(np.asarray(ops, dtype=np.int64), minlength=OPCODES).astype(np.float64) if ops else \
        np.zeros(OPCODES)
    bigrams = np.zeros(BIGRAMS)
    if len(ops) > 1:
        arr = np.asarray(ops, dtype=np.int64)
        np.add.at(bigrams, (arr[:-1] * 257 + arr[1:]) % BIGRAMS, 1.0)
    caller_eq = caller_key = 0
    for i, op in enumerate(ops):
        if op != CALLER:
            continue
        window = ops[max(0, i - NEAR) : i + NEAR + 1]
        caller_eq += EQ in window
        caller_key += SHA3 in ops[i : i + NEAR + 1] and MSTORE in ops[i : i + NEAR + 1]
    patterns = np.asarray([caller_eq, caller_key, counts[SELFDESTRUCT], counts[DELEGATECALL],
                           _value_calls(ops), counts[SSTORE], counts[JUMPI], counts[CALLVALUE]], dtype=np.float64)
    out = np.concatenate([np.log1p(counts), np.log1p(bigrams), np.log1p(patterns), [np.log1p(len(code))]])
    return out.astype(np.float32)


def _value_calls(ops: list[int]) -> int:
    """CALLs preceded (within a few opcodes) by SELFBALANCE or CALLVALUE-free value setup: a rough count of
    ETH-sending calls (Vyper's `send` and `raw_call(..., value=...)` compile to CALL)."""
    return sum(1 for i, op in enumerate(ops) if op == CALL and 0x47 in ops[max(0, i - 12) : i])
