"""The project's exceptions.

Library code raises these; the command line turns them into one-line messages and
exit codes. Each carries the file and the key it is about, so the message can name
them without the caller knowing where the problem came from.
"""

from __future__ import annotations


class MiindError(Exception):
    """Base class of every error meant for the user, not for a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.key = key

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(str(self.path))
        if self.key:
            where.append(f"[{self.key}]")
        prefix = ": ".join([" ".join(where)]) if where else ""
        return f"{prefix}: {self.message}" if prefix else self.message


class ConfigError(MiindError):
    """A model or simulation file (or a --set override) is malformed or inconsistent."""

    exit_code = 3


class ArtifactError(MiindError):
    """A mesh artifact or output file is missing, unreadable or incompatible."""

    exit_code = 4


class MeshError(MiindError):
    """The model cannot be meshed as asked (too coarse, too large, diverging ODE)."""

    exit_code = 5


class SimulationError(MiindError):
    """The solver met a state it cannot continue from (non-finite rates, say)."""

    exit_code = 6
