"""What ``run`` does after each image's SBOM and findings are written: evidence, verdict.

Runs inside the image's transaction (``results.record_analysed``), so an image's verdict
commits with the evidence and findings it rests on, or not at all. The evidence reads the
finding set just written; the index was read by the run, not again here, so supply chain is
what an earlier ``evaluate`` observed for the image, else unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagetrust.pipeline.context import PipelineContext

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from imagetrust.evaluate.evidence import EvaluationContext
    from imagetrust.evaluate.policy.model import Policy
    from imagetrust.pipeline.results import AnalysedImage


class EvaluateStep:
    """A post-analysis step: evidence and verdict for one image (one policy per run)."""

    def __init__(self, context: EvaluationContext, policy: Policy, namespace: str) -> None:
        self.context = context
        self.policy = policy
        self.namespace = namespace
        self.decided = 0

    @classmethod
    def for_run(cls, ctx: PipelineContext) -> EvaluateStep:
        from imagetrust.evaluate.eol import EolPolicy, load_eol_data
        from imagetrust.evaluate.evidence import EvaluationContext
        from imagetrust.evaluate.policy.loader import load_policy

        context = EvaluationContext(
            now=ctx.clock.now(),
            eol_data=load_eol_data(ctx.home.root),
            eol_policy=EolPolicy.of(ctx.settings.eol.until_eoes),
        )
        return cls(context, load_policy(), ctx.settings.hub.namespace)

    def __call__(self, conn: Connection, image: AnalysedImage) -> None:
        from imagetrust.evaluate.evidence import evaluate_image, subject_of_reference
        from imagetrust.evaluate.observe import load_observation
        from imagetrust.evaluate.policy.decide import decide
        from imagetrust.evaluate.policy.findings import FindingRef
        from imagetrust.evaluate.policy.stored import save_decision
        from imagetrust.evaluate.stored import previous_subject, save_evidence

        sbom = image.sbom
        subject = subject_of_reference(sbom.reference, namespace=self.namespace)
        if subject is None:
            subject = previous_subject(conn, sbom.digest, sbom.reference)
        observation = load_observation(conn, sbom.digest, sbom.index_digest)
        evidence = evaluate_image(
            conn, sbom, self.context, subject=subject, observation=observation
        )
        save_evidence(conn, evidence)
        findings = [FindingRef.of(f) for f in image.findings]
        decision = decide(evidence, self.policy, now=self.context.now, findings=findings)
        save_decision(conn, decision)
        self.decided += 1
