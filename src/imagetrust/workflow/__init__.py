"""``imagetrust workflow``: the GitHub Actions workflow that spreads ``run`` over shards.

- ``generate``: the workflow itself (jobs, caches, permissions, the history's home);
- ``actions``: the actions it uses, each pinned by a full commit SHA, and how to refresh them;
- ``projection``: the registry reads and pulls a run will need, from the stored catalog.
"""
