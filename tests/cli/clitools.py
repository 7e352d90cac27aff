"""Input files and checks shared by the command-line tests.

The files are written from strings, so a test shows the exact TOML a user would
write. Tests change one line of a valid file with `edit`, which refuses to change
nothing (a test whose edit silently missed would test the valid file).

(A module with its own name rather than imports from conftest.py: other test folders
have conftest modules of their own.)
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from miind_cli.cli import cli

# A LIF model as in examples/lif/lif.toml: tau = 10 ms, reset at the leak potential.
LIF_MODEL = """\
[model]
kind = "lif"

[model.parameters]
tau = 0.01
E_l = -65.0

[model.spike]
threshold = -50.2
reset = -65.0
refractory = 0.0

[mesh]
v_range = [-70.0, -50.2]
efficacies = [1.0]
"""

# A custom model with the LIF equation, for the expression compiler's error paths.
CUSTOM_MODEL = """\
[model]
kind = "custom"
variables = ["v"]
equations = ["dv/dt = (E_l - v)/tau"]

[model.parameters]
tau = 0.01
E_l = -65.0

[model.spike]
threshold = -50.2
reset = -65.0
refractory = 0.0

[mesh]
v_range = [-70.0, -50.2]
efficacies = [1.0]
"""

# 50 ms of one LIF population driven by 1000 Hz of 1 mV jumps: about 740 mesh steps,
# long enough for the second-half mean and the 20-50 ms summary window.
T_END = 0.05
SIMULATION = """\
[simulation]
t_end = 0.05

[[population]]
name = "lif"
mesh = 'MESH'
initial = { v = -65.0 }

[[input]]
name = "drive"
rate = 1000.0

[[connection]]
source = "drive"
target = "lif"
efficacy = 1.0

[output]
density_interval = 0.01
"""


def edit(text: str, old: str, new: str) -> str:
    """`text` with `old` (which must occur exactly once) replaced by `new`."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the template"
    return text.replace(old, new)


def simulation_text(mesh: Path | str) -> str:
    """The simulation file with the mesh given by absolute path (a TOML literal string)."""
    return edit(SIMULATION, "MESH", str(mesh))


def invoke(*args: str):
    """Run `miind ARGS...` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def leftovers(output: Path) -> list[Path]:
    """The output file and any temporary `.NAME.partial-*` beside it that exist."""
    found = [output] if output.exists() else []
    return found + sorted(output.parent.glob(f".{output.name}.partial-*"))


def assert_error(result, exit_code: int, *, file: Path | str | None = None,
                 key: str | None = None, says: tuple[str, ...] = (),
                 output: Path | None = None) -> str:
    """The command failed with `exit_code` and one line `error: FILE [KEY]: ...` on
    stderr that contains each of `says`; nothing was written to stdout or `output`.
    Returns the message."""
    detail = f"stdout={result.stdout!r} stderr={result.stderr!r} exception={result.exception!r}"
    assert result.exit_code == exit_code, detail
    message = result.stderr.strip()
    assert "\n" not in message, f"the error is not one line: {message!r}"
    assert message.startswith("error: "), detail
    if file is not None and key is not None:
        assert message.startswith(f"error: {file} [{key}]: "), detail
    elif file is not None:
        assert str(file) in message, detail
    elif key is not None:
        assert f"[{key}]" in message, detail
    for fragment in says:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert result.stdout == "", f"results printed on a failure: {result.stdout!r}"
    if output is not None:
        assert leftovers(output) == [], f"left behind after the error: {leftovers(output)}"
    return message


def assert_ok(result) -> None:
    assert result.exit_code == 0, (
        f"exit {result.exit_code}: stderr={result.stderr!r} exception={result.exception!r}")
