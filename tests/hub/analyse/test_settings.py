"""hub.yaml's `analytics:` section becomes the engine's spec; mistakes name their key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analytics import analyse, describe_purchase_model
from analytics.model import AnalysisSpec
from benchmarks.analytics.generator import AS_OF, generate
from hub.analyse.settings import AGGREGATIONS, spec_from_config
from hub.cli.example import write_example
from schemas.config import AnalyticsConfig, ConfigError


def config(**values: object) -> AnalyticsConfig:
    return AnalyticsConfig.model_validate(values)


def test_defaults_are_the_engines_defaults() -> None:
    assert spec_from_config(config()) == AnalysisSpec()


def test_a_configured_trait_is_added_and_a_same_named_one_replaces_the_built_in() -> None:
    built_in = AnalysisSpec().traits[0].name
    spec = spec_from_config(
        config(
            traits=[
                {
                    "name": "visits_90d",
                    "aggregation": "count",
                    "kinds": ["visit"],
                    "window_days": 90,
                },
                {"name": built_in, "aggregation": "max", "field": "amount"},
            ]
        )
    )
    names = [t.name for t in spec.traits]
    assert names.count(built_in) == 1 and names[-1] == "visits_90d"
    assert len(names) == len(AnalysisSpec().traits) + 1
    replaced = next(t for t in spec.traits if t.name == built_in)
    assert (replaced.aggregation, replaced.field) == ("max", "amount")
    visits = spec.traits[-1]
    assert (visits.kinds, visits.window_days, visits.condition) == (("visit",), 90, None)


def test_value_rules_merge_over_the_built_in_ones() -> None:
    spec = spec_from_config(
        config(
            horizon_days=30,
            default_margin_rate=0.2,
            category_margin_rates={"boilers": 0.4},
            unit_costs={"visit": 55},
            base_currency="HUF",
        )
    )
    assert spec.churn.horizon_days == 30
    assert spec.value.default_margin_rate == 0.2
    assert spec.value.category_margin_rates == {"boilers": 0.4}
    assert spec.value.unit_costs["visit"] == 55
    assert spec.value.unit_costs["ticket"] == AnalysisSpec().value.unit_costs["ticket"]
    assert spec.input.base_currency == "HUF"


@pytest.mark.parametrize(
    ("trait", "message"),
    [
        (
            {"name": "x", "aggregation": "avg"},
            r"analytics\.traits\[0\]\.aggregation: unknown 'avg'",
        ),
        (
            {"name": "x", "aggregation": "sum", "field": "price"},
            r"traits\[0\]\.field: no .*'price'",
        ),
        (
            {"name": "x", "aggregation": "count", "where": {"field": "mood", "op": "true"}},
            r"traits\[0\]\.where\.field: no interaction column 'mood'",
        ),
    ],
)
def test_a_bad_trait_names_its_key(trait: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        spec_from_config(config(traits=[trait]))


def test_repeated_trait_names_are_refused() -> None:
    twice = [{"name": "x", "aggregation": "count"}, {"name": "x", "aggregation": "sum"}]
    with pytest.raises(ConfigError, match="repeated"):
        spec_from_config(config(traits=twice))


def test_every_engine_aggregation_is_accepted() -> None:
    traits = [{"name": f"t{i}", "aggregation": a} for i, a in enumerate(AGGREGATIONS)]
    assert len(spec_from_config(config(traits=traits)).traits) > len(AGGREGATIONS)


def test_crmhub_check_refuses_an_unknown_aggregation(tmp_path: Path) -> None:
    write_example(tmp_path)
    hub_yaml = tmp_path / "hub.yaml"
    hub_yaml.write_text(hub_yaml.read_text().replace("aggregation: count", "aggregation: average"))
    done = subprocess.run(
        [sys.executable, "-m", "hub", "check", "-c", str(hub_yaml)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "analytics.traits[0].aggregation: unknown 'average'" in done.stderr


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("bgnbd", "BG/NBD"),
        ("pareto", "Pareto/NBD"),
        ("regime", "BG/NBD with a new-customer regime"),
    ],
)
def test_the_purchase_model_and_value_horizon_come_from_hub_yaml(model: str, words: str) -> None:
    spec = spec_from_config(config(purchase_model=model, clv_months=24))
    assert (spec.value.purchase_model, spec.value.clv_months) == (model, 24)
    data = generate(300, seed=5)  # enough buyers to fit: the model asked for is the one used
    result = analyse(data.interactions, AS_OF.tz_localize(None), spec)
    assert describe_purchase_model(result.bgnbd) == words


@pytest.mark.parametrize(
    ("values", "key"),
    [({"purchase_model": "lifetimes"}, "purchase_model"), ({"clv_months": 0}, "clv_months")],
)
def test_a_bad_purchase_model_or_horizon_names_its_key(values: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        config(**values)
