"""imagetrust: which container images can we trust today, and why.

The package is laid out by pipeline stage (catalog, oci, resolve, sbom, vulndb, evaluate,
report); ``store`` is shared by all stages, ``cli``, ``workflow`` and ``demo`` sit on top.
Importing this package must stay cheap: the command line starts in well under 150 ms, so
heavy libraries are imported inside the functions that need them.
"""

__version__ = "0.1.0"
