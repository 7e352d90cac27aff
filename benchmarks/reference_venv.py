"""What the reference sides (miind_side, brian2_side, nest_side) share: each reference
simulator lives in its own venv, created and filled by pip on first use.

Standard library only, like the sides: they run in any interpreter and import this
from their parent directory.
"""

import os
import subprocess
import sys
import venv


def venv_python(venv_dir):
    return os.path.join(os.path.abspath(venv_dir), "bin", "python")


def pip_install(venv_dir, requirements, log):
    """Create the venv at `venv_dir` (with the current python) if it is not there, and
    pip-install `requirements` into it, pip's output on stderr; whether pip succeeded.
    `log(message)` reports each of the two steps."""
    python = venv_python(venv_dir)
    if not os.path.exists(python):
        log("creating venv " + venv_dir)
        venv.EnvBuilder(with_pip=True, clear=False).create(venv_dir)
    log("pip install " + " ".join(repr(r) for r in requirements))
    done = subprocess.run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
                          + list(requirements), stdout=sys.stderr, stderr=sys.stderr)
    return done.returncode == 0


def run_side(side, simulator, side_error, work):
    """work()'s result, or None once why it failed is on stderr in one line: the side's
    own error (`side_error`), or a venv or subprocess that could not run `simulator`."""
    try:
        return work()
    except side_error as error:
        print("%s: %s" % (side, error), file=sys.stderr)
    except (OSError, subprocess.SubprocessError) as error:
        print("%s: cannot run %s: %s" % (side, simulator, error), file=sys.stderr)
    return None


def own_peak_rss_mb():
    """This process's peak RSS (MB), VmHWM of /proc/self/status, or None where there is
    none: getrusage's ru_maxrss starts at the RSS of the parent that (v)forked the
    process, so a small run under a large parent reports the parent's."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None
