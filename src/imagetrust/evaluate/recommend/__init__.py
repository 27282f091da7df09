"""Recommendations: for every tag that is not approved, what to use instead and what it gains.

A rejected verdict says stop; this says where to go. ``build.recommend(conn, check, now=...)``
takes a policy check of the whole store and returns, per tag that is not approved, up to
three alternatives that are better under the same policy, each with what changes:

- ``variants``: a tag's version line and variant (``3.9-slim`` -> line 3, variant ``slim``),
  learnt from its repository's own tags, and the tags that keep that variant;
- ``notices``: the images a deprecation notice names (``openjdk`` -> ``eclipse-temurin``);
- ``model``: the records (alternative, gains per platform, not yet assessed);
- ``build``: the store reads and the ranking.
"""
