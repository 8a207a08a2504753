"""The `ape run` scripts driven in-process (click's CliRunner) against the embedded chain: a deployment
with the digits model listed and a staked worker, written where the scripts look for it."""

import importlib.util
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from offchain.demos.inference import prepare, stake
from offchain.deploy import save_deployment
from offchain.models import load_spec

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
COMMANDS = sorted(p.stem for p in SCRIPTS.glob("*.py") if not p.stem.startswith("_"))


def load_script(name: str):
    """The script module, imported the way `ape run NAME` imports it (once per test session)."""
    key = f"nc_script_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, SCRIPTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


class Ran:
    def __init__(self, result):
        self.code = result.exit_code
        self.out = result.output
        self.exception = result.exception

    def error_lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def run_cli():
    """Runs `ape run SCRIPT ARGS...` in this process; returns the exit code and the output (stdout + stderr)."""

    def run(script: str, *args: str) -> Ran:
        return Ran(CliRunner().invoke(load_script(script).cli, list(args)))

    return run


@pytest.fixture(scope="module")
def cli_system(project, accounts, tmp_path_factory):
    """A deployment written to a temporary folder: digits listed as model 1, accounts[5] a staked worker,
    the deployer (the scripts' default account) delegated to itself."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NC_DEPLOYMENTS_DIR", str(tmp_path_factory.mktemp("deployments")))
    d, model_id = prepare(project, accounts, load_spec("digits"))
    stake(d, accounts[0], accounts[5], "http://127.0.0.1:9")
    d.GovernanceToken.invoke_transaction("delegate", accounts[0], sender=accounts[0])
    save_deployment(d)
    yield d
    mp.undo()
