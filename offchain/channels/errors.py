"""Errors of the channel path."""

from __future__ import annotations

from offchain.errors import NeuralCommonsError


class CallRejected(NeuralCommonsError):
    """A paid call the worker will not serve; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class LedgerMismatch(NeuralCommonsError):
    """A ledger file that belongs to another contract or chain than the worker's."""
