"""`ape run deploy --network ethereum:local:foundry` with no node running: ape would start an anvil for
this command alone and the deployment record would outlive the chain. The command refuses instead."""

import os
import subprocess
import sys

from tests.e2e.anvil import ANVIL_PORT, ROOT, wait_for_port_free


def test_deploy__no_node_running__one_line_error_and_no_record(tmp_path):
    assert wait_for_port_free(ANVIL_PORT, seconds=15), "a node is running on the anvil port"
    env = {**os.environ, "NC_DEPLOYMENTS_DIR": str(tmp_path)}
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}"
    result = subprocess.run(["ape", "run", "deploy", "--network", "ethereum:local:foundry"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert result.returncode == 1, output
    assert len(errors) == 1 and "no node is running at" in errors[0] and "make anvil" in errors[0], output
    assert "Traceback" not in output
    assert list(tmp_path.iterdir()) == []
    assert wait_for_port_free(ANVIL_PORT, seconds=15)
