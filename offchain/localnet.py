"""Worker bot processes on a local node: started, watched and stopped by the
anvil demo, the anvil tests and the worker benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from offchain.errors import NeuralCommonsError
from offchain.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


def stop_group(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM to the process's group (started with `start_new_session=True`); SIGKILL when it has
    not exited within `timeout` seconds."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class BotProcess:
    account_index: int
    port: int
    workdir: Path
    process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "bot.log"

    bot: str = "bots.worker:bot"  # or "bots.verifier:bot"
    models: str = "digits"
    tamper: str | None = None  # tests only: a cheating worker (offchain.tamper)

    def start(self, network: str = "ethereum:local:foundry", models: str | None = None) -> "BotProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        settings = load_settings(worker_dir=self.workdir, result_port=self.port, models=models or self.models,
                                 tamper=self.tamper)
        env = {**os.environ, **settings.as_env(), "PYTHONUNBUFFERED": "1"}
        silverback = Path(sys.executable).parent / "silverback"
        command = [str(silverback), "run", self.bot, "--runner", "bots.runner:WorkerRunner",
                   "--network", network, "--account", f"TEST::{self.account_index}"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log_path.open("ab"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        """Until the bot's result server answers (it starts after the model loaded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NeuralCommonsError(f"worker bot exited with {self.process.returncode}: see {self.log_path}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=1)
            except urllib.error.HTTPError:
                return  # the server answers (404 for /): ready
            except OSError:
                time.sleep(0.5)
        raise NeuralCommonsError(f"worker bot not ready within {timeout} s: see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: a crash, not a shutdown."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            stop_group(self.process, timeout=15)


@contextmanager
def running(*bots: BotProcess, timeout: float = 90) -> Iterator[tuple[BotProcess, ...]]:
    """Starts every bot and waits until each one's result server answers; stops them all on the
    way out, also when one fails to start."""
    try:
        for bot in bots:
            bot.start()
        for bot in bots:
            bot.wait_ready(timeout=timeout)
        yield bots
    finally:
        for bot in bots:
            bot.stop()
