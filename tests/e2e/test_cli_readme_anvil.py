"""README.md's recipes run as printed, line by line through bash, with test_cli_docs_anvil's runner (servers and
bots in the background until they answer, ids copied from one line's output into the next), against one fresh
anvil node. A line a test cannot run as printed is in INSTEAD with the reason and the check that runs in its
place; a placeholder a reader fills with a value of their own is in FILLS. Nothing else is left out:
`test_readme__every_sh_line__is_run_or_has_a_reason` fails on any new line."""

import os
import re
import subprocess

import pytest

from tests.e2e.anvil import ANVIL_PORT, ROOT, running_anvil
from tests.e2e.test_cli_docs_anvil import SETUP, Recipes, _command, doc_blocks, recipe_env, sh_sections

README = ROOT / "README.md"
SECTIONS = ("Quickstart", "Open data and compute", "Workers and app builders", "Deploying",
            "Governing from a terminal", "Benchmarks")

# Placeholders a reader replaces with their own values: what the test puts there.
FILLS = {
    "<ecosystem:network:provider>": "ethereum:local:foundry",  # a real network needs an account holding ETH
    "<alias>": "TEST::0",
    "0xRecipient": "0x" + "12" * 20,
    "0xValidator1": "0x" + "34" * 20,
    "0xValidator2": "0x" + "56" * 20,
    "[<short-id>] [--full-ids]": "<short-id> --full-ids",  # both optional: the test gives both
}

# What a `make` target runs once set-up is done (`make -n -o setup -o compile TARGET`, asserted).
MAKE_RECIPES = {
    "demo": ["ape run demo"],
    "test": ["ape test tests/ -p no:cacheprovider"],
    "demo-all": ["ape run demo --models all"],
    "demo-anvil": ["ape run demo --network ethereum:local:foundry --workers 2"],
    "anvil": [f"anvil --port {ANVIL_PORT}"],
    "bench": ["ape run bench_governance", "ape run bench_market", "ape run bench_channels"],
}
SETS_UP = ("`make` first installs the pinned packages (pip into .venv, npm into node_modules), which a test must not "
           "do to the environment it runs in")

# README lines not run as printed (as `_command` writes them): why, and the (command, expected output) checks run
# in their place. A check of a `make` line is its recipe's command with options added at the end, never changed.
INSTEAD = {
    "make demo": (SETS_UP, [("ape run demo", r"Gas per request")]),
    "make test": (f"{SETS_UP}; and it is the whole suite, this test included: its recipe is checked only", []),
    "make demo-all": (f"{SETS_UP}; every model's section takes minutes (tests/integration/test_demo_all.py runs "
                      "them all): the recipe with the fewest requests and texts",
                      [("ape run demo --models all --requests 1 --texts 2", r"Demo sections")]),
    "make demo-anvil": (f"{SETS_UP}: the recipe on this test's anvil, with fewer requests",
                        [("ape run demo --network ethereum:local:foundry --workers 2 --requests 10",
                          r"Work split")]),
    "make anvil": (f"{SETS_UP}; this test's node is the same anvil on the same port, started by tests/e2e/anvil.py "
                   "(the native binary: node_modules/.bin/anvil is a wrapper that exits before its node on SIGTERM)",
                   []),
    "make bench": (f"{SETS_UP}; the channel benchmark in full takes minutes: the recipe, bench_channels with its "
                   "smallest options",
                   [("ape run bench_governance", r"propose \(1 routine action\)"),
                    ("ape run bench_market", r"Deployed code size"),
                    ("ape run bench_channels --calls 5 --clients 2 --rounds 1", r"Channel operations")]),
    "ape run bounty list|submit|vote|claim|challenge ...": (
        "a synopsis of subcommands, not one command: the command's help lists each", []),
    "ape run campaign list|open|back|close|refund|train|withdraw ...": (
        "a synopsis of subcommands, not one command: the command's help lists each", []),
    "ape run bench_channels $N": ("takes minutes in full: its smallest options",
                                  [("ape run bench_channels $N --calls 5 --clients 2 --rounds 1",
                                    r"Channel operations on")]),
    "ape run bench_worker $N": ("a hundred requests through a bot by default: its smallest run",
                                [("ape run bench_worker $N --requests 5", r"Worker benchmark on")]),
}
# Each line run as printed, by its command: a key line of its output.
EXPECT = {
    "ape run demo --governance": r"Gas \(first transaction of each kind\)",
    "ape run commons": r"Who got what",
    "ape run prepare_local $N": r"wrote .*; model 1; 2 workers staked",
    "ape run worker start $N --account TEST::5 --dir .cache/nc-w1 --result-port 8601": r"silverback run bots\.worker:bot",
    "ape run infer --model digits --input models/digits/sample.json $N":
        r"request \d+: paid 0\.001050 ETH for model 1[\s\S]*predicted class\s*│\s*4\s",
    "ape run deploy": r"note: the embedded chain ends with this command",
    "ape run deploy $N": r"wrote .*ethereum-local-foundry\.json",
    "ape run deploy --network <ecosystem:network:provider> --account <alias> --timelock-delay 2d":
        r"wrote .*ethereum-local-foundry\.json",
    "ape run dao delegate $N": r"delegates to 0x",
    "ape run dao propose": r"proposal [0-9a-f]{10} submitted",
    "ape run dao advance": r"advanced \d+d",
    "ape run dao vote": r"voted for with [\d,]+ votes",
    "ape run dao queue": r"state\s*│\s*Queued",
    "ape run dao execute": r"state\s*│\s*Executed",
    "ape run dao status": r"state\s*│\s*Executed",
    'ape run treasury deposit "3 ether" $N': r"the treasury now holds 3\.0000\d+ ETH",
    "ape run bench_governance $N": r"propose \(1 routine action\)",
    "ape run bench_market $N": r"Deployed code size",
}


