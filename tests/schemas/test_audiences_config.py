"""hub.yaml `audiences:`: the rule's shape is checked on load, the trait names against the
engine's profile (load and `crmhub check`), each error naming its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.analyse.audiences import check_audiences, known_traits
from hub.analyse.settings import spec_from_config
from schemas import ConfigError, load_config

GOOD = """
audiences:
  - name: win_back
    description: valuable customers drifting away
    rule:
      all:
        - {trait: churn_risk, gte: 0.6}
        - {trait: stage, in: [retain, expand]}
        - not: {trait: next_best_offers, is_null: true}
    fields: [next_best_offers, customer_type]
    destinations:
      - {kind: webhook, url: "http://127.0.0.1:9/hook", secret: "${HOOK_SECRET}"}
      - {kind: file, path: exports, format: jsonl}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(text)
    return path


def test_a_good_audience_loads_and_passes_the_check(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    audience = cfg.audiences[0]
    assert audience.name == "win_back" and [d.kind for d in audience.destinations] == [
        "webhook",
        "file",
    ]
    assert audience.rule.all_ is not None and audience.rule.all_[1].value == ["retain", "expand"]
    check_audiences(cfg)  # no error


def test_an_unknown_trait_is_refused_with_its_key_path(tmp_path: Path) -> None:
    text = GOOD.replace("trait: stage", "trait: churnrisk")
    cfg = load_config(write(tmp_path, text))
    with pytest.raises(ConfigError) as info:
        check_audiences(cfg)
    message = str(info.value)
    assert message.startswith("audiences[0].rule.all[1].trait: unknown trait 'churnrisk' (known: ")
    assert "churn_risk" in message and "open_tickets" in message


def test_unknown_carried_fields_and_nested_paths_are_named(tmp_path: Path) -> None:
    text = GOOD.replace("next_best_offers, is_null", "nbo, is_null").replace(
        "customer_type]", "langauge]"
    )
    with pytest.raises(ConfigError) as info:
        check_audiences(load_config(write(tmp_path, text)))
    lines = str(info.value).splitlines()
    assert lines[0].startswith("audiences[0].rule.all[2].not.trait: unknown trait 'nbo'")
    assert lines[1].startswith("audiences[0].fields[1]: unknown trait 'langauge'")


def test_a_configured_trait_is_known(tmp_path: Path) -> None:
    text = (
        "analytics:\n  traits:\n    - {name: calls_30d, aggregation: count, kinds: [call], "
        "window_days: 30}\n" + GOOD.replace("trait: stage", "trait: calls_30d")
    )
    cfg = load_config(write(tmp_path, text))
    assert "calls_30d" in known_traits(spec_from_config(cfg.analytics))
    check_audiences(cfg)


BAD = [
    ("two operators", "{trait: churn_risk, gte: 0.6, lt: 0.9}", "exactly one operator"),
    ("no operator", "{trait: churn_risk}", "exactly one operator"),
    ("unknown operator", "{trait: churn_risk, gtee: 0.6}", "unknown key 'gtee'"),
    ("mixed forms", "{all: [{trait: a, eq: 1}], trait: b, eq: 2}", "a rule is one of"),
    ("empty all", "{all: []}", "at least 1 item"),
    ("between upside down", "{trait: clv_12m, between: [10, 1]}", "low 10.0 is above high 1.0"),
    ("code is not a rule", '"churn_risk > 0.6"', "rule"),
]


@pytest.mark.parametrize(("case", "rule", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_rule_shapes_are_refused_on_load(
    tmp_path: Path, case: str, rule: str, message: str
) -> None:
    path = write(tmp_path, f"audiences:\n  - name: a\n    rule: {rule}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "audiences.0.rule" in str(info.value) and message in str(info.value)


def test_secrets_and_names(tmp_path: Path) -> None:
    clear = GOOD.replace('"${HOOK_SECRET}"', "hunter2")
    with pytest.raises(ConfigError, match="secret"):
        load_config(write(tmp_path, clear))
    twice = GOOD + GOOD.split("audiences:\n", 1)[1]
    with pytest.raises(ConfigError, match="repeated: win_back"):
        load_config(write(tmp_path, twice))
    same_dest = GOOD.replace("kind: file, path", "kind: file, name: webhook, path")
    with pytest.raises(ConfigError, match="destination names must be unique"):
        load_config(write(tmp_path, same_dest))
