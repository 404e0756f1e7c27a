# Two commands on a fresh machine: `make train` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup train test test-all bench evaluate zoo clean

setup: $(STAMP)

$(STAMP): requirements.txt setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

train: $(STAMP)
	$(PY) -m emoji_t2i.train --model cgan $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -m "" $(ARGS)

bench: $(STAMP)
	$(PY) benchmarks/input_pipeline.py
	$(PY) benchmarks/train_step.py

RUN ?= runs/default-cgan
evaluate: $(STAMP)
	$(PY) -m emoji_t2i.evaluate --run $(RUN) --out $(RUN)/eval $(ARGS)

# the README zoo table and its metrics (hours on a 2-core CPU; resumable)
zoo: $(STAMP)
	$(PY) benchmarks/zoo.py --epochs 2
	$(PY) benchmarks/zoo.py --evaluate

clean:
	rm -rf $(VENV) .pytest_cache
