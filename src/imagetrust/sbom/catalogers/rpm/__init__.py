"""rpm packages, read from rpm's databases in pure Python (no librpm at run time).

``header`` decodes header blobs; ``sqlite``, ``ndb`` and ``bdb`` pull the blobs out of
each database format; ``cataloger`` ties them together as the ``rpm`` cataloger.
"""

from imagetrust.sbom.catalogers.rpm.cataloger import RpmCataloger

__all__ = ["RpmCataloger"]
