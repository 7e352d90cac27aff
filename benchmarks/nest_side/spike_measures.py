"""Measures of recorded spikes shared by the NEST worker (nest_brunel.py, inside NEST's
venv) and our side (benchmarks/brunel_states.py): numpy only, so that both interpreters
import it from this directory.
"""

import numpy as np

# Neurons with fewer spikes have one interval or none: no spread to measure.
MIN_SPIKES_FOR_CV = 3


def mean_cv_isi(senders, times):
    """Mean over neurons with >= MIN_SPIKES_FOR_CV spikes of std(ISI) / mean(ISI), and
    the number of such neurons; (None, 0) if there are none. `times` in any unit."""
    senders, times = np.asarray(senders), np.asarray(times, dtype=float)
    order = np.lexsort((times, senders))
    senders, times = senders[order], times[order]
    same = senders[1:] == senders[:-1]
    isi, owner = np.diff(times)[same], senders[1:][same]
    _, index, count = np.unique(owner, return_inverse=True, return_counts=True)
    total = np.bincount(index, weights=isi)
    squares = np.bincount(index, weights=isi * isi)
    keep = count >= MIN_SPIKES_FOR_CV - 1
    if not keep.any():
        return None, 0
    mean = total[keep] / count[keep]
    std = np.sqrt(np.maximum(squares[keep] / count[keep] - mean * mean, 0.0))
    return float(np.mean(std / mean)), int(keep.sum())
