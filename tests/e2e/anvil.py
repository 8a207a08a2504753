"""Starts and stops a real anvil node for tests that need separate processes."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from offchain.localnet import stop_group

ROOT = Path(__file__).resolve().parents[2]
ANVIL_PORT = 8545  # the host ape-config.yaml gives the foundry provider


def anvil_binary() -> str:
    # The native binary, not node_modules/.bin/anvil: that is a node wrapper which,
    # on SIGTERM, forwards the signal and exits at once, so waiting for it returned
    # while anvil still held the port and the next test module found it busy.
    native = sorted((ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))
    found = str(native[0]) if native else shutil.which("anvil")
    if not found:
        raise RuntimeError("anvil not found: run `make setup` (it installs @foundry-rs/anvil from package.json)")
    return found


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port_free(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while port_in_use(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def rpc(method: str, params: list | None = None, port: int = ANVIL_PORT):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["result"]


@contextmanager
def running_anvil(port: int = ANVIL_PORT):
    # A node stopped by the previous test module may still be letting go of the port.
    if not wait_for_port_free(port, seconds=15):
        raise RuntimeError(f"port {port} is busy: stop the node there before running the anvil tests")
    process = subprocess.Popen(
        [anvil_binary(), "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so stopping it reaches any child
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                rpc("eth_chainId", port=port)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("anvil did not start within 30 s") from None
                time.sleep(0.2)
        yield port
    finally:
        stop_group(process, timeout=10)
        if not wait_for_port_free(port, seconds=15):
            raise RuntimeError(f"anvil stopped but port {port} is still in use")
