"""Which options of `miind analyze` go together: one table, checked before anything
is read or written.

An action writes or prints something (--csv, --summary, ...); a modifier changes an
action and needs one of the actions it modifies; --mesh reads a mesh artifact and
takes nothing else. The names are the options' long names without the dashes.
"""

from __future__ import annotations

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
}
ALONE = "mesh"


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
            return f"--{modifier} goes with {_listed(actions, 'or')}"
    return None


def _listed(names, conjunction: str) -> str:
    options = [f"--{name}" for name in names]
    return options[0] if len(options) == 1 else \
        f"{', '.join(options[:-1])} {conjunction} {options[-1]}"
