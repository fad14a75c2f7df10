# Every target sets itself up: a fresh machine needs only Python 3.11 and Node 20.
PYTHON ?= python3
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 20
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck synth deploy diff serve bench clean browser synth-in-background

$(STAMP): requirements.txt requirements.lock layers/shared/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## run: the main job on the embedded local runtime (no AWS account needed)
run: $(STAMP)
	$(BIN)/backoffice demo

## browser: Debian's chromium and chromedriver for the console's browser test (installed once, as root or sudo)
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver \
	  || echo "chromium could not be installed here: tests/browser will be skipped with that reason" >&2; }

## test: every test (unit, local-runtime integration, CDK assertions, the console in a browser), lint and types
test: $(STAMP) synth-in-background browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/shared/python functions infra app.py
# Three workers on two cores: the end-to-end tests spend much of their time waiting on the engine and on HTTP
# (6 min with two workers, under 5 with three, measured on a 2-vCPU machine).
	$(BIN)/python -m pytest -n 3 --dist loadfile

# The stack's synth (about 40 s of one core, cached in .local/synth by its inputs' digest) runs while the browser is
# installed and ruff and mypy run, instead of holding up every pytest worker's first runtime; a worker that gets
# there first waits on its lock, and one that fails is synthesized again by the tests, which then show why.
synth-in-background: $(STAMP)
	@( $(BIN)/python -c "from backoffice.local.template import synthesized_template; synthesized_template()" \
	  >/dev/null 2>&1 & )

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy layers/shared/python functions infra app.py

## synth: CloudFormation templates into cdk.out/ (offline: no credentials, no Docker, no lookups)
## CONTEXT: extra CDK context as JSON, as `cdk synth -c` would pass it (it wins over cdk.json), e.g.
##   make synth CONTEXT='{"salesforce_partner_event_source": "aws.partner/salesforce.com/<org id>/<relay id>"}'
## CONFIG: the firm's configuration document (sender, connectors, billing and approval policies), validated
##   first: an invalid one stops the synth naming each field and reason, e.g. make synth CONFIG=config/sample-firm.json
synth: $(STAMP)
	$(if $(CONTEXT)$(CONFIG),CDK_CONTEXT_JSON='$(or $(CONTEXT),{"config": "$(CONFIG)"})' )$(BIN)/python app.py

## deploy: needs AWS credentials; uses the CDK CLI from the npm registry
deploy: $(STAMP)
	npx --yes aws-cdk@2 deploy --app "$(BIN)/python app.py" --require-approval broadening

diff: $(STAMP)
	npx --yes aws-cdk@2 diff --app "$(BIN)/python app.py"

## serve: the local runtime as a server on 127.0.0.1 for the CLI and a browser
serve: $(STAMP)
	$(BIN)/backoffice serve

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) cdk.out layers/shared/build .pytest_cache .mypy_cache .ruff_cache
