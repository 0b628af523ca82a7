PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint stop clean bench

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Mercato needs Python 3.11 or newer; name one, e.g. make run PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/mercato migrate
	$(BIN)/mercato seed --demo
	$(BIN)/mercato serve

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmark (docs/benchmarks.md): seeds the benchmark database once (skipped when it already holds
# groups; `python -m benchmarks seed --reset` reseeds), then measures. `make bench GROUPS=20000`; on a
# PostgreSQL server instead of the embedded one (created if missing):
# `make bench BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mercato_bench`.
GROUPS ?= 100000
BENCH_ARGS ?=
BENCH_DATABASE_URL ?=
BENCH_DB = $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL),)

bench: $(STAMP)
	$(BIN)/python -m benchmarks seed --groups $(GROUPS) $(BENCH_DB)
	$(BIN)/python -m benchmarks run $(BENCH_DB) $(BENCH_ARGS)

# ruff, then mypy (configured in pyproject.toml: which files, which modules are strict).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# The embedded PostgreSQL stops with the last mercato process using it; this stops one left running
# by a process killed before it could clean up (kill -9, a closed terminal).
stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m mercato.db.embedded stop .mercato .mercato-ci $(MERCATO_DATA_DIR); fi

clean: stop
	rm -rf $(VENV) .mercato
