"""hub.yaml's `analytics:` section as the engine's `AnalysisSpec`.

`schemas/` validates the shape (types, ranges); this checks what only the engine knows —
that an aggregation exists and a trait reads a column the prepared interactions have — and
says which key of hub.yaml is wrong. `crmhub check` runs it, so a bad trait is refused
before a scheduled run meets it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast, get_args

from analytics.frame import COLUMNS
from analytics.model import AnalysisSpec
from analytics.traits import Aggregation, Condition, TraitSpec
from schemas.config import AnalyticsConfig, ConfigError, TraitConfig

__all__ = ["AGGREGATIONS", "TRAIT_FIELDS", "spec_from_config"]

AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
# What a trait may read: the canonical columns plus what preparing them derives.
TRAIT_FIELDS: tuple[str, ...] = (*COLUMNS, "value", "purchase", "occurred_at")


def _trait(trait: TraitConfig, where: str) -> TraitSpec:
    if trait.aggregation not in AGGREGATIONS:
        raise ConfigError(
            f"{where}.aggregation: unknown {trait.aggregation!r}; "
            f"use one of {', '.join(AGGREGATIONS)}"
        )
    for key, name in (("field", trait.field), ("where.field", trait.where and trait.where.field)):
        if name and name not in TRAIT_FIELDS:
            raise ConfigError(
                f"{where}.{key}: no interaction column {name!r}; "
                f"use one of {', '.join(sorted(set(TRAIT_FIELDS)))}"
            )
    condition = None
    if trait.where is not None:
        condition = Condition(
            field=trait.where.field,
            op=trait.where.op,
            values=tuple(trait.where.values),
            number=trait.where.number,
        )
    return TraitSpec(
        name=trait.name,
        aggregation=cast(Aggregation, trait.aggregation),
        kinds=tuple(trait.kinds),
        field=trait.field,
        window_days=trait.window_days,
        offset_days=trait.offset_days,
        condition=condition,
        description=trait.description,
    )


def spec_from_config(config: AnalyticsConfig, base: AnalysisSpec | None = None) -> AnalysisSpec:
    """The built-in spec with hub.yaml's traits, horizon, margins and unit costs applied.

    A configured trait with the name of a built-in one replaces it; the others are added.
    Raises ConfigError naming the `analytics.traits[i]...` key that is wrong.
    """
    spec = base or AnalysisSpec()
    mine = [_trait(t, f"analytics.traits[{i}]") for i, t in enumerate(config.traits)]
    names = [t.name for t in mine]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"analytics.traits: trait names must be unique; repeated: {repeated}")
    replaced = {t.name: t for t in mine}
    traits = tuple(replaced.pop(t.name, t) for t in spec.traits) + tuple(replaced.values())
    value = replace(
        spec.value,
        default_margin_rate=config.default_margin_rate,
        category_margin_rates={**spec.value.category_margin_rates, **config.category_margin_rates},
        unit_costs={**spec.value.unit_costs, **config.unit_costs},
        purchase_model=config.purchase_model,
        clv_months=config.clv_months,
    )
    return replace(
        spec,
        traits=traits,
        value=value,
        input=replace(spec.input, base_currency=config.base_currency),
        churn=replace(spec.churn, horizon_days=config.horizon_days),
    )
