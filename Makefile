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

.PHONY: demo test lint bench browser kcat clean help
.DEFAULT_GOAL := help

help:
	@echo "make demo   run the stack and replay $(RACE) at $(SPEED)x (RACE='2023 Bahrain' SPEED=max)"
	@echo "make test   lint + all tests against the embedded services (what .ci/run calls)"
	@echo "make bench  every benchmark, one after the other"

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

# Debian's kcat for the standard-client tests (`pitwall kcat` runs it).
kcat:
	$(call apt_install,kcat,kcat,the kcat tests)

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
	rm -rf $(VENV) .pitwall artifacts models .pytest_cache .ruff_cache
