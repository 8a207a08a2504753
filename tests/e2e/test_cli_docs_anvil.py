"""docs/commands.md's recipes run as printed, line by line through bash, against one fresh anvil node prepared by
the doc's own first block. A line marked "terminal 2" (or 3, 4) starts a server or a bot: it runs in the
background until its HTTP port answers, and is stopped when its block ends. A placeholder such as
`<channel-id>` becomes the id the command before printed, as a reader would copy it."""

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from offchain.localnet import stop_group
from tests.e2e.anvil import ROOT, running_anvil

DOC = ROOT / "docs" / "commands.md"
SETUP = 'N="--network ethereum:local:foundry"'

# Every `sh` block of docs/commands.md is a recipe run here, by its section.
SECTIONS = ("Commands: every user's job from a terminal", "Getting NCOM", "Listing your own model",
            "Running a worker on a real network", "Opening a payment channel", "The treasury and governance",
            "Paying for inference", "Minting image NFTs")
# What a reader copies from a command's output into the placeholder of a later one.
IDS = {"<channel-id>": r"channel (0x[0-9a-f]{64}) open", "<request-id>": r"request (\d+): paid",
       "<short-id>": r"proposal ([0-9a-f]{10}) submitted"}


def doc_blocks(heading: str, path=DOC) -> list[list[str]]:
    """Every sh block of section `heading` (a `#` or `##` heading) of `path`, as commands (continuations joined)."""
    text = path.read_text()
    match = re.search(rf"^#+ {re.escape(heading)}\n", text, flags=re.MULTILINE)
    assert match, f"{path.name} has no section '{heading}'"
    section = re.split(r"^## ", text[match.end():], maxsplit=1, flags=re.MULTILINE)[0]
    blocks = [part.split("```", 1)[0] for part in section.split("```sh\n")[1:]]
    return [[line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()] for block in blocks]


def sh_sections(path=DOC) -> set[str]:
    headings, current = set(), None
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            current = line.lstrip("#").strip()
        elif line.strip() == "```sh":
            headings.add(current)
    return headings


def test_docs__every_sh_block_of_commands_md__is_a_recipe_run_here():
    assert sh_sections() == set(SECTIONS)


def _command(line: str) -> str:
    """A recipe line as a comparable command: no comment, `$N` for the anvil network, single spaces."""
    line = re.sub(r"\s#.*$", "", line).replace("--network ethereum:local:foundry", "$N")
    return " ".join(line.split())


def test_docs__sh_blocks_of_the_other_docs__are_lines_run_here():
    """docs/*.md other than commands.md show recipes commands.md holds: each of their sh lines is one run here."""
    run_here = {_command(line) for heading in SECTIONS for block in doc_blocks(heading) for line in block}
    for path in sorted((ROOT / "docs").glob("*.md")):
        if path == DOC:
            continue
        for heading in sh_sections(path):
            for block in doc_blocks(heading, path):
                for line in block:
                    assert _command(line) in run_here, f"{path.name} ({heading}): '{line}' is not a recipe line " \
                                                       f"of docs/commands.md, which the anvil test runs"


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
    except urllib.error.HTTPError:
        return True  # the server answers (404 for /)
    except OSError:
        return False
    return True


