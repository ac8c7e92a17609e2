# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv/ on first use.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test test-fast lint bench clean
setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bin/asnn demo

test: setup
	$(PY) -m pytest -q tests

test-fast: setup
	$(PY) -m pytest -q -m "not slow" tests

lint: setup
	$(VENV)/bin/ruff check asnn_neuro tests scripts

bench: setup
	$(VENV)/bin/asnn bench

clean:
	rm -rf netx_exports/*/ sims/*/
