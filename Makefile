# Everything a fresh machine needs: `make demo` and `make test` install first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MIIND := $(VENV)/bin/miind
STAMP := $(VENV)/.installed
DEMO := out/demo

.PHONY: install aot demo patterns brunel synchrony test bench validate validate-synchrony clean

install: $(STAMP) aot

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,aot]'
	touch $(STAMP)

# Ahead-of-time compiled kernels (solver/aot.py, solver/backend.py) in the per-user
# cache (~/.cache/miind/aot/<key>/, $$MIIND_CACHE_DIR to move it): a no-op when a build
# for these sources, versions and CPU is there; runs fall back to the JIT without one.
# The rm drops what versions before 2026-12 built into solver/ (never loaded now).
# Byte-compiled modules too: where PYTHONDONTWRITEBYTECODE is set (as on the
# project's machines), every run would otherwise compile the package from source (50 ms of a
# 0.3 s start-up); Python still reads .pyc files it may not write.
aot: $(STAMP)
	@rm -f solver/_kernels_aot*.so solver/_kernels_aot.stamp
	$(PY) -m solver.aot
	@$(PY) -m compileall -q miind_cli meshgen solver

demo: install
	@mkdir -p $(DEMO)
	$(MIIND) mesh examples/lif/lif.toml -o $(DEMO)/lif_mesh.h5
	$(MIIND) run examples/lif/simulation.toml --set population.0.mesh=$(abspath $(DEMO))/lif_mesh.h5 -o $(DEMO)/lif_run.h5
	$(MIIND) analyze $(DEMO)/lif_run.h5 --summary
	$(MIIND) analyze $(DEMO)/lif_run.h5 --plot $(DEMO)/lif_rates.png --density $(DEMO)/lif_density.png --population lif
	$(MIIND) run examples/lif/compare_methods.toml --quiet --set population.density.mesh=$(abspath $(DEMO))/lif_mesh.h5 -o $(DEMO)/compare.h5 > /dev/null
	$(MIIND) analyze $(DEMO)/compare.h5 --compare density direct --bin 0.001013513513513514 --plot $(DEMO)/compare.png --raster $(DEMO)/raster.png
	$(MIIND) mesh examples/grid2d/adex.toml -o $(DEMO)/adex_mesh.h5 --quiet > /dev/null
	$(MIIND) run examples/grid2d/adex_sim.toml --quiet --set population.grid.mesh=$(abspath $(DEMO))/adex_mesh.h5 -o $(DEMO)/adex_run.h5
	$(MIIND) analyze $(DEMO)/adex_run.h5 --compare grid direct --bin 0.005 --plot $(DEMO)/adex_compare.png --density $(DEMO)/adex_density.png --population grid --time 0.5 --log
	$(MIIND) analyze $(DEMO)/adex_run.h5 --marginals $(DEMO)/adex_marginals.png --population grid --time 0.5
	$(MIIND) analyze $(DEMO)/adex_run.h5 --movie $(DEMO)/adex.gif --population grid
	$(MIIND) mesh examples/brunel/lif.toml -o $(DEMO)/brunel_mesh.h5 --quiet > /dev/null
	$(MIIND) run examples/brunel/network.toml --quiet -o $(DEMO)/brunel_run.h5 \
	  --set population.e.mesh=$(abspath $(DEMO))/brunel_mesh.h5 --set population.i.mesh=$(abspath $(DEMO))/brunel_mesh.h5
	$(MIIND) analyze $(DEMO)/brunel_run.h5 --plot $(DEMO)/brunel_rates.png --density $(DEMO)/brunel_density.png --population e
	@echo "plots written to $(DEMO)/: lif_rates.png, lif_density.png, compare.png, raster.png," \
	  "adex_compare.png, adex_density.png, adex_marginals.png, adex.gif, brunel_rates.png," \
	  "brunel_density.png" >&2

# AdEx firing patterns (Naud et al. 2008) under constant current: a trace plot each.
PATTERNS := regular_spiking fast_spiking bursting adapting initial_bursting
patterns: install
	@mkdir -p out/patterns
	@for m in $(PATTERNS); do \
	  $(MIIND) run examples/adex_patterns/pattern.toml --quiet --set population.0.model=$$m.toml \
	    -o out/patterns/$$m.h5 > /dev/null && \
	  $(MIIND) analyze out/patterns/$$m.h5 --trace out/patterns/$$m.png && \
	  echo "out/patterns/$$m.png"; \
	done

# Brunel's (2000) states A-D, density and direct networks side by side: figures and a
# table in out/brunel/ (benchmarks/brunel_states.py; e.g. BRUNEL_ARGS="--states C --t-end 2 --nest").
BRUNEL_ARGS ?=
brunel: install
	$(PY) benchmarks/brunel_states.py $(BRUNEL_ARGS)

# Synchrony of coupled AdEx and LIF networks against excitatory and gap coupling
# (examples/synchrony/): N = 8 and 100, 2 s runs, 6.5 min of CPU; SYNCHRONY_OPTIONS=--full
# for N = 3 to 1,000 (hours; `--strength` runs chosen points).
synchrony: install
	$(PY) -m examples.synchrony.study --out out/synchrony $(SYNCHRONY_OPTIONS)

test: install
	$(PY) -m pytest -q tests

bench: install
	$(PY) benchmarks/bench.py
	$(PY) benchmarks/bench_direct.py
	$(PY) benchmarks/bench_2d.py
	$(PY) benchmarks/bench_revisions.py
	$(PY) benchmarks/bench_steady.py
	$(PY) benchmarks/bench_input_rates.py
	$(PY) benchmarks/bench_brunel.py
	$(PY) benchmarks/bench_network.py

validate: install
	$(PY) benchmarks/validate.py
	$(PY) benchmarks/validate_2d.py
	$(PY) benchmarks/validate_defaults.py
	$(PY) -m tests.support.golden full

# The synchrony study's regimes in our direct simulator against Brian2 2.9 on the same
# networks (benchmarks/validate_synchrony.py; Brian2 in .bench/brian2-venv, installed by
# pip on first use): LIF and regular spiking AdEx, N = 100, 2 s runs: 4.6 min at load 8-9
# (Brian2 compiles for about 70 s on its first run).
# Resumes from out/validate_synchrony/results.jsonl; VALIDATE_SYNCHRONY_OPTIONS=--fresh.
validate-synchrony: install
	$(PY) benchmarks/validate_synchrony.py $(VALIDATE_SYNCHRONY_OPTIONS)

clean:
	rm -rf out .bench