class Recipes:
    """Runs recipe lines in bash with the doc's `N`, keeps the ids they print, and the background processes."""

    def __init__(self, env, logs, fills: dict[str, str] | None = None):
        """`fills`: placeholders a reader replaces with values of their own (not printed by an earlier line)."""
        self.env, self.logs, self.ids, self.background, self.started = env, logs, {}, [], 0
        self.fills = fills or {}

    def fill(self, line: str) -> str:
        for placeholder, value in {**self.fills, **self.ids}.items():
            line = line.replace(placeholder, value)
        assert "<" not in line.split("#", 1)[0], f"unfilled placeholder in: {line}"
        return line

    def run(self, line: str, expect: str) -> str:
        line = self.fill(line)
        began = time.monotonic()
        try:
            output = self._run(line, expect)
            for placeholder, pattern in IDS.items():
                if found := re.search(pattern, output):
                    self.ids[placeholder] = found.group(1)
            return output
        finally:
            print(f"[{time.monotonic() - began:.1f} s] {line}")

    def _run(self, line: str, expect: str) -> str:
        if "terminal " in line.split("#", 1)[-1]:
            return self.start(line, expect)
        result = subprocess.run(["bash", "-c", f"{SETUP}\n{line}"], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=240)
        output = result.stdout + result.stderr
        print(f"$ {line}\n{output}")  # shown with the failure
        assert result.returncode == 0, f"{line}\n{output}"
        assert "error:" not in output and "Traceback" not in output, f"{line}\n{output}"
        assert re.search(expect, output), f"{line}\nexpected /{expect}/ in:\n{output}"
        return output

    def start(self, line: str, expect: str) -> str:
        port = int(re.search(r"--(?:result-)?port (\d+)", line).group(1))
        self.started += 1
        log = self.logs / f"background-{self.started}.log"
        process = subprocess.Popen(["bash", "-c", f"{SETUP}\nexec {line}"], cwd=ROOT, env=self.env,
                                   stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        self.background.append((process, log))
        deadline = time.monotonic() + 120
        while not _answers(port):
            assert process.poll() is None, f"{line}\nexited with {process.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"{line}\nnot answering on port {port}:\n{log.read_text()}"
            time.sleep(0.5)
        output = log.read_text()
        assert "error:" not in output and "Traceback" not in output, f"{line}\n{output}"
        assert re.search(expect, output), f"{line}\nexpected /{expect}/ in:\n{output}"
        return output

    def stop_background(self) -> list[str]:
        outputs, failed = [], []
        for process, log in self.background:
            if process.poll() is not None:
                failed.append(f"exited with {process.returncode} before it was stopped:\n{log.read_text()}")
            else:
                stop_group(process, timeout=30)
            outputs.append(log.read_text())
            if "Traceback" in outputs[-1]:
                failed.append(outputs[-1])
        self.background = []
        assert not failed, "\n".join(failed)
        return outputs

    def block(self, lines: list[str], expects: list[str]) -> list[str]:
        assert len(lines) == len(expects), lines
        try:
            return [self.run(line, expect) for line, expect in zip(lines, expects, strict=True)]
        finally:
            self.stop_background()


def recipe_env(tmp_path_factory, path=DOC, headings=SECTIONS) -> dict[str, str]:
    """The environment the recipes of `path` run in: deployments and payer state in temporary folders, the
    project's tools on PATH, and the bots' state folders the recipes name (under .cache/) empty, as on a first run."""
    env = {**os.environ, "NC_DEPLOYMENTS_DIR": str(tmp_path_factory.mktemp("deployments")),
           "NC_PAYER_STATE": str(tmp_path_factory.mktemp("payer")),
           "NC_CHANNEL_STATE": str(tmp_path_factory.mktemp("channels"))}
    for heading in headings:
        for block in doc_blocks(heading, path):
            for folder in re.findall(r"--dir (\S+)", " ".join(block)):
                assert folder.startswith(".cache/nc-"), folder
                shutil.rmtree(ROOT / folder, ignore_errors=True)
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}"
    return env


@pytest.fixture(scope="module")
def recipes(tmp_path_factory):
    env = recipe_env(tmp_path_factory)
    with running_anvil():
        runner = Recipes(env, tmp_path_factory.mktemp("logs"))
        [setup] = doc_blocks(SECTIONS[0])
        assert setup[0].split("#")[0].strip() == SETUP
        runner.block(setup[1:], [r"wrote .*; model 1; 2 workers staked"])
        yield runner


def test_docs__running_a_worker__runs_as_printed(recipes):
    work, verify, leave = doc_blocks("Running a worker on a real network")
    recipes.block(work, [
        r"registered with 1,000 NCOM staked",
        r"stake \(NCOM\)\s*│\s*1,000\s[\s\S]*endpoint\s*│\s*http://127\.0\.0\.1:8700\s",
        r"NC_MODELS=digits NC_WORKER_DIR=\.cache/nc-worker NC_RESULT_PORT=8611 silverback run bots\.worker:bot "
        r"--runner bots\.runner:WorkerRunner --network ethereum:local:foundry --account TEST::0",
        r"serving paid calls on http://127\.0\.0\.1:8700",
        r"signer of 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 is now 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720\n"
        r"what the old key signed binds you until \S+ \S+ UTC \(in 7d\)",
    ])
    recipes.block(verify, [r"joined the verifier pool of digits \(model 1\)[\s\S]*silverback run bots\.verifier:bot"])
    recipes.block(leave, [r"unbonding: withdraw from .* \(in 7d\)", r"advanced 7d", r"withdrew 1,000 NCOM"])


