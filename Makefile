# Quick start: `make run` (the bot against the built-in sandbox, or Telegram when TELEGRAM_BOT_TOKEN is set)
# and `make test`. Each creates .venv on first use with the Python 3.11+ found as python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast install install-test bench clean

$(BIN)/qualitybot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/qualitybot
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@# Browser tests drive Debian's Chromium (Playwright never downloads a browser here); install it when we can.
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null; \
		else echo "NOTE: chromium is not installed and cannot be installed here; browser tests will be skipped"; fi; \
	fi
	touch $@

install: $(BIN)/qualitybot

run: $(BIN)/qualitybot
	$(BIN)/qualitybot run

test: $(VENV)/.test-deps
	PTB_TIMEDELTA=1 $(BIN)/python -m pytest -q

# The edit-test loop: the unit tests of the core (about 50 s here); `make test` runs everything, as CI does.
test-fast: $(VENV)/.test-deps
	PTB_TIMEDELTA=1 $(BIN)/python -m pytest -q tests/unit -m "not slow"

bench: $(VENV)/.test-deps
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
