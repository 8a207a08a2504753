"""The verifier as a silverback bot, beside the worker bot (`bots/worker.py`).

    NC_WORKER_DIR=/var/lib/nc-verifier NC_RESULT_PORT=8701 NC_MODELS=minilm \
        silverback run bots.verifier:bot --runner bots.runner:WorkerRunner \
            --network ethereum:local:foundry --account <alias or TEST::n>

The account must be an active worker (it posts challenge bonds and sits on
committees) and have joined the models' verifier pools in the DisputeCourt
(`ape run worker verify --models minilm` does both checks, joins and prints
this command). On every new block it runs one verifier step
(`offchain.verifier.Verifier.step`): re-execute the sampled fulfilled
requests, challenge wrong results (serving its own result by hash from its
result server), and for disputes of its models (market requests, and
channel receipts judged from the evidence their challenger published) draw,
commit, reveal and settle when due. Its state (the sampling secret, salts and verdicts it
committed to) lives in NC_WORKER_DIR/verifier-state.json, so a restart
neither loses a reveal nor commits twice. The same NC_* settings as the worker
bot (`offchain.settings`), and the same runner: it waits out quiet chains and
RPC outages.
"""

import asyncio
import logging
import threading

from ape import chain, project
from silverback import SilverbackBot

from bots.startup import rpc_failure, start_agent, stop_agent
from offchain.errors import transient
from offchain.serve import build_verifier

log = logging.getLogger("neural_commons.verifier")

bot = SilverbackBot()
verifier = None  # the Verifier of this silverback worker process, built at its startup
server = None  # its result server (the results it challenges with)
_stepping = threading.Lock()  # one step at a time


@bot.on_worker_startup()
def start(state):
    """Builds the verifier (models checked against the chain and loaded, result server started)."""
    global verifier, server
    verifier, server = start_agent(bot, "verifier", lambda settings, account: build_verifier(
        project, chain.provider, account, list(settings.models), settings.worker_dir, port=settings.result_port))


@bot.on_worker_shutdown()
def stop(state):
    global verifier, server
    stop_agent(verifier, server)
    verifier = server = None


@bot.on_(chain.blocks)
async def step(block):
    # In a thread, as the worker bot: a step waiting on a hung node must not stop the event loop.
    return await asyncio.to_thread(_step, block.number)


def _step(number: int) -> dict:
    """One verifier step; blocks that come while a step runs are covered by the next one."""
    if not _stepping.acquire(blocking=False):
        return {"skipped": 1}
    try:
        agent = verifier
        if agent is None:
            return {"skipped": 1}
        try:
            report = agent.step()
        except Exception as exc:
            if not transient(exc):
                raise
            log.warning("verifier step at block %s failed on the RPC (%s); retrying on the next block", number,
                        rpc_failure(exc))
            return {"rpc_errors": 1}
        return {"sampled": report.sampled, "judged": report.judged, "challenged": report.challenged,
                "committed": report.committed, "revealed": report.revealed, "settled": report.settled}
    finally:
        _stepping.release()
