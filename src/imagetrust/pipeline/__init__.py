"""The pipeline: the stages joined into the jobs people run, in one place.

``catalog -> oci -> resolve -> sbom -> vulndb -> evaluate -> report`` are stages that each do
one thing; this package wires them together for ``run``, ``scan``, ``sbom`` and the demo,
so the command line only parses options and prints, and no job is wired twice. It takes
parsed values (``Reference``, ``PlatformSelection``, ``HomeLayout``), never the strings a
user typed, so nothing is parsed again further down.

- ``context``: what every job shares (home layout, settings, clock, store URL)
- ``catalog``: a catalog refresh from local folders, downloads, the Hub or a recording
- ``analysis``: an image's SBOMs through the layer cache
- ``scan``: SBOMs matched against the local vulnerability database
- ``run``: the main job (catalog, resolve, analyse what is new, match, store), with
  ``queue`` (what to do), ``workers`` (layer analysis in processes) and ``results``
  (one image's results, one transaction)
"""
