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
RACE   ?= 2023 Monaco
SPEED  ?= 20

.PHONY: demo test lint bench browser clean help
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

# Debian's chromium for the headless browser test (Playwright drives it); best effort.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; the browser test will be skipped"; \
	  else echo "warning: chromium not found (apt-get install chromium); the browser test will be skipped"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) $(MODELS) browser lint
	$(BIN)/python -m pytest -q --timeout=600

demo: $(STAMP) $(MODELS)
	$(BIN)/pitwall demo $(RACE) --speed $(SPEED)

bench: $(STAMP) $(MODELS)
	$(BIN)/python benchmarks/bench_replay.py
	$(BIN)/python benchmarks/bench_montecarlo.py
	$(BIN)/python benchmarks/bench_pipeline.py
	$(BIN)/python benchmarks/bench_sink.py
	$(BIN)/python benchmarks/bench_ws.py
	$(BIN)/python benchmarks/bench_live.py
	$(BIN)/python benchmarks/bench_predict.py

clean:
	rm -rf $(VENV) .pitwall artifacts models .pytest_cache .ruff_cache
