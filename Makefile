# One command sets up and runs each job; set-up is idempotent and quick when done.
#   make demo       the end-to-end demo on the embedded chain (the digits economy: DAO, 100 paid inferences, payouts)
#   make demo-all   every model in turn: digits, minilm, nft, risk
#   make test   the whole test suite (anvil tests included)
#   make bench  gas tables from real transactions

PYTHON ?= python3.11
VENV := .venv
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup compile demo demo-all demo-anvil test bench lint clean anvil models

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(VENV)/bin/pip install --quiet -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

compile: setup
	ape compile

demo: compile
	ape run demo

# Every model's section: digits, minilm (embeddings + semantic search), nft (images minted), risk (token listing).
demo-all: compile
	ape run demo --models all

# The same economy on a real node: ape starts anvil, two silverback worker bots serve.
demo-anvil: compile
	ape run demo --network ethereum:local:foundry --workers 2

test: compile
	ape test tests/ -p no:cacheprovider

# Rebuilds models/<name>/ artifacts and manifests (committed; the build is reproducible).
# minilm's ~90 MB graph is built from the installed package into .cache/ and checked against
# the hash in models/minilm/manifest.json (not committed; the worker also builds it on first use).
models: setup
	python models/digits/build.py
	python models/minilm/build.py
	python models/risk/build.py
	python models/pixels/build.py

bench: compile
	ape run bench_governance
	ape run bench_market
	ape run bench_channels

lint: setup
	ruff check offchain scripts tests

clean:
	rm -rf $(VENV) node_modules .build .cache

# A real local node for `--network ethereum:local:foundry` (the host ape-config.yaml names).
anvil: setup
	anvil --port 8545
