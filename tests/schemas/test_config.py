"""hub.yaml: validation names file, key path and problem; secrets only as ${ENV} refs."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.cli.example import HUB_YAML
from schemas import ConfigError, load_config, resolve_env


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(text)
    return path


def test_the_example_config_is_valid(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, HUB_YAML))
    assert [c.name for c in cfg.connectors] == ["erp", "billing", "support", "web"]
    assert cfg.base_dir == tmp_path.resolve()


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, HUB_YAML))
    with pytest.raises(Exception, match="frozen"):
        cfg.connectors[0].name = "other"  # type: ignore[misc]


BAD = [
    (
        "unknown entity",
        "connectors:\n - {name: a, type: sql, streams: {s: {entity: robot}}}",
        "connectors.0.streams.s.entity",
    ),
    ("bad name", "connectors:\n - {name: 'Bad Name', type: sql}", "connectors.0.name"),
    (
        "duplicate names",
        "connectors:\n - {name: a, type: sql}\n - {name: a, type: files}",
        "repeated: a",
    ),
    ("unknown key", "stor: {}", "stor"),
    ("thresholds", "identity: {auto_merge_threshold: 0.5, review_threshold: 0.9}", "identity"),
    ("singer without command", "connectors:\n - {name: a, type: singer}", "executable"),
    ("not a mapping", "- a\n- b", "top level must be a mapping"),
    ("bad yaml", "connectors: [", "not valid YAML"),
]


@pytest.mark.parametrize(("case", "text", "where"), BAD, ids=[b[0] for b in BAD])
def test_errors_name_file_and_key_path(tmp_path: Path, case: str, text: str, where: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert where in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "connectors:\n - {name: a, type: sql, config: {password: hunter2}}",
        "connectors:\n - {name: a, type: sql, config: {api_key: sk_live_123}}",
        "store: {url: 'postgresql://u:hunter2@db/hub'}",
        "connectors:\n - {name: w, type: segment, config: {write_keys: ['${OK}', hunter2]}}",
    ],
    ids=["password", "api key", "url password", "write keys list"],
)
def test_secrets_in_clear_are_refused_without_echoing_them(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match=r"\$\{ENV_VAR\}") as info:
        load_config(write(tmp_path, text))
    assert "hunter2" not in str(info.value) and "sk_live" not in str(info.value)


def test_env_references_resolve_only_when_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "connectors:\n - {name: a, type: sql, config: {url: 'postgresql://u:${DB_PW}@h/d'}}"
    cfg = load_config(write(tmp_path, text))
    assert "${DB_PW}" in cfg.model_dump_json()  # the loaded config never holds the secret
    with pytest.raises(ConfigError, match="DB_PW is not set") as info:
        resolve_env(cfg.connectors[0].config, "connectors.a.config")
    assert "connectors.a.config.url" in str(info.value)
    monkeypatch.setenv("DB_PW", "s3cret")
    assert resolve_env(cfg.connectors[0].config)["url"] == "postgresql://u:s3cret@h/d"


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="crmhub init"):
        load_config(tmp_path / "nope.yaml")


MELTANO_INHERITANCE = """
connectors:
  - name: tap-postgres
    variant: meltanolabs
    pip_url: meltanolabs-tap-postgres==0.10.0
    keywords: [database]
    maintenance_status: active
    domain_url: https://www.postgresql.org
    hidden: false
    config: {host: erp-db, port: 5432, user: reader, database: erp}
    select: [public-customers.*]
    streams:
      public-customers: {entity: customer, mapping: {email: email}}
  - name: tap-postgres-billing
    inherit_from: tap-postgres
    config: {database: billing}
  - name: tap-postgres-archive
    inherit_from: tap-postgres-billing
    select: [public-*.*]
"""


def test_meltano_inherit_from_extends_a_block_of_the_same_file(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text(MELTANO_INHERITANCE, encoding="utf-8")
    cfg = load_config(tmp_path / "hub.yaml")
    parent, child, grandchild = cfg.connectors
    assert child.pip_url == parent.pip_url == "meltanolabs-tap-postgres==0.10.0"
    assert child.config == {**parent.config, "database": "billing"}
    assert (child.select, list(child.streams)) == (parent.select, ["public-customers"])
    assert grandchild.config["database"] == "billing" and grandchild.select == ["public-*.*"]
    assert parent.config["database"] == "erp"  # the parent is not touched
    # secrets may come from the parent's Meltano variables too
    assert child.env_prefixes() == ["TAP_POSTGRES_BILLING", "TAP_POSTGRES"]


@pytest.mark.parametrize(
    ("blocks", "said"),
    [
        (
            "  - {name: a, inherit_from: tap-nowhere}\n",
            "connector 'a': inherit_from 'tap-nowhere' names no connector of this hub.yaml "
            "(it has: none) — paste the parent's block too",
        ),
        (
            "  - {name: a, inherit_from: b}\n  - {name: b, inherit_from: a}\n",
            "inherit_from: a -> b -> a is a cycle",
        ),
    ],
    ids=["no such parent", "a cycle"],
)
def test_inherit_from_mistakes_are_named(tmp_path: Path, blocks: str, said: str) -> None:
    (tmp_path / "hub.yaml").write_text("connectors:\n" + blocks, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "hub.yaml")
    assert said in str(info.value)
