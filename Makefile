# make run   — set up .venv when needed, then start netcoach (console + SQLite without tokens)
# make test  — set up .venv when needed, then lint, check formatting and types, check the
#              import layers (pyproject's [tool.importlinter]) and run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# `make run` installs netcoach alone; `make test` adds the test tools (ruff, mypy, pytest…).
RUN_STAMP := $(VENV)/.installed-run
STAMP  := $(VENV)/.installed-test
# The store-level tests run a second time on PostgreSQL (a throwaway cluster; they skip
# with one line where no PostgreSQL server is installed, and must run under CI=true).
PG_STORE_TESTS := tests/test_store.py tests/test_followups.py tests/test_community.py \
	tests/test_profiles.py tests/test_privacy.py tests/test_scheduler.py tests/test_contract.py

.PHONY: run test typecheck bench lint format clean models

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/netcoach run $(if $(CONFIG),--config $(CONFIG))

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(MAKE) --no-print-directory typecheck
	$(BIN)/lint-imports
	$(BIN)/pytest
	NETCOACH_TEST_STORE=postgresql $(BIN)/pytest -q -m "not sqlite_only" $(PG_STORE_TESTS)

# The folders install as netcoach.bot / netcoach.adapters; the editable install maps them
# with an import hook, which mypy does not follow, so mypy reads them through links.
typecheck: $(STAMP)
	@mkdir -p $(VENV)/typecheck/netcoach
	@ln -sfn ../../../bot $(VENV)/typecheck/netcoach/bot
	@ln -sfn ../../../adapters $(VENV)/typecheck/netcoach/adapters
	MYPYPATH=$(VENV)/typecheck $(BIN)/mypy -p netcoach.bot -p netcoach.adapters

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The learnt detectors' weights (playbooks/models/), from the real training split and the
# synthetic sets; never from tests/data/real/locked.jsonl. Deterministic: same data, same file.
MODEL_DATA := tests/data/real/train.jsonl tests/data/drafts.jsonl tests/data/drafts-holdout.jsonl \
	tests/data/drafts-blind.jsonl tests/data/drafts-fresh.jsonl tests/data/drafts-devstyle.jsonl \
	tests/data/drafts-dev.jsonl

# Words in fewer than 3 drafts are left out: out-of-fold on the training split that
# changed no verdict and halved the models (load time and memory).
TRAIN := $(BIN)/netcoach playbooks train --min-df 3

# The verdict model (playbooks/verdict.yaml) reads the findings of the playbooks beside the
# words, so it is trained last, on the detectors just trained. It learns from the real
# training split and three synthetic sets (ours, the shared sample and the sample-style
# set: the principles as this project states them); holdout, blind and fresh stay a test
# of it.
VERDICT_DATA := tests/data/real/train.jsonl tests/data/drafts.jsonl tests/data/drafts-dev.jsonl \
	tests/data/drafts-devstyle.jsonl
models: $(RUN_STAMP)
	$(TRAIN) about_them $(MODEL_DATA) --out playbooks/models/about-them.json
	$(TRAIN) offers_help $(MODEL_DATA) --out playbooks/models/offers-help.json
	$(TRAIN) ask $(MODEL_DATA) --out playbooks/models/ask.json
	$(TRAIN) pitch $(MODEL_DATA) --out playbooks/models/pitch.json
	$(TRAIN) verdict $(VERDICT_DATA) --out playbooks/models/verdict.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
