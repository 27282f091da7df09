"""Bundles: a store's records in one portable, compressed, versioned file.

CI shards each analyse part of the catalog in a store of their own; a bundle carries what a
shard found to the job that merges them into one history (``imagetrust export`` and
``imagetrust merge``). The format is a zip archive, readable by any unzip tool:

- ``manifest.json``: format name, schema version, when and by which imagetrust it was
  written, what it covers (``since``), and for every member its size and SHA-256;
- ``records/<kind>.jsonl``: one JSON object per line for each kind of record (runs, their
  errors, repositories, catalog snapshots, Hub tags, tag history, platforms, SBOM
  references, results, findings, evidence, observations, finding sets of every engine, the
  publisher's SBOMs, verdicts), in ``kinds.KINDS`` order;
- ``sboms/<sha256>.json``: the SBOM documents, content-addressed (named by the SHA-256 of
  their bytes), each stored once whatever refers to it.

Records name each other by natural keys (a repository by registry, namespace and name, a
result by digest and platform, a run by its number inside the bundle), never by a store's
row ids, so any store can take them. ``format`` writes and reads the archive within the
``[bundle]`` bounds; ``kinds`` holds one export and one merge function per kind of record,
in a registry, so a new table is one new kind; ``exchange`` runs an export or a merge.
"""
