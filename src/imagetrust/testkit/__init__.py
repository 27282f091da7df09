"""Tooling that makes test and demo inputs: real images, registry pushes, Hub recordings.

These write what the stages read (OCI layouts, ``docker save`` archives, registry content,
replayed Docker Hub answers), so they live apart from the stages they feed: a stage never
imports this package, and what a stage does can never depend on how a fixture was made.
It ships with imagetrust because ``imagetrust demo`` builds its images with it at run time.

- ``builder``: deterministic images from root filesystems (layers, configs, indexes,
  attestations), written as OCI layouts or docker archives
- ``push``: the registry push side of the distribution API, for what ``builder`` made
- ``hub_recording``: Docker Hub API pages saved as files, read through the live parsers
"""
