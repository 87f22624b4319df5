"""Deals (opportunities), placed in their pipeline and stage."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from hookline.models import Deal, Pipeline, PipelineStage
from hookline.services import records


def apply(session: Session, tenant_id: int, change: records.Change) -> int | None:
    """records.apply for a deal whose values name its pipeline and stage by the provider's ids.

    The pipeline and stage rows are made bare when first named (webhooks carry no names).
    """
    values = dict(change.values)
    if not change.delete and "pipeline_id" in values:
        values["pipeline_id"] = records.reference(session, tenant_id, Pipeline, change.provider, values["pipeline_id"])
    if not change.delete and "stage_id" in values:
        values["stage_id"] = records.reference(session, tenant_id, PipelineStage, change.provider, values["stage_id"],
                                               pipeline_id=values.get("pipeline_id"))
    return records.apply(session, tenant_id, Deal, replace(change, values=values))


def apply_pipeline(session: Session, tenant_id: int, provider: str, external_id: str, name: str | None,
                   stages: list[tuple[str, str | None]], *, version: datetime) -> int:
    """The pipeline and its stages (id, name) in their order, as the API lists them; returns the pipeline's id.

    Webhooks name pipelines and stages by id only, so this is where their names come from.
    """
    records.apply(session, tenant_id, Pipeline, records.Change(provider, external_id, version, {"name": name}))
    pipeline_id = records.reference(session, tenant_id, Pipeline, provider, external_id)
    for position, (stage_id, stage_name) in enumerate(stages):
        values = {"name": stage_name, "position": position, "pipeline_id": pipeline_id}
        records.apply(session, tenant_id, PipelineStage, records.Change(provider, stage_id, version, values))
    assert pipeline_id is not None  # external_id is given
    return pipeline_id
