PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean bench

$(STAMP): pyproject.toml
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
# groups; `mercato bench seed --reset` reseeds), then measures. `make bench GROUPS=20000`.
GROUPS ?= 100000
BENCH_ARGS ?=

bench: $(STAMP)
	$(BIN)/mercato bench seed --groups $(GROUPS)
	$(BIN)/mercato bench run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) .mercato
