"""`make synchrony` (examples/synchrony/study.py) end to end on one small case: every
point runs and is measured, the figures and the results are written, and the figures
can be redrawn from them."""

from __future__ import annotations

import json

import pytest

from examples.synchrony import cases, study


def test_the_study_runs_measures_and_draws(tmp_path, capsys):
    case = cases.CASES[-1]
    assert study.main(["--n", "3", "--t-end", "0.3", "--case", case.name,
                       "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())
    assert len(rows) == 2 * len(case.strengths)
    assert {r["status"] for r in rows} == {"ok"}
    assert all(0.0 <= r["locking"][0] <= 1.0 for r in rows)
    figures = [tmp_path / "sweep_N3.png", tmp_path / "rasters_N3.png"]
    assert capsys.readouterr().out.split() == [str(f) for f in figures]
    for figure in figures:
        figure.unlink()
    assert study.main(["--plot-only", "--out", str(tmp_path)]) == 0
    assert all(figure.stat().st_size > 0 for figure in figures)
    # Each point's simulation file is kept beside its output, to be re-run by hand.
    assert all((tmp_path / "runs" / f"{study.point_name(case, 3, s, b)}.toml").exists()
               for s in case.strengths for b in (False, True))


def test_chosen_strengths_replace_only_their_own_points(tmp_path, capsys):
    """A few points of a large N (`--strength`), run one after another: each run adds its
    points, without and with background, and replaces only the rows of the same case, N
    and strength; other strengths, other cases and other N stay. A strength the cases
    do not sweep is refused before anything runs."""
    first, other = [c for c in cases.CASES if c.coupling.name == "gap"][:2]
    strong = first.strengths[-1]

    def run(case, n_neurons, *strengths):
        return study.main(["--n", str(n_neurons), "--t-end", "0.1", "--case", case.name,
                           "--out", str(tmp_path), "--strength", *map(str, strengths)])

    for case, n_neurons, strength in ((first, 4, 0.0), (first, 3, 0.0), (other, 3, 0.0),
                                      (first, 3, strong), (first, 3, strong)):
        assert run(case, n_neurons, strength) == 0
    rows = json.loads((tmp_path / "results.json").read_text())
    points = sorted((r["case"], r["n_neurons"], r["strength"], r["background"]) for r in rows)
    assert points == sorted((case.name, n, s, b) for case, n, s in (
        (first, 4, 0.0), (first, 3, 0.0), (other, 3, 0.0), (first, 3, strong))
        for b in (False, True))
    with pytest.raises(SystemExit) as refused:
        run(first, 3, strong / 3)
    assert refused.value.code == 2
    assert f"--strength {strong / 3:g}: not swept by {first.name}" in capsys.readouterr().err
    assert json.loads((tmp_path / "results.json").read_text()) == rows
