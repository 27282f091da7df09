"""Resolve: from the catalog (or a list of images) to the digests to analyse.

- ``models``: the request (tag policy, platforms, repositories) and its answer (targets,
  entries not covered, problems)
- ``catalog_tags``: which tags of which repositories a policy picks, from the stored catalog
- ``images_file``: a company's own images, one reference per line, any registry
- ``resolver``: tags to digests (the Hub's listing or a ``HEAD``, both free of pulls),
  tags sharing a digest joined into one target, every observation kept in the tag history
"""
