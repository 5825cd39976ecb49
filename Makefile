# Selaras — one command to run, one to test. Needs only Python 3.11+ and make:
# uv is installed into .tools/ and everything else into .venv/ from uv.lock.

PYTHON ?= python3
UV := .tools/bin/uv
RUN := $(UV) run --frozen
export UV_PYTHON_DOWNLOADS := never

DEMO_HOUSEHOLDS ?= 3000

.PHONY: install run migrate demo test test-sqlite test-postgres lint format bench clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv>=0.9,<1"

.venv/.synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen
	@touch $@

install: .venv/.synced

migrate: install
	$(RUN) selaras-registry migrate
	$(RUN) selaras-eligibility migrate
	$(RUN) selaras-referral migrate

demo: migrate
	$(RUN) selaras-registry demo --households $(DEMO_HOUSEHOLDS)
	$(RUN) selaras-eligibility load services/eligibility/demo/catalogue.yaml

## Run every service on the embedded default (SQLite in var/) with demo data.
run: demo
	$(RUN) python deploy/local.py

## The whole suite on SQLite, then on PostgreSQL when SELARAS_TEST_POSTGRES_URL is set.
test: install
	SELARAS_TEST_DB=sqlite $(RUN) pytest
	@if [ -n "$$SELARAS_TEST_POSTGRES_URL" ]; then \
		SELARAS_TEST_DB=postgres $(RUN) pytest; \
	else \
		echo "PostgreSQL run skipped: set SELARAS_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres)"; \
	fi

test-sqlite: install
	SELARAS_TEST_DB=sqlite $(RUN) pytest

test-postgres: install
	SELARAS_TEST_DB=postgres $(RUN) pytest

lint: install
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	$(RUN) mypy shared/src services/registry/src services/eligibility/src services/referral/src

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

## Benchmarks (PostgreSQL at SELARAS_BENCH_POSTGRES_URL, default the local server; the
## GET benchmark needs wrk). Not part of the tests; each prints ratios to its own baseline.
## The `bench` dependency group (openfisca-core) is installed here only, never by install.
BENCH_HOUSEHOLDS ?= 1000000
bench: install
	$(UV) sync --frozen --group bench
	$(RUN) python bench/generate.py --households $(BENCH_HOUSEHOLDS)
	$(RUN) python bench/import_csv.py --households $(BENCH_HOUSEHOLDS)
	$(RUN) python bench/snapshot.py --households $(BENCH_HOUSEHOLDS)
	$(RUN) python bench/get_household.py
	$(RUN) python bench/explain.py
	$(RUN) --group bench python bench/batch_openfisca.py --households $(BENCH_HOUSEHOLDS)
	BENCH_HOUSEHOLDS=$(BENCH_HOUSEHOLDS) $(RUN) python bench/screening.py
	$(RUN) python bench/webhooks.py

clean:
	rm -rf var .venv .tools .pytest_cache .mypy_cache .ruff_cache
