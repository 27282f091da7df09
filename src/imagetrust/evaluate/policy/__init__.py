"""Policy: the stored evidence of an image turned into a verdict, a grade and its reasons.

A YAML policy (``evaluate/data/policy.yaml`` ships as the default; ``--policy FILE``
overrides it key by key) gives each rule a weight and flags. ``decide.decide`` is the one
entry point: it takes one image's ``Evidence`` (and, where they are stored, its findings),
the policy, the OpenVEX statements and the clock, and returns a ``Decision``: ``approved``,
``conditional`` (with its conditions) or ``rejected``, an A-F grade, the score, and every
reason as a rule id with the evidence behind it. It reads and writes nothing, so ``run``
can call it inside an image's transaction and ``policy check`` over the whole store.

- ``model``: the records (policy, exception, reason, decision);
- ``loader``: the YAML file, validated with errors naming the file and line;
- ``rules``: what each rule reads in the evidence, and when it fires;
- ``findings`` and ``vex``: single findings, and the OpenVEX statements that suppress them;
- ``rollup``: a tag takes its platforms' worst verdict, a repository its default tag's;
- ``stored``: the verdict rows (history kept) and the current evidence of every image;
- ``allowlist``: the approved images pinned by digest (text, JSON, a Kyverno ClusterPolicy).
"""
