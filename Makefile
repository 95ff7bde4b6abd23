# pitwall: two commands do all the set-up on a fresh machine with Python 3.11 and make.
#   make demo   the embedded stack (Kafka, PostgreSQL, Redis), worker, sink and API, and a real
#               2023 race replayed into it; open the dashboard URL it prints.
#   make test   lint and the whole test suite against the real embedded services.
# ../shared/data must sit beside the checkout (or set PITWALL_DATA_DIR).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODELS := models/.trained
BATTLES := models/.battles
RACE   ?= 2023 Monaco
SPEED  ?= 20

LATEST := .venv-latest
TESTS  ?= tests

.PHONY: demo test test-latest lock lint bench browser screenshots kcat clean help
.DEFAULT_GOAL := help

help:
	@echo "make demo   run the stack and replay $(RACE) at $(SPEED)x (RACE='2023 Bahrain' SPEED=max)"
	@echo "make test   lint + all tests against the embedded services (what .ci/run calls)"
	@echo "make bench  every benchmark, one after the other"
	@echo "make screenshots  the dashboard's browser tests; PNGs in artifacts/screenshots/"
	@echo "make lock   re-resolve uv.lock from pyproject.toml and write requirements.txt from it"
	@echo "make test-latest  the tests (TESTS=...) on the newest releases allowed, in $(LATEST)"

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "pitwall needs $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

# The lap-time model, trained once from ../shared/data (seasons 2018-2023; 2024 held out).
$(MODELS): $(STAMP)
	$(BIN)/pitwall train
	@touch $@

# The battle forecast (2018-2023, back-tested on 2024); its own stamp so that checkouts
# with a lap-time model already trained get it too.
$(BATTLES): $(STAMP)
	$(BIN)/pitwall battles train --if-missing
	@touch $@

# $(call apt_install,COMMAND,PACKAGE,WHAT): install a Debian package when its command is
# missing (as root with apt-get); best effort: WHAT, the tests that need it, is skipped otherwise.
define apt_install
	@command -v $(1) >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null) \
	      || echo "warning: could not install $(2); $(3) will be skipped"; \
	  else echo "warning: $(1) not found (apt-get install $(2)); $(3) will be skipped"; fi; }
endef

# Debian's chromium for the headless browser test (Playwright drives it).
browser:
	$(call apt_install,chromium,chromium,the browser test)

# The dashboard's browser tests (one race at 20x, sign-in, every page after a demo-like run);
# their screenshots at 390, 1280 and 1600 px land in artifacts/screenshots/ (not committed).
screenshots: $(STAMP) $(MODELS) $(BATTLES) browser
	$(BIN)/python -m pytest -q --timeout=1200 tests/api/test_dashboard_race_browser.py \
	  tests/api/test_dashboard_signin_browser.py tests/api/test_dashboard_pages_browser.py

# Debian's kcat for the standard-client tests (`pitwall kcat` runs it).
kcat:
	$(call apt_install,kcat,kcat,the kcat tests)

# uv.lock is the one source of the pins; requirements.txt (what make installs) is made from it.
lock: $(STAMP)
	$(BIN)/uv lock
	$(BIN)/uv export --frozen --extra dev --no-hashes --no-emit-project -o requirements.txt

# The newest releases pyproject.toml allows, in a venv of their own: which packages moved
# from uv.lock, the tests' result, and each failing test with its error.
# Needs the trained models (make test or make demo trains them), not this checkout's venv.
test-latest:
	@test -e $(MODELS) || { echo "train the models first: make $(MODELS)"; exit 1; }
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install -q --upgrade pip
	$(LATEST)/bin/python -m pip install -q --upgrade --upgrade-strategy eager -e '.[dev]'
	$(LATEST)/bin/python tests/latest_releases.py $(TESTS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: $(STAMP) $(MODELS) $(BATTLES) browser kcat lint
	$(BIN)/python -m pytest -q --timeout=600

demo: $(STAMP) $(MODELS) $(BATTLES)
	$(BIN)/pitwall demo $(RACE) --speed $(SPEED)

bench: $(STAMP) $(MODELS) $(BATTLES)
	$(BIN)/python benchmarks/bench_replay.py
	$(BIN)/python benchmarks/bench_montecarlo.py
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_sessions.py
	$(BIN)/python benchmarks/bench_broker.py
	$(BIN)/python benchmarks/bench_sink.py
	$(BIN)/python benchmarks/bench_rebalance.py
	$(BIN)/python benchmarks/bench_ws.py
	$(BIN)/python benchmarks/bench_hazards.py
	$(BIN)/python benchmarks/bench_live.py
	$(BIN)/python benchmarks/bench_analytics.py
	$(BIN)/python benchmarks/bench_predict.py

clean:
	rm -rf $(VENV) $(LATEST) .pitwall artifacts models .pytest_cache .ruff_cache
