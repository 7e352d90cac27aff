"""Opening the project's HDF5 files: each carries a `format` and `format_version`
stamp at its root, checked before anything else is read."""

from __future__ import annotations

from pathlib import Path

import h5py

from .errors import ArtifactError


def open_stamped(path: str | Path, file_format: str, version: int, what: str,
                 remake: str) -> h5py.File:
    """Open `path` for reading if it is a `file_format` file of `version`; otherwise
    an ArtifactError that says what the file is and what to do (`remake`: the
    command that rebuilds it)."""
    path = str(path)
    if not Path(path).is_file():
        raise ArtifactError(f"{what} not found (make it with {remake})", path=path)
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise ArtifactError(f"not an HDF5 file, so not a {what}", path=path) from None
    found = f.attrs.get("format")
    if found != file_format:
        f.close()
        raise ArtifactError(f"not a {what} (format {found!r}, expected {file_format!r})", path=path)
    found_version = int(f.attrs.get("format_version", -1))
    if found_version != version:
        f.close()
        advice = "upgrade miind-cli to read it" if found_version > version else f"re-run {remake}"
        raise ArtifactError(f"{what} format version {found_version} is not supported by this "
                            f"miind-cli (reads version {version}); {advice}", path=path)
    return f
