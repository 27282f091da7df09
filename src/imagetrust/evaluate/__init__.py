"""The evaluate stage: evidence per analysed image, the facts a verdict will rest on.

It reads the stages to its left (catalog, oci, sbom) and the store, never the other way
round; ``evidence.evaluate_image`` is the one entry point for ``run``, the demo and
``imagetrust evaluate``, and ``stored`` is where the policy stage reads the records.
"""
