"""The worker as a silverback bot, for live networks (anvil, testnets).

    NC_WORKER_DIR=/var/lib/nc-worker NC_RESULT_PORT=8601 NC_MODELS=digits \
        silverback run bots.worker:bot --network ethereum:local:foundry --account <alias or TEST::n>

On every new block it runs one worker step: discover, claim, run, fulfil,
finalize. Its state lives in NC_WORKER_DIR, so a restarted bot resumes from
the chain. The attestation key is NC_SIGNER_KEY (hex), or the account's own
key for test accounts.
"""

import os
from pathlib import Path

from ape import chain, project
from silverback import SilverbackBot

from offchain.serve import build_worker

bot = SilverbackBot()
worker = None


@bot.on_startup()
def start(startup_state):
    global worker
    account = bot.signer
    key = os.environ.get("NC_SIGNER_KEY") or account.private_key
    worker, server = build_worker(
        project,
        chain.provider,
        account,
        key,
        os.environ.get("NC_MODELS", "digits").split(","),
        Path(os.environ.get("NC_WORKER_DIR", ".cache/worker")),
        port=int(os.environ.get("NC_RESULT_PORT", "0")),
    )
    print(f"worker {account.address} serving results at {server.url}", flush=True)


@bot.on_(chain.blocks)
def step(block):
    report = worker.step()
    return {"claimed": report.claimed, "fulfilled": report.fulfilled, "finalized": report.finalized,
            "rejected": report.rejected}