def test_docs__opening_a_payment_channel__runs_as_printed(recipes):
    [lines] = doc_blocks("Opening a payment channel")

    outputs = []
    expects = [r"serving paid calls on http://127\.0\.0\.1:8601", r"channel (0x[0-9a-f]{64}) open",
               r"predicted class\s*│\s*4\s",
               # pays 5 calls ahead: 0.001 + 0.005 signed, 0.004 of it not yet used
               r"paid so far \(ETH\)\s*│\s*0\.006000\s[\s\S]*prepaid credit left \(ETH\)\s*│\s*0\.004000\s",
               r"paid so far \(ETH\)\s*│\s*0\.006000\s[\s\S]*prepaid credit left \(ETH\)\s*│\s*0\.003000\s",
               r"signed by you \(ETH\)\s*│\s*0\.006000\s[\s\S]*paid ahead, not yet used \(ETH\)\s*│\s*0\.003000\s",
               r"deposit 0\.100000 ETH", r"│\s*1\s*│\s*0\.100000\s*│\s*open", r"close requested", r"advanced 1h",
               r"closed: 0\.094000 ETH credited to you", r"withdrew 0\.094000 ETH"]
    try:
        for line, expect in zip(lines, expects, strict=True):
            if "dao advance" in line:
                # The worker's API settles the channel on shutdown, or at a tick that saw the close request just
                # before it (then nothing is left at shutdown); the refund below shows what was settled: the
                # calls and the credit not used, 0.006 ETH.
                [log] = recipes.stop_background()
                assert re.search(r"settled (6000000000000000|0) wei on shutdown", log), log
            outputs.append(recipes.run(line, expect))
    finally:
        recipes.stop_background()


ONE_BLOCK_SECTIONS = {  # heading -> what its one block prints, in order (run in this order: each builds on the last)
    "Getting NCOM": [
        r"NCOM\s*│\s*[\d,]+\s", r"sent 1,000\.000000 NCOM to 0x976EA74026E726554dB657fA54763abd0C3a0aa9",
        r"delegates to 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266: [\d,]+ votes", r"Bounties",
        r"[0-9.]+ ETH of revenue owed[\s\S]*withdrew [0-9.]+ ETH of revenue"],
    "Listing your own model": [
        r"model 3 \(pixels\) registered: pending", r"3\s*│\s*pending \(awaits DAO approval\)",
        r"proposal ([0-9a-f]{10}) submitted", r"status\s*│\s*pending[\s\S]*metadata\s*│\s*models/pixels",
        r"model 3: 0\.001000 -> 0\.002000 ETH per inference", r"model 4: version of 3, pending"],
    "The treasury and governance": [
        r"ETH owed by the contracts\s*│\s*0\.000\d+", r"PaymentChannels\s*│\s*0\.000\d+",
        r"PaymentChannels: 0\.000\d+ ETH to the treasury", r"the treasury now holds 3\.000\d+ ETH",
        r"proposal [0-9a-f]{10} submitted[\s\S]*critical\s*│\s*yes"],
}


@pytest.mark.parametrize("heading", ONE_BLOCK_SECTIONS)
def test_docs__one_block_section__runs_as_printed(recipes, heading):
    [lines] = doc_blocks(heading)
    recipes.block(lines, ONE_BLOCK_SECTIONS[heading])


def test_docs__paying_for_inference__runs_as_printed(recipes):
    served, refunded = doc_blocks("Paying for inference")
    recipes.block(served, [
        r"silverback run bots\.worker:bot",
        r"request (\d+): paid 0\.001050 ETH for model 1[\s\S]*predicted class\s*│\s*4\s",
        r"verified\s*│\s*yes",
        r"│\s*1\s*│\s*1\s*│\s*0\.001050\s*│\s*fulfilled",
        r"request \d+: paid [0-9.]+ ETH to score 0x5FbDB2315678afecb367f032d93F642f64180aa3[\s\S]*"
        r"recomputed here\s*│\s*within the model's tolerance[\s\S]*risk\s*│\s*[\d.]+ %",
    ])
    recipes.block(refunded, [r"request (\d+): paid 0\.001050 ETH for model 1", r"advanced 11m",
                             r"refunded: 0\.001050 ETH owed[\s\S]*withdrew 0\.001050 ETH"])


def test_docs__minting_image_nfts__runs_as_printed(recipes):
    """Last: its first line prepares a fresh deployment with the pixels model and its collection."""
    [lines] = doc_blocks("Minting image NFTs")
    recipes.block(lines, [r"model 2 \(pixels\) listed; NFTMinter at 0x", r"request 1: paid 0\.001750 ETH for digit 3",
                          r"advanced 2h", r"request 1 reclaimed: 0\.001750 ETH back to 0xf39F"])
