PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint stop clean bench admin admin-node admin-if-possible FORCE

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Mercato needs Python 3.11 or newer; name one, e.g. make run PYTHON=python3.12")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(MAKE) --no-print-directory admin-if-possible
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
	rm -rf $(VENV) .mercato admin/node_modules admin/dist admin/.medusa .e2e-artifacts

# The admin dashboard (README, "Admin dashboard"): Medusa's dashboard with the marketplace
# extensions of admin/src/admin, built into admin/dist and served by Mercato at /app. `npm ci` runs
# when the lock file is newer than the installed tree (npm writes node_modules/.package-lock.json),
# the build when a source, build.mjs or the installed tree is newer than dist/index.html. The
# sources are compared with find rather than listed as prerequisites: make would read the route
# folders' brackets (routes/sellers/[id]) as wildcards.
ADMIN_NODE_OK = node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' >/dev/null 2>&1 && command -v npm >/dev/null 2>&1
ADMIN_NOT_BUILT = Admin dashboard not built: the API runs without it. Install Node >= 20.19 and npm, then run 'make admin' and open http://127.0.0.1:9000/app

admin: admin/dist/index.html

admin-node:
	@$(ADMIN_NODE_OK) || { echo "make admin needs Node >= 20.19 and npm" >&2; exit 1; }

admin/node_modules/.package-lock.json: admin/package-lock.json | admin-node
	cd admin && npm ci --no-audit --no-fund
	touch $@

admin/dist/index.html: admin/node_modules/.package-lock.json FORCE | admin-node
	@if [ ! -f $@ ] || [ -n "$$(find admin/src admin/build.mjs admin/package-lock.json $< -newer $@ -print -quit)" ]; then \
		echo "cd admin && ADMIN_AUTH_TYPE=jwt node build.mjs"; \
		cd admin && ADMIN_AUTH_TYPE=jwt node build.mjs && touch dist/index.html; \
	fi

FORCE:

# `make run` builds the dashboard when it is missing and Node and npm can; otherwise, or when the
# build fails, it says so in one line and serves the API without it.
admin-if-possible:
	@if [ ! -f admin/dist/index.html ]; then \
		if $(ADMIN_NODE_OK); then \
			$(MAKE) --no-print-directory admin || echo "$(ADMIN_NOT_BUILT)"; \
		else \
			echo "$(ADMIN_NOT_BUILT)"; \
		fi; \
	fi
