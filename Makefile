# Pitboss: `make run` and `make test` do all the set-up from a fresh clone.
#
# Dependencies install from requirements-dev.lock: exact versions with their hashes
# (requirements.lock is its runtime part, which the Docker image installs), then the
# project itself with --no-deps. After changing dependencies in pyproject.toml, run
# `make lock`: it keeps every pin it can and adds what the change needs. To move
# pins, `make lock LOCK_ARGS=--upgrade` (all) or `LOCK_ARGS="--upgrade-package NAME"`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --quiet --disable-pip-version-check
UV_VERSION := 0.13.9
LOCK   := $(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --universal \
          --python-version 3.11 --custom-compile-command "make lock" $(LOCK_ARGS)

.PHONY: run test lint bench docs clean venv lock chromium

venv: $(STAMP)

# setuptools announces every editable install with a multi-line notice; nothing to act on.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install --require-hashes -r requirements-dev.lock
	PYTHONWARNINGS="ignore:Editable installation" $(PIP) install --no-deps -e .
	touch $(STAMP)

lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install uv==$(UV_VERSION)
	$(LOCK) -o requirements.lock
	$(LOCK) --extra dev -c requirements.lock -o requirements-dev.lock

run: $(STAMP)
	$(BIN)/pitboss demo

# The console's browser tests drive Debian's chromium (Playwright's own download is not used).
chromium:
	command -v chromium >/dev/null || (apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y chromium >/dev/null)

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy pitboss bench

docs: $(STAMP)
	$(BIN)/python -m pitboss.config_reference

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
