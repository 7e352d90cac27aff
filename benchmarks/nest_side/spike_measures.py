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


# ---------------------------------------------------------------- population rate spectra

# Welch segments of the first pass: 256 bins (3.9 Hz at 1 ms bins), fine enough for the
# fast rhythms of Brunel's states A-C (125-330 Hz) but 20% of state D's ~20 Hz.
FIRST_SEGMENT_BINS = 256
# Longer segments until one frequency bin is at most this fraction of the peak's
# frequency: the target for peaks is 10%, so a bin must be well within it.
PEAK_RELATIVE_RESOLUTION = 0.05
# Segments (half overlap) a spectrum keeps at least: fewer average too little noise away,
# so a segment is never longer than 2 / (MIN_SEGMENTS + 1) of the series.
MIN_SEGMENTS = 3


def welch(x, bin_width, segment_bins):
    """Welch's power spectral density of a series sampled every bin_width: periodic Hann
    windows of segment_bins samples, half overlap, each segment's mean removed, one-sided,
    averaged (scipy.signal.welch's defaults, which tests/unit/test_brunel_measures.py
    checks it against; numpy only, for NEST's venv). Returns (frequencies, power)."""
    x = np.asarray(x, dtype=float)
    n = int(segment_bins)
    hop = n - n // 2
    starts = np.arange(0, len(x) - n + 1, hop)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    segments = x[starts[:, None] + np.arange(n)]
    segments = (segments - segments.mean(axis=1, keepdims=True)) * window
    power = np.abs(np.fft.rfft(segments, axis=1)) ** 2 * (bin_width / np.sum(window ** 2))
    # one-sided: every frequency but 0 and (for even n) Nyquist stands for its negative too
    power[:, 1:(n + 1) // 2] *= 2
    return np.fft.rfftfreq(n, d=bin_width), power.mean(axis=0)


def highest_bin(freqs, power, from_frequency):
    """Index of the largest power above from_frequency."""
    above = np.flatnonzero(freqs > from_frequency)
    return int(above[np.argmax(power[above])])


def interpolated_peak(freqs, power, top):
    """The peak between bins: the vertex of the parabola through the logarithms of the
    powers at top - 1, top and top + 1 (exact for a Gaussian peak, the shape of a Hann
    window's main lobe to a few per cent); freqs[top] where there is no such parabola."""
    if not 0 < top < len(freqs) - 1 or np.any(power[top - 1:top + 2] <= 0):
        return float(freqs[top])
    below, at, above = np.log(power[top - 1:top + 2])
    curvature = below - 2 * at + above
    if curvature >= 0:
        return float(freqs[top])
    return float(freqs[top] + 0.5 * (below - above) / curvature * (freqs[1] - freqs[0]))


def spectrum_peak(rate, bin_width, from_frequency,
                  relative_resolution=PEAK_RELATIVE_RESOLUTION):
    """The frequency of the largest Welch power of a rate series above from_frequency.

    A first pass with FIRST_SEGMENT_BINS-sample segments finds the peak; the segments
    are then lengthened until a frequency bin is at most relative_resolution of the
    peak's frequency (or the series holds no more than MIN_SEGMENTS of them), and the
    peak is interpolated between bins (interpolated_peak). Returns a dict: peak, the
    highest bin's frequency, bin (the resolution), segment (samples), segments (how
    many averaged), resolved (bin <= relative_resolution x peak), freqs and power."""
    x = np.asarray(rate, dtype=float)
    longest = max(1, int(2 * len(x) / (MIN_SEGMENTS + 1)))
    segment = min(FIRST_SEGMENT_BINS, len(x))
    while True:
        freqs, power = welch(x, bin_width, segment)
        top = highest_bin(freqs, power, from_frequency)
        peak = interpolated_peak(freqs, power, top)
        wanted = int(np.ceil(1.0 / (relative_resolution * peak * bin_width)))
        if wanted <= segment or segment >= longest:
            break
        segment = min(wanted, longest)
    bin_size = float(freqs[1] - freqs[0])
    return {"peak": peak, "highest_bin": float(freqs[top]), "bin": bin_size,
            "segment": segment, "segments": int((len(x) - segment) // (segment - segment // 2)
                                                 + 1),
            "resolved": bool(bin_size <= relative_resolution * peak * (1 + 1e-9)),
            "freqs": freqs, "power": power}


def peak_figures(found):
    """spectrum_peak's result without its arrays (for JSON)."""
    return {k: v for k, v in found.items() if k not in ("freqs", "power")}


def refined_peak(rate, bin_width, from_frequency):
    """spectrum_peak's figures (peak_figures) of a rate series."""
    return peak_figures(spectrum_peak(rate, bin_width, from_frequency))
