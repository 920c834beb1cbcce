"""hub.yaml `worklists:`: the rules' shape is checked on load with the key path and what to
do; trait names against the engine's profile at `crmhub check`; and the connector name
`hub` is reserved for the contacts logged in the hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.analyse.worklists import check_worklists
from schemas import ConfigError, load_config

GOOD = """
worklists:
  groups:
    field_team: [tom, tina]
  rules:
    - {name: birthdays, kind: birthday, days: 7, owner: anna}
    - name: service_due
      kind: service
      trait: next_renewal
      days: 30
      lead_days: 7
      group: field_team
      channel: in person
      action: Book the technician
    - {name: risk_rising, kind: churn_rise, min_value: 1000, min_rise: 0.15, owner: anna}
    - {name: welcome, kind: welcome, days: 14, after_days: 3, owner: anna, enabled: false}
"""


def write(tmp_path: Path, text: str) -> Path:
    if text.startswith("worklists: rules:"):  # one line: the section as a flow mapping
        text = f"worklists: {{{text.removeprefix('worklists: ').rstrip()}}}\n"
    path = tmp_path / "hub.yaml"
    path.write_text(text)
    return path


def test_good_rules_load_with_their_defaults_and_pass_the_check(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    birthdays, service, risk, welcome = cfg.worklists.rules
    assert (birthdays.read_trait, birthdays.suggested_channel) == ("birthday", "phone")
    assert birthdays.suggested_action == "Call to wish a happy birthday"
    assert (service.group, service.lead_days, service.suggested_channel) == (
        "field_team",
        7,
        "in person",
    )
    assert (risk.read_trait, risk.value_trait, risk.min_rise) == ("churn_risk", "clv_12m", 0.15)
    assert (welcome.read_trait, welcome.enabled) == ("tenure_days", False)
    assert cfg.worklists.groups == {"field_team": ["tom", "tina"]}
    check_worklists(cfg)  # every trait is known


def test_no_section_means_no_rules(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "version: 1\n")).worklists.rules == []


BAD = [
    ("unknown kind",
     "rules: [{name: a, kind: anniversary, owner: sam}]",
     "worklists.rules.0.kind: Input should be 'birthday', 'service', 'churn_rise' or 'welcome'"),
    ("no owner",
     "rules: [{name: a, kind: birthday}]",
     "worklists.rules.0: Value error, rule 'a': give either `owner` (a user name) or `group`"),
    ("owner and group",
     "{groups: {g: [sam]}, rules: [{name: a, kind: birthday, owner: sam, group: g}]}",
     "give either `owner` (a user name) or `group`"),
    ("group not defined",
     "{groups: {desk: [sam]}, rules: [{name: a, kind: birthday, group: field}]}",
     "worklists: Value error, rules[0].group: no group 'field' under worklists.groups "
     "(defined: desk)"),
    ("empty group",
     "{groups: {desk: []}, rules: []}",
     "groups.desk: empty; list at least one steward"),
    ("a key of another kind",
     "rules: [{name: a, kind: birthday, owner: sam, lead_days: 3}]",
     "rule 'a': lead_days do not apply to kind 'birthday'"),
    ("days on churn_rise",
     "rules: [{name: a, kind: churn_rise, owner: sam, days: 3}]",
     "rule 'a': days does not apply to kind 'churn_rise'"),
    ("rise over 1",
     "rules: [{name: a, kind: churn_rise, owner: sam, min_rise: 5}]",
     "worklists.rules.0.min_rise: Input should be less than or equal to 1"),
    ("negative window",
     "rules: [{name: a, kind: birthday, owner: sam, days: -1}]",
     "worklists.rules.0.days: Input should be greater than or equal to 0"),
    ("repeated names",
     "rules: [{name: a, kind: birthday, owner: sam}, {name: a, kind: welcome, owner: sam}]",
     "rule names must be unique; repeated: a"),
    ("misspelt key",
     "rules: [{name: a, kind: birthday, owner: sam, dayz: 3}]",
     "worklists.rules.0.dayz: unknown key 'dayz'"),
    ("bad name",
     "rules: [{name: Birthdays!, kind: birthday, owner: sam}]",
     "worklists.rules.0.name: String should match pattern"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "section", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_rule_is_refused_naming_its_key_path(
    tmp_path: Path, label: str, section: str, message: str
) -> None:
    path = write(tmp_path, f"worklists: {section}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}: " in str(error.value), label
    assert message in str(error.value), label


UNKNOWN = [
    ("rules: [{name: a, kind: birthday, owner: sam, trait: birth_day}]",
     "worklists.rules[0].trait: unknown trait 'birth_day' (known: "),
    ("rules: [{name: a, kind: birthday, owner: sam}, "
     "{name: b, kind: churn_rise, owner: sam, value_trait: lifetime_value}]",
     "worklists.rules[1].value_trait: unknown trait 'lifetime_value' (known: "),
    ("rules: [{name: a, kind: churn_rise, owner: sam}, "
     "{name: b, kind: churn_rise, owner: sam, trait: p_alive}]",
     "churn_rise rules read different risk traits (churn_risk, p_alive); use one"),
]  # fmt: skip


@pytest.mark.parametrize(("section", "message"), UNKNOWN)
def test_an_unknown_trait_is_refused_at_check_by_key_path(
    tmp_path: Path, section: str, message: str
) -> None:
    cfg = load_config(write(tmp_path, f"worklists: {section}\n"))  # the shape is fine
    with pytest.raises(ConfigError) as error:
        check_worklists(cfg)
    assert message in str(error.value)


def test_a_trait_declared_in_hub_yaml_may_be_read(tmp_path: Path) -> None:
    text = """
analytics:
  traits:
    - {name: next_service, aggregation: first, kinds: [equipment], field: renewal_at}
worklists:
  rules: [{name: s, kind: service, trait: next_service, owner: sam}]
"""
    check_worklists(load_config(write(tmp_path, text)))


def test_the_connector_name_hub_is_reserved(tmp_path: Path) -> None:
    path = write(tmp_path, "connectors:\n  - {name: hub, type: files}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "connectors.0.name" in str(error.value)
    assert "'hub' is reserved for contacts logged in the hub" in str(error.value)


def test_the_example_hub_yaml_rules_load_and_pass_the_check_once_uncommented(
    tmp_path: Path,
) -> None:
    from hub.cli.example import write_example

    write_example(tmp_path)
    text = (tmp_path / "hub.yaml").read_text()
    block = [line[2:] for line in text.splitlines() if line.startswith(("# worklists", "#   "))]
    assert len(block) == 6
    cfg = load_config(write(tmp_path, text + "\n".join(block) + "\n"))
    assert [r.kind for r in cfg.worklists.rules] == ["birthday", "service", "churn_rise", "welcome"]
    check_worklists(cfg)
