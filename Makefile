# Everything a fresh machine needs: `make demo` and `make test` install first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MIIND := $(VENV)/bin/miind
STAMP := $(VENV)/.installed
DEMO := out/demo

.PHONY: install demo test bench validate clean

AOT := solver/_kernels_aot.stamp

install: $(STAMP) $(AOT)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Ahead-of-time compiled kernels (see solver/backend.py); runs fall back to the JIT.
$(AOT): $(STAMP) solver/kernels.py solver/layout.py solver/aot.py
	$(PY) -m solver.aot

demo: install
	@mkdir -p $(DEMO)
	$(MIIND) mesh examples/lif/lif.toml -o $(DEMO)/lif_mesh.h5
	$(MIIND) run examples/lif/simulation.toml --set population.0.mesh=$(abspath $(DEMO))/lif_mesh.h5 -o $(DEMO)/lif_run.h5
	$(MIIND) analyze $(DEMO)/lif_run.h5 --summary
	$(MIIND) analyze $(DEMO)/lif_run.h5 --plot $(DEMO)/lif_rates.png --density $(DEMO)/lif_density.png --population lif
	@echo "plots written to $(DEMO)/lif_rates.png and $(DEMO)/lif_density.png" >&2

test: install
	$(PY) -m pytest -q tests

bench: install
	$(PY) benchmarks/bench.py

validate: install
	$(PY) benchmarks/validate.py

clean:
	rm -rf out .bench
