"""Which options of `miind analyze` go together: one table, checked before anything
is read or written.

An action writes or prints something (--csv, --summary, ...); a modifier changes an
action (or another modifier: --burst-isi changes --phase-locking) and needs one of the
options it modifies; --mesh reads a mesh artifact and
takes nothing else. The names are the options' long names without the dashes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# What analyze can do, in the order its messages list them.
ACTIONS = ("summary", "csv", "plot", "raster", "trace", "spectrum", "compare", "density",
           "marginals", "movie")
# Modifier -> the actions it modifies (and why, where that is not plain).
MODIFIES = {
    "window": ("summary", "compare", "spectrum"),
    "bin": ("csv", "plot", "summary", "raster", "spectrum", "compare"),
    "population": ("density", "marginals", "movie"),
    # --movie shows every snapshot: no single time.
    "time": ("density", "marginals"),
    "log": ("density", "movie"),
    "fps": ("movie",),
    # The spike-time synchrony measures are entries of the summary's synchrony.
    "sttc": ("summary",),
    "phase_locking": ("summary",),
    "burst_isi": ("phase_locking",),
}
ALONE = "mesh"
# Options given by a number: given when not None (a 0 is given, and refused later).
NUMBERS = ("bin", "fps", "time", "sttc", "burst_isi")


@dataclass(frozen=True)
class AnalyzeOptions:
    """The options of one `miind analyze`, by long name (None or False: not given)."""

    csv: str | None = None  # a path, or "-" for stdout
    summary: bool = False
    window: str | None = None  # T0:T1 as typed (selection.parse_window)
    bin: float | None = None  # [s]
    plot: str | None = None
    raster: str | None = None
    trace: str | None = None
    spectrum: str | None = None
    compare: tuple[str, str] | None = None
    density: str | None = None
    marginals: str | None = None
    movie: str | None = None
    fps: float | None = None
    log: bool = False
    population: str | None = None
    time: float | None = None  # [s]
    mesh: str | None = None
    sttc: float | None = None  # coincidence window [s]
    phase_locking: bool = False
    burst_isi: float | None = None  # [s]

    def given(self) -> set[str]:
        """The long names of the options given, as combination_problem takes them."""
        return {field.name for field in fields(self)
                if (getattr(self, field.name) is not None if field.name in NUMBERS
                    else getattr(self, field.name))}

    def files(self) -> list[str]:
        """The files the options write (not "-", stdout)."""
        return [path for path in (self.csv, self.plot, self.density, self.raster,
                                  self.spectrum, self.trace, self.marginals, self.movie)
                if path and path != "-"]


def option_name(name: str) -> str:
    """--burst-isi for the field burst_isi: the option as it is typed."""
    return "--" + name.replace("_", "-")


def combination_problem(given: set[str]) -> str | None:
    """Why the options `given` (long names) do not go together, or None."""
    if ALONE in given:
        others = given - {ALONE}
        if others:
            return (f"--{ALONE} draws a mesh artifact and takes no other analyze option (those "
                    f"read a `miind run` output); got {_listed(sorted(others), 'and')}")
        return None
    if not given & set(ACTIONS):
        return f"nothing to do: give {_listed(list(ACTIONS) + [ALONE], 'or')}"
    for modifier, actions in MODIFIES.items():
        if modifier in given and not given & set(actions):
            return f"{option_name(modifier)} goes with {_listed(actions, 'or')}"
    return None


def _listed(names, conjunction: str) -> str:
    options = [option_name(name) for name in names]
    return options[0] if len(options) == 1 else \
        f"{', '.join(options[:-1])} {conjunction} {options[-1]}"
