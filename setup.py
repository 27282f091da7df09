"""The one compiled part: the tar walker's pax header shortcut (src/imagetrust/sbom/_tarfast.c).

Optional: without a C compiler the install still succeeds and the walker uses its pure
Python path (the same results, a PAX-heavy layer ~10 % slower; bench/pax.py).
Everything else about the package is declared in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "imagetrust.sbom._tarfast",
            ["src/imagetrust/sbom/_tarfast.c"],
            optional=True,
        )
    ]
)
