"""vulndb: vulnerability records (OSV, Alpine secdb) in the store, and matching packages.

Records are imported with no network and indexed by (ecosystem, package), so matching an
image never scans the whole database; versions compare in their ecosystem's own order.
"""
