"""The silverback runner of the worker bot (`--runner bots.runner:WorkerRunner`).

silverback 0.7's own runners end a bot, with exit status 0, when no block
comes for 10 s (the polling runner: ape's `poll_blocks` gives up on local
networks after 10 s, on live ones after 50 block times) or when the RPC
connection drops (both runners); the worker's result server goes with it.
This runner follows blocks with `offchain.serve.BlockFollower`, which waits
out quiet chains and RPC outages, and exits non-zero only when the bot really
failed: at startup, or with steps failing more than `--max-exceptions` times
in a row. A SIGTERM or SIGINT stop exits 0.

Its own module, without a bot in it: silverback imports the runner before it
connects to the network, and a module that builds a `SilverbackBot` needs the
connection.
"""

import asyncio
import logging
import re

from ape.logging import logger
from silverback.runner import PollingRunner

from offchain.serve import BlockFollower

current = None  # the WorkerRunner running in this process, once one is

# silverback's middleware logs two lines per task run ("<task>[labels] - Started" and "<task>[labels] -
# 0.003s (0.1%)"): one block handler run per block, so two lines per idle block. The worker logs one line
# itself when a step did something; errors and warnings pass untouched.
_TASK_CHATTER = re.compile(r"^[\w:.\-]+(\[[^\]]*\])? - (Started|\d+\.\d{3}s( \(\d+(\.\d+)?%\))?)$")


class QuietTasks(logging.Filter):
    """Drops silverback's per-task start and duration lines below WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not _TASK_CHATTER.match(record.getMessage())


def quiet_task_logs() -> None:
    """Installs `QuietTasks` on ape's logger (silverback logs through it), once."""
    target = logging.getLogger("ape")
    if not any(isinstance(f, QuietTasks) for f in target.filters):
        target.addFilter(QuietTasks())


class WorkerRunner(PollingRunner):
    """silverback's polling runner with a block source that never gives up and an
    exit status that tells a requested stop (0) from a failure (1)."""

    def __init__(self, *args, **kwargs):
        global current
        super().__init__(*args, **kwargs)
        quiet_task_logs()
        current = self

    async def _block_task(self, task_data):
        follower = BlockFollower(self.provider)
        while True:
            block = await asyncio.to_thread(follower.poll)
            if block is not None:
                self._runtime_task_group.create_task(self.run_task(task_data, block))
            await asyncio.sleep(follower.wait_s)

    async def run(self):
        try:
            await super().run()
        except Exception as exc:  # startup failed: the worker never ran
            logger.error(f"worker bot failed: {exc}")
            raise SystemExit(1) from exc
        if not self.shutdown_event.is_set():  # no stop was asked for: a task failed for good
            logger.error("worker bot stopped by the failure above; exiting with status 1")
            raise SystemExit(1)
