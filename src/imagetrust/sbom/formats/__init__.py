"""The SBOM output formats: CycloneDX JSON, SPDX 2.3 JSON and imagetrust's own JSON.

All three are pure functions of an ``ImageSbom`` (plus, for the two standards, the tool
version and the run's clock), so the same analysis always gives byte-identical documents.

Import the module you need (``formats.native``, ``formats.cyclonedx``, ``formats.spdx``):
the standard formats pull in cyclonedx-python-lib and the SPDX license index, which the
native JSON output must not pay for.
"""
