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
