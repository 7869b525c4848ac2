# Two commands set up everything on a fresh machine with Python, pip and make:
#   make demo   creates .venv, installs vicinal, and runs the main job (ERM vs mixup on Fashion-MNIST, 3 seeds,
#               in a 4-minute time budget)
#   make test   creates .venv, installs vicinal and Fashion-MNIST, lints (ruff) and runs every test (a test that
#               needs Fashion-MNIST fails there without it, where a bare pytest skips it)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of torch; a plain `torch` requirement would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: demo test install install-dev data bench clean

# install: vicinal and the CPU torch, all the demo needs; install-dev: also the test tools and the optional
# extras the tests cover (Ray, Lightning, TensorBoard, timm), which the demo's set-up time does without.
install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,lightning,ray,tensorboard]"
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps timm==1.0.29  # its mixup.py, the reference of the timm tests
	touch $@

# Fashion-MNIST, which the demo and the tests read: Debian's package when vicinal finds no copy and apt is
# there. Where it cannot be had, one line says how to get it and make stops.
FIND_FMNIST := $(PY) -c "from vicinal.data import load_dataset; load_dataset('fashion-mnist', download=False)"
data: install
	@$(FIND_FMNIST) 2>/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		command -v apt-get >/dev/null 2>&1 && { \
			$$SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
			{ $$SUDO apt-get update -qq >/dev/null 2>&1 && $$SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; }; }; \
		$(FIND_FMNIST) 2>/dev/null || { echo "make: fashion-mnist not found and Debian's dataset-fashion-mnist could not be installed: install it (apt-get install dataset-fashion-mnist), or put its four IDX files in a folder and set VICINAL_DATA=DIR"; exit 1; } >&2; }

demo: install data
	$(PY) -m vicinal compare --preset main --seeds 3

test: install-dev data
	$(PY) -m ruff check vicinal tests benchmarks examples
	VICINAL_TEST_REQUIRE_DATA=1 $(PY) -m pytest -q

bench: install
	$(PY) benchmarks/bench_mix.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
