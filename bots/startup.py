"""Start-up, shutdown and RPC-failure handling shared by the worker and verifier bots."""

from taskiq import InMemoryBroker

from bots import runner
from offchain.errors import NeuralCommonsError
from offchain.settings import Settings, load_settings


def start_agent(bot, name: str, build) -> tuple:
    """Refuses silverback's own runners, reads the NC_* settings, builds the agent with
    `build(settings, account)` -> (agent, result server) and prints where it serves results."""
    if isinstance(bot.broker, InMemoryBroker) and runner.current is None:
        raise NeuralCommonsError(f"run the {name} bot with `--runner bots.runner:WorkerRunner`: silverback's own "
                                 "runners stop it when the chain is quiet for 10 s or the RPC connection drops")
    settings: Settings = load_settings()
    account = bot.signer
    agent, server = build(settings, account)
    print(f"{name} {account.address} serving results at {server.url}", flush=True)
    return agent, server


def stop_agent(agent, server) -> None:
    """Stops the result server and, where the agent has any, its background input fetches."""
    if server is not None:
        server.stop()
    if agent is not None and hasattr(agent, "close"):
        agent.close()


def rpc_failure(exc: BaseException) -> str:
    """The first line of a transient error (200 characters at most), or its type when it says nothing."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
