"""README's terminal recipes run as printed, line by line through bash, against a fresh anvil node."""

import os
import re
import subprocess
import sys

import pytest

from tests.e2e.anvil import ROOT, running_anvil

# Placeholders a reader fills in; <short-id> becomes the id the last `dao propose` printed.
FILL = {"0xRecipient": "0x" + "12" * 20, "0xValidator1": "0x" + "34" * 20, "0xValidator2": "0x" + "56" * 20,
        "[<short-id>] [--full-ids]": "<short-id>"}


def readme_blocks(heading: str) -> list[list[str]]:
    """Every sh block of README.md's section `heading`, as commands (continuation lines joined)."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = [part.split("```", 1)[0] for part in section.split("```sh\n")[1:]]
    return [[line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()] for block in blocks]


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    deployments = tmp_path_factory.mktemp("deployments")
    env = {**os.environ, "NC_DEPLOYMENTS_DIR": str(deployments)}
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}"

    def run(script: str) -> str:
        result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=180)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{script}\n{output}"
        assert "error:" not in output and "Traceback" not in output, f"{script}\n{output}"
        return output

    with running_anvil():
        run("ape run deploy --network ethereum:local:foundry")
        yield run


def test_readme__governing_from_a_terminal__runs_as_printed(shell):
    blocks = readme_blocks("Governing from a terminal")
    assert len(blocks) == 2
    setup = blocks[0][0]
    assert setup == 'N="--network ethereum:local:foundry"'
    short_id, outputs = None, []
    for line in blocks[0][1:] + blocks[1]:
        for placeholder, value in FILL.items():
            line = line.replace(placeholder, value)
        if "<short-id>" in line:
            line = line.replace("<short-id>", short_id)
        outputs.append(shell(f"{setup}\n{line}"))
        if "dao propose" in line:
            short_id = re.search(r"proposal ([0-9a-f]{10}) submitted", outputs[-1]).group(1)
        if "dao execute" in line:
            assert re.search(r"state\s*│\s*Executed", outputs[-1]), outputs[-1]
    assert sum("dao execute" in line for block in blocks for line in block) == 2
