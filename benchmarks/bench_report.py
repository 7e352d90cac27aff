"""Reporting helpers shared by `bench.py` and `validate.py`: stderr messages,
markdown tables, the machine description and atomic JSON output.

Only the standard library, so that it works in any interpreter.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from meshgen.formats.atomic_file import atomic_output

REPO = Path(__file__).resolve().parent.parent
# The harness shared with the tests (tests/support) is not installed: the scripts,
# which run from benchmarks/, import it from the repository root.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
OUT_DIR = REPO / "out"


def log(message: str) -> None:
    """Progress for people: stderr, flushed so that it interleaves with subprocesses."""
    print(f"[{Path(sys.argv[0]).stem}] {message}", file=sys.stderr, flush=True)


def summary(values: list[float]) -> dict:
    """min / median / max of repeated timings, with the raw values kept."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values),
            "all": list(values), "repeat": len(values)}


def md_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value, digits: int = 3) -> str:
    """`digits` significant figures; '-' for a missing value."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}"


def percent(value, digits: int = 2, signed: bool = True) -> str:
    if value is None:
        return "-"
    return f"{100.0 * value:+.{digits}f}%" if signed else f"{100.0 * value:.{digits}f}%"


def machine_info() -> dict:
    """What a reader needs to judge the timings: CPU, cores, load, date, versions."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip() or None
    except OSError:
        commit = None
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "nproc": os.cpu_count(), "cpu": cpu, "load_average": load,
            "python": platform.python_version(), "git_commit": commit}


def machine_line(info: dict) -> str:
    load = info.get("load_average")
    load_text = ", ".join(f"{x:.2f}" for x in load) if load else "unknown"
    return (f"Machine: {info['cpu']}, nproc {info['nproc']}, load average {load_text} "
            f"(1/5/15 min); Python {info['python']}; commit {info['git_commit']}; "
            f"{info['date']}")


@contextlib.contextmanager
def work_directory(given: Path | None, prefix: str):
    """`given` (created if missing, and kept for inspection), or else a temporary
    directory removed at the end."""
    if given is not None:
        path = given.resolve()
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as temporary:
        yield Path(temporary)


def resumed_results(path: Path, fresh: bool) -> list[dict]:
    """The rows a resumable study has appended to `path` (JSON lines), one per finished
    point, so that a stopped run picks up where it was; none, and the file gone, with
    `fresh`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        path.unlink(missing_ok=True)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def write_json(path: Path, data: dict) -> None:
    """Atomic write (the project's own atomic_output: temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as temporary, open(temporary, "w") as f:
        json.dump(data, f, indent=1, default=_jsonable)
        f.write("\n")


def publish(text: str, path: Path, data: dict, seconds: float) -> None:
    """The report on stdout, its figures as JSON in `path`, a last line on stderr."""
    write_json(path, data)
    sys.stdout.write(text)
    log(f"JSON written to {path}; {seconds:.0f} s in all")


def _jsonable(value):
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
