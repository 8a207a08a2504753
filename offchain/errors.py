"""Typed errors with messages a user can act on; CLIs print them as one line."""


class NeuralCommonsError(Exception):
    """Base class of every error this package raises on purpose."""


class DeploymentNotFound(NeuralCommonsError):
    """No deployment file for the network a tool was pointed at."""


class ProposalError(NeuralCommonsError):
    """A proposal could not be built, found or acted on."""
