"""Typed errors with messages a user can act on; CLIs print them as one line."""


class NeuralCommonsError(Exception):
    """Base class of every error this package raises on purpose."""


class DeploymentNotFound(NeuralCommonsError):
    """No deployment file for the network a tool was pointed at."""


class ProposalError(NeuralCommonsError):
    """A proposal could not be built, found or acted on."""


class ArtifactMismatch(NeuralCommonsError):
    """Model bytes whose keccak256 differs from what the registry or manifest says."""


class ModelNotFound(NeuralCommonsError):
    """No manifest or artifact for the model asked for."""


class BadInput(NeuralCommonsError):
    """An inference input that cannot be processed: wrong shape, type, size or hash.

    The worker logs the reason and leaves the request to the refund path."""


class ResultMismatch(NeuralCommonsError):
    """A fetched result whose hash differs from the hash attested on-chain."""


class InvalidInput(NeuralCommonsError):
    """A command-line value that cannot be used (an amount, a duration, an id, a file): says what to type."""


class RequestRefunded(NeuralCommonsError):
    """A market request that ended refunded: no worker delivered in time, or its result was overturned."""

    def __init__(self, request_id: int, state: int):
        super().__init__(f"request {request_id} ended in state {state} (refunded)")
        self.request_id = request_id
        self.state = state


class RequestTimedOut(NeuralCommonsError, TimeoutError):
    """A request not fulfilled within the time the caller was willing to wait (it may still be)."""

    def __init__(self, request_id: int, timeout: float):
        super().__init__(f"request {request_id} not fulfilled within {timeout} s")
        self.request_id = request_id
        self.timeout = timeout


class ResultUnavailable(NeuralCommonsError):
    """A result that cannot be had: no fulfilment on this chain, or the worker's server does not serve it."""


class UnknownBackend(NeuralCommonsError, ValueError):
    """A model runtime backend this package does not have."""


def transient(exc: BaseException) -> bool:
    """Whether `exc` is, or wraps, a failure of the connection to the node (the step is retried on the next
    block), not a refusal by the chain. ape wraps some of them (a read timeout while estimating a
    transaction's gas) in its own error types; a worker must wait those out too, not stop as if the chain had
    refused it, nor take them for a refusal."""
    from ape.exceptions import ProviderError

    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (ProviderError, OSError, TimeoutError)):
            return True
        seen.add(id(exc))
        exc = getattr(exc, "base_err", None) or exc.__cause__ or exc.__context__
    return False