def _checks(command: str) -> list[tuple[str, str]]:
    """The (command, expected output) checks run in place of a README line in INSTEAD. A synopsis
    `ape run NAME a|b|c ...` is checked by `ape run NAME --help` listing each of a, b and c as a subcommand."""
    if synopsis := re.fullmatch(r"ape run (\w+) ([\w-]+(?:\|[\w-]+)+) \.\.\.", command):
        name, subcommands = synopsis.groups()
        return [(f"ape run {name} --help",
                 "(?m)" + "".join(rf"(?=[\s\S]*^\s+{sub}\s)" for sub in subcommands.split("|")))]
    return INSTEAD[command][1]


def _expect(command: str) -> str:
    """The expected output of a line run as printed: by the whole command, else by its `ape run dao VERB`."""
    if command in EXPECT:
        return EXPECT[command]
    verb = " ".join(command.split()[:4])
    assert verb in EXPECT, f"README line with no expected output in EXPECT: {command}"
    return EXPECT[verb]


def _lines(heading: str) -> list[str]:
    return [line for block in doc_blocks(heading, README) for line in block]


def _is_command(line: str) -> bool:
    """Not the runner's own first line, nor a comment continuing the line above."""
    return line != SETUP and not line.startswith("#")


def test_readme__every_sh_block__is_in_a_section_run_here():
    assert sh_sections(README) == set(SECTIONS)


def test_readme__every_sh_line__is_run_or_has_a_reason():
    commands = {_command(line) for heading in SECTIONS for line in _lines(heading) if _is_command(line)}
    for command in commands:
        if command.startswith("make "):
            assert command.split()[1:] in ([target] for target in MAKE_RECIPES), f"no recipe checked for: {command}"
        if command in INSTEAD:
            assert INSTEAD[command][0] and (_checks(command) or command.startswith("make ")), command
        else:
            _expect(command)  # run as printed, with a key line of output to find
    assert set(INSTEAD) <= commands, f"INSTEAD names lines the README no longer has: {set(INSTEAD) - commands}"
    for filled in FILLS:
        assert any(filled in line for heading in SECTIONS for line in _lines(heading)), filled


@pytest.mark.parametrize("target", sorted(MAKE_RECIPES))
def test_readme__make_targets__run_the_recipes_checked_here(target):
    assert f"make {target}" in INSTEAD
    # Under `make test` this runs in a sub-make (MAKELEVEL set), which prints "Entering directory" lines unless told
    # not to; the parent's MAKEFLAGS are dropped so the recipe read is the one a user's shell gets.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    ran = subprocess.run(["make", "--no-print-directory", "-n", "-o", "setup", "-o", "compile", target], cwd=ROOT,
                         capture_output=True, text=True, check=True, env=env)
    assert ran.stdout.splitlines() == MAKE_RECIPES[target]
    checks = [command for command, _ in _checks(f"make {target}")]
    assert not checks or len(checks) == len(MAKE_RECIPES[target]), "every command of the recipe, or none"
    for recipe, check in zip(MAKE_RECIPES[target], checks):  # options added at the end only
        assert check == recipe or check.startswith(recipe + " "), (recipe, check)


@pytest.fixture(scope="module")
def recipes(tmp_path_factory):
    env = recipe_env(tmp_path_factory, README, SECTIONS)
    with running_anvil():
        yield Recipes(env, tmp_path_factory.mktemp("logs"), FILLS)


def _run_section(recipes: Recipes, heading: str):
    """Every block of the README section: each line as printed, or the checks INSTEAD runs in its place."""
    for block in doc_blocks(heading, README):
        lines, expects = [], []
        for line in block:
            command = _command(line)
            if not _is_command(line):
                continue
            if command in INSTEAD:
                for check, expect in _checks(command):
                    lines.append(check)
                    expects.append(expect)
            else:
                lines.append(line)
                expects.append(_expect(command))
        recipes.block(lines, expects)


def test_readme__deploying__runs_as_printed(recipes):
    _run_section(recipes, "Deploying")


def test_readme__governing_from_a_terminal__runs_as_printed(recipes):
    _run_section(recipes, "Governing from a terminal")


def test_readme__workers_and_app_builders__runs_as_printed(recipes):
    _run_section(recipes, "Workers and app builders")


def test_readme__open_data_and_compute__runs_as_printed(recipes):
    _run_section(recipes, "Open data and compute")


def test_readme__quickstart__runs_as_checked(recipes):
    _run_section(recipes, "Quickstart")


def test_readme__benchmarks__run_as_checked(recipes):
    _run_section(recipes, "Benchmarks")
