"""The project's HDF5 files: each carries a `format` and `format_version` stamp at its
root (stamp_root), checked before anything else is read (open_stamped), and units on
its datasets (write_dataset)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ..errors import ArtifactError


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


def stamp_root(f: h5py.File, file_format: str, version: int, input_hash: str,
               **attrs) -> None:
    """Write the root attributes every file of the project carries: its format and
    version (checked by open_stamped), the program that wrote it and the hash of its
    input, then `attrs`."""
    from .. import __version__

    f.attrs.update({"format": file_format, "format_version": version,
                    "created_by": f"miind-cli {__version__}", "input_hash": input_hash, **attrs})


def write_dataset(group, name: str, values, units: str, compress: bool = False):
    """group[name] = values with a `units` attribute; large arrays gzip-compressed
    if `compress`."""
    options = ({"compression": "gzip", "compression_opts": 4}
               if compress and np.size(values) > 1024 else {})
    group.create_dataset(name, data=values, **options)
    group[name].attrs["units"] = units
    return group[name]
