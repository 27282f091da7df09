"""catalog: every repository, its supported tags, deprecation state and popularity over time.

Three sources, each with its own module: the official-images ``library/`` manifests
(``library``), the docs repository (``docs``) and the Docker Hub API (``hub``). ``models``
holds their frozen records; ``assemble`` decides each repository's state from them;
``snapshots`` keeps every run as history in the store.
"""
