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
    return records.apply(session, tenant_id, Deal, _placed(session, tenant_id, change, {}))


def apply_many(session: Session, tenant_id: int, changes: list[records.Change]) -> int:
    """records.apply_many for a page of deals; each pipeline and stage is looked up once."""
    known: dict[tuple[type, str], int | None] = {}
    return records.apply_many(session, tenant_id, Deal, [_placed(session, tenant_id, c, known) for c in changes])


def _placed(session: Session, tenant_id: int, change: records.Change,
            known: dict[tuple[type, str], int | None]) -> records.Change:
    """The change with the pipeline's and stage's provider ids replaced by their rows' ids."""
    values = dict(change.values)
    for column, model in (("pipeline_id", Pipeline), ("stage_id", PipelineStage)):
        if change.delete or column not in values:
            continue
        key = (model, values[column])
        if key not in known:
            extra = {"pipeline_id": values.get("pipeline_id")} if model is PipelineStage else {}
            known[key] = records.reference(session, tenant_id, model, change.provider, values[column], **extra)
        values[column] = known[key]
    return replace(change, values=values)


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
