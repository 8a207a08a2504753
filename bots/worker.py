"""The worker as a silverback bot, for live networks (anvil, testnets).

    NC_WORKER_DIR=/var/lib/nc-worker NC_RESULT_PORT=8601 NC_MODELS=digits \
        silverback run bots.worker:bot --runner bots.runner:WorkerRunner \
            --network ethereum:local:foundry --account <alias or TEST::n>

On every new block it runs one worker step: discover, claim, run, fulfil,
finalize. Its state lives in NC_WORKER_DIR, so a restarted bot resumes from
the chain. The attestation key is NC_SIGNER_KEY (hex), or the account's own
key for test accounts. All NC_* variables are read and checked by
`offchain.settings.Settings`; a bad one stops the bot at startup with one line.

The worker is built in `on_worker_startup` (in the process that runs the
steps, so the bot also works under silverback's distributed runner) and its
result server is stopped in `on_worker_shutdown`.

`bots.runner.WorkerRunner` is required: silverback's own runners end the bot, with exit
status 0, when no block comes for 10 s (the polling runner) or the RPC
connection drops (both), and the result server goes with it. This runner
follows blocks with `offchain.serve.BlockFollower`, which waits out quiet
chains and RPC outages, and exits non-zero only when the bot really failed
(startup, or steps failing more than `--max-exceptions` times in a row); a
SIGTERM or SIGINT stop exits 0.
"""

import asyncio
import logging
import threading

from ape import chain, project
from ape.logging import logger
from silverback import SilverbackBot

from bots.startup import rpc_failure, start_agent, stop_agent
from offchain.errors import transient
from offchain.serve import build_worker

log = logging.getLogger("neural_commons.worker")

bot = SilverbackBot()
worker = None  # the InferenceWorker of this silverback worker process, built at its startup
server = None  # its result server
_stepping = threading.Lock()  # one step at a time
_tickets = threading.Lock()
_asked = 0  # steps asked for (one per block)
_covered = 0  # the last ask a finished step started after


@bot.on_worker_startup()
def start(state):
    """Builds the worker (models checked against the chain and loaded, result server started)
    in the process that runs the steps: the bot's own with the in-memory broker, each
    silverback worker under the distributed runner."""
    global worker, server
    worker, server = start_agent(bot, "worker", lambda settings, account: build_worker(
        project, chain.provider, account, settings.signer(account), list(settings.models), settings.worker_dir,
        port=settings.result_port, tamper=settings.tamper))


@bot.on_worker_shutdown()
def stop(state):
    """Stops the result server and the input fetches with the worker process."""
    global worker, server
    stop_agent(worker, server)
    worker = server = None


@bot.on_(chain.blocks)
async def step(block):
    # In a thread: silverback calls handlers on its event loop, and a step waiting on a hung
    # node would stop the loop, and with it the block follower and the signal handling.
    return await asyncio.to_thread(_step, block.number)


def _step(number: int) -> None:
    """One worker step for a block, after the running one; skipped when a step that began
    after this block was seen has already run (blocks that come during a step share one).
    Logs one line when the step did something, nothing for an idle block (no metrics either:
    silverback prints each metric of each run on a line of its own)."""
    global _asked, _covered
    with _tickets:
        _asked += 1
        ticket = _asked
    with _stepping:
        if _covered >= ticket:
            return None
        with _tickets:
            starts_after = _asked
        agent = worker
        if agent is None:  # shutting down
            return None
        try:
            report = agent.step()
        except Exception as exc:
            if not transient(exc):
                raise
            log.warning("step at block %s failed on the RPC (%s); retrying on the next block", number,
                        rpc_failure(exc))
            return None
        _covered = starts_after
    if line := report.line(number):
        logger.info(line)
    return None
