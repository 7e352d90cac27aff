"""miind_cli: the `miind` command line and the analysis of its outputs."""

from meshgen import __version__

__all__ = ["__version__"]
