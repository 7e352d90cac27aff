"""Checksums of every example's mesh artifact and run output, so that a change meant to
keep behaviour (a refactoring) can be shown to keep it bit for bit.

Each HDF5 object is digested by its name, dtype, shape and bytes, and by its attributes
except the provenance ones (who wrote it, from which file and path, and the `units`
strings, which name a quantity without changing it). Two profiles:

- "quick": the examples with coarse meshes and short runs, pinned by
  tests/cli/test_examples.py against tests/data/golden_quick.json;
- "full": the examples as written (about 10 minutes), checked by `make validate`
  against tests/data/golden_full.json.

    python -m tests.support.golden {quick,full} [--write]   # --write: store new digests
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DATA = ROOT / "tests" / "data"

# Attributes that say where and by whom a file was made, not what it holds.
PROVENANCE = {"created_by", "simulation_file", "simulation", "mesh", "input_hash", "units"}


def file_digests(path: str | Path) -> dict[str, str]:
    """Object name -> a 16-hex-digit digest of its data and non-provenance attributes."""
    digests = {}

    def attrs_text(obj) -> str:
        return json.dumps({key: _plain(value) for key, value in sorted(obj.attrs.items())
                           if key not in PROVENANCE}, sort_keys=True)

    def visit(name, obj):
        digest = hashlib.sha256(attrs_text(obj).encode())
        if isinstance(obj, h5py.Dataset):
            values = np.ascontiguousarray(obj[()])
            digest.update(f"{values.dtype.str}{values.shape}".encode())
            digest.update(values.tobytes())
        digests[name] = digest.hexdigest()[:16]

    with h5py.File(path, "r") as f:
        digests["/"] = hashlib.sha256(attrs_text(f).encode()).hexdigest()[:16]
        f.visititems(visit)
    return digests


def _plain(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class Case:
    """One example: a model meshed (or none, for direct-only simulations) and the
    simulation files run on it, each with --set overrides per profile."""

    name: str
    model: str | None
    simulations: tuple[str, ...]
    mesh_population: str | tuple[str, ...] | None = None
    quick_mesh: tuple[str, ...] = ()
    quick_run: tuple[str, ...] = ()
    full_run: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


def _coarse_across_jumps(model: str) -> tuple[str, ...]:
    """Ten cells along every variable without jumps (a jump shorter than a cell is refused)."""
    settings = tomllib.loads((EXAMPLES / model).read_text())["mesh"]
    jumping = (list(settings["efficacies"]) if isinstance(settings["efficacies"], dict)
               else ["v"])
    return tuple(f"mesh.resolution.{name}=10" for name in settings.get("resolution", {})
                 if name not in jumping)


_BRIEF_2D = ("population.direct.n_neurons=50", "simulation.t_end=0.02")
CASES = (
    Case("lif", "lif/lif.toml", ("lif/simulation.toml",), "lif",
         quick_run=("simulation.t_end=0.05",)),
    Case("lif_compare", "lif/lif.toml", ("lif/compare_methods.toml",), "density",
         quick_run=("simulation.t_end=0.05",)),
    *(Case(f"pattern_{pattern}", None, ("adex_patterns/pattern.toml",),
           quick_run=(f"population.0.model={pattern}.toml", "simulation.t_end=0.1"),
           full_run=(f"population.0.model={pattern}.toml",))
      for pattern in ("regular_spiking", "fast_spiking", "bursting", "adapting",
                      "initial_bursting")),
    *(Case(f"grid2d_{Path(model).stem}", f"grid2d/{model}", (f"grid2d/{simulation}",), "grid",
           quick_mesh=_coarse_across_jumps(f"grid2d/{model}"), quick_run=_BRIEF_2D)
      for model, simulation in (("adex.toml", "adex_sim.toml"),
                                ("adex_validate_model.toml", "adex_validate_sim.toml"),
                                ("izhikevich.toml", "izhikevich_sim.toml"),
                                ("conductance_lif.toml", "conductance_lif_sim.toml"),
                                ("fitzhugh_nagumo.toml", "fitzhugh_nagumo_sim.toml"))),
    Case("strips2d_adex", "strips2d/adex.toml", ("grid2d/adex_sim.toml",), "grid",
         quick_mesh=("mesh.resolution.v=40", "mesh.dt=5e-4"), quick_run=_BRIEF_2D),
    Case("strips2d_izhikevich", "strips2d/izhikevich.toml", ("grid2d/izhikevich_sim.toml",),
         "grid", quick_mesh=("mesh.resolution.v=115", "mesh.dt=2e-4"), quick_run=_BRIEF_2D),
    # Both populations on the one mesh (set once for each); as written a 1 s run takes
    # minutes (issue 12), so the full profile runs 50 ms of it.
    Case("brunel", "brunel/lif.toml", ("brunel/network.toml",), ("e", "i"),
         quick_run=("simulation.t_end=0.005",),
         full_run=("simulation.t_end=0.05",)),
)


def _sets(settings) -> list[str]:
    return [word for item in settings for word in ("--set", item)]


def run_case(case: Case, profile: str, directory: Path) -> dict[str, dict[str, str]]:
    """Mesh and run `case` in `directory` with the CLI; file label -> its digests."""
    from click.testing import CliRunner

    from miind_cli.cli import cli

    def invoke(*args):
        result = CliRunner().invoke(cli, [str(a) for a in args])
        if result.exit_code != 0:
            raise RuntimeError(f"{case.name}: miind {' '.join(map(str, args))} exited "
                               f"{result.exit_code}: {result.output}{result.exception!r}")

    quick = profile == "quick"
    found = {}
    overrides = []
    if case.model:
        mesh = directory / f"{case.name}_mesh.h5"
        invoke("mesh", EXAMPLES / case.model, "-o", mesh, "--quiet",
               *_sets(case.quick_mesh if quick else ()))
        found["mesh"] = file_digests(mesh)
        populations = ((case.mesh_population,) if isinstance(case.mesh_population, str)
                       else case.mesh_population)
        overrides += [f"population.{name}.mesh={mesh}" for name in populations]
    for simulation in case.simulations:
        output = directory / f"{case.name}_{Path(simulation).stem}.h5"
        invoke("run", EXAMPLES / simulation, "-o", output, "--quiet",
               *_sets(overrides + list(case.quick_run if quick else case.full_run)))
        found[f"run {simulation}"] = file_digests(output)
    return found


def golden_path(profile: str) -> Path:
    return DATA / f"golden_{profile}.json"


def differences(stored: dict, found: dict) -> list[str]:
    """The objects whose digests differ, as "case: file: object" lines."""
    lines = []
    for label in sorted(set(stored) | set(found)):
        old, new = stored.get(label, {}), found.get(label, {})
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                lines.append(f"{label}: {name}: {old.get(name, 'absent')} -> "
                             f"{new.get(name, 'absent')}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", choices=("quick", "full"))
    parser.add_argument("--write", action="store_true", help="store the digests found")
    parser.add_argument("--case", action="append", help="only these cases")
    args = parser.parse_args(argv)
    path = golden_path(args.profile)
    stored = json.loads(path.read_text()) if path.exists() else {}
    cases = [c for c in CASES if not args.case or c.name in args.case]
    found = {}
    with tempfile.TemporaryDirectory() as directory:
        for case in cases:
            found[case.name] = run_case(case, args.profile, Path(directory))
            print(f"{case.name}: done", file=sys.stderr)
    if args.write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**stored, **found}, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path}")
        return 0
    lines = [line for case in cases for line in
             differences(stored.get(case.name, {}), found[case.name])]
    for line in lines:
        print(line)
    print(f"{len(cases)} cases, {len(lines)} objects differ from {path.name}")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
