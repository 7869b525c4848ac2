# Two commands set up everything on a fresh machine with Python, pip and make:
#   make demo   creates .venv, installs vicinal, and runs the main job (ERM vs mixup on Fashion-MNIST)
#   make test   creates .venv, installs vicinal, and runs the tests
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of torch; a plain `torch` requirement would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
FMNIST := /usr/share/datasets/fashion-mnist

.PHONY: demo test install data bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

# Fashion-MNIST from Debian's package when it is missing and apt is there; otherwise vicinal's own
# search order applies (--data-dir, $$VICINAL_DATA, ~/.cache/vicinal, then a checksummed download).
data:
	@if [ ! -d $(FMNIST) ] && [ -z "$$VICINAL_DATA" ] && command -v apt-get >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get install -y -qq dataset-fashion-mnist || \
		{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist; } || \
		echo "could not install dataset-fashion-mnist; vicinal will look elsewhere"; \
	fi

demo: install data
	$(PY) -m vicinal compare --dataset fashion-mnist --preset quick

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/bench_mix.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
