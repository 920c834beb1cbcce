"""A meltano.yml extractor block in hub.yaml (schemas.config): accepted as is; its settings
read from Meltano's `TAP_NAME_SETTING` variables and `${VAR}` references; mistakes named
by their key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemas.config import ConfigError, ConnectorConfig, load_config, resolve_connector_config

# a block as `meltano add extractor tap-postgres --variant meltanolabs`, `meltano config`
# and `meltano select` leave it (with the lock file's definition keys inlined)
MELTANO_BLOCK = """\
connectors:
  - name: tap-postgres
    variant: meltanolabs
    pip_url: meltanolabs-tap-postgres==0.10.0
    namespace: tap_postgres
    label: PostgreSQL
    description: PostgreSQL database extractor
    docs: https://hub.meltano.com/extractors/tap-postgres--meltanolabs
    repo: https://github.com/MeltanoLabs/tap-postgres
    logo_url: https://hub.meltano.com/assets/logos/extractors/postgres.png
    executable: tap-postgres
    capabilities: [catalog, discover, state, about, stream-maps]
    settings_group_validation:
      - [host, port, user, password, database]
      - [sqlalchemy_url]
    settings:
      - name: host
        label: Host
        description: Hostname for postgres instance.
      - name: port
        kind: integer
        value: 5432
      - name: user
      - name: password
        kind: password
        sensitive: true
      - name: database
      - name: filter_schemas
        kind: array
      - name: ssl_enable
        kind: boolean
        value: false
      - name: ssh_tunnel.private_key
        kind: password
      - name: sqlalchemy_url
        kind: password
        placeholder: postgresql://user:pass@host/db
        options: []
    config:
      host: erp.internal
      user: reader
      database: erp
    select:
      - public-customers.*
      - "!public-customers.internal_note"
      - public-orders.*
    metadata:
      public-*:
        replication-method: INCREMENTAL
        replication-key: updated_at
    schema:
      public-orders:
        amount: {type: [string, "null"]}
    select_filter: [public-*]
    load_schema: erp
"""


def load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "hub.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_a_meltano_block_is_accepted_as_is(tmp_path: Path) -> None:
    [conn] = load(tmp_path, MELTANO_BLOCK).connectors
    assert conn.type == "singer"  # the default for a block with pip_url / executable
    assert conn.namespace == "tap_postgres" and conn.variant == "meltanolabs"
    assert conn.select == [
        "public-customers.*",
        "!public-customers.internal_note",
        "public-orders.*",
    ]
    assert conn.metadata == {
        "public-*": {"replication-method": "INCREMENTAL", "replication-key": "updated_at"}
    }
    assert conn.schema_ == {"public-orders": {"amount": {"type": ["string", "null"]}}}
    assert conn.env_prefixes() == ["TAP_POSTGRES"]
    # secrets by kind, by `sensitive`, or by name
    assert conn.secret_keys() == {"password", "ssh_tunnel.private_key", "sqlalchemy_url"}
    settings = resolve_connector_config(conn, {})
    assert settings == {
        "host": "erp.internal",
        "user": "reader",
        "database": "erp",
        "port": 5432,
        "ssl_enable": False,
    }


ENV = {
    "TAP_POSTGRES_PASSWORD": "pw-Secret",
    "TAP_POSTGRES_PORT": "6543",
    "TAP_POSTGRES_FILTER_SCHEMAS": '["public", "sales"]',
    "TAP_POSTGRES_SSL_ENABLE": "true",
    "TAP_POSTGRES_SSH_TUNNEL_PRIVATE_KEY": "key-Secret",
    "TAP_POSTGRES_API_KEY": "undeclared-Secret",  # secret-named: read though undeclared
    "TAP_POSTGRES_SCHEMA": "undeclared, not secret: left alone",
    "TAP_POSTGRES_HOST": "env.internal",  # config: sets host, and config wins
}


def test_settings_come_from_meltano_variables_cast_by_kind(tmp_path: Path) -> None:
    [conn] = load(tmp_path, MELTANO_BLOCK).connectors
    assert resolve_connector_config(conn, ENV) == {
        "host": "erp.internal",
        "user": "reader",
        "database": "erp",
        "password": "pw-Secret",
        "port": 6543,
        "filter_schemas": ["public", "sales"],
        "ssl_enable": True,
        "ssh_tunnel": {"private_key": "key-Secret"},
        "api_key": "undeclared-Secret",
    }


def block(
    name: str = "erp-db",
    namespace: str | None = "tap_postgres",
    settings: list[dict[str, Any]] | None = None,
    config: dict[str, Any] | None = None,
) -> ConnectorConfig:
    return ConnectorConfig.model_validate(
        {
            "name": name,
            "pip_url": "meltanolabs-tap-postgres==0.10.0",
            **({"namespace": namespace} if namespace else {}),
            "settings": settings if settings is not None else [{"name": "password"}],
            "config": config or {},
        }
    )


ENV_CASES: list[tuple[str, ConnectorConfig, dict[str, str], dict[str, Any]]] = [
    (
        "the plugin name's prefix (erp-db -> ERP_DB_)",
        block(),
        {"ERP_DB_PASSWORD": "a"},
        {"password": "a"},
    ),
    (
        "the namespace's prefix",
        block(),
        {"TAP_POSTGRES_PASSWORD": "b"},
        {"password": "b"},
    ),
    (
        "the name before the namespace",
        block(),
        {"TAP_POSTGRES_PASSWORD": "b", "ERP_DB_PASSWORD": "a"},
        {"password": "a"},
    ),
    (
        "a setting's own env: first",
        block(settings=[{"name": "password", "env": "PGPASSWORD"}]),
        {"PGPASSWORD": "c", "ERP_DB_PASSWORD": "a"},
        {"password": "c"},
    ),
    (
        "config: wins over the environment",
        block(settings=[{"name": "user"}], config={"user": "from-config"}),
        {"ERP_DB_USER": "from-env"},
        {"user": "from-config"},
    ),
    (
        "a ${VAR} reference in config:",
        block(config={"password": "${ERP_SECRET}"}),
        {"ERP_SECRET": "d"},
        {"password": "d"},
    ),
    (
        "a ${VAR} reference inside a text",
        block(settings=[], config={"url": "postgresql://reader@${ERP_HOST}:5432/erp"}),
        {"ERP_HOST": "db.internal"},
        {"url": "postgresql://reader@db.internal:5432/erp"},
    ),
    (
        "a default value: when the environment says nothing",
        block(settings=[{"name": "port", "kind": "integer", "value": 5432}]),
        {},
        {"port": 5432},
    ),
    (
        "a default written as ${VAR}",
        block(settings=[{"name": "password", "value": "${PG_PW}"}]),
        {"PG_PW": "e"},
        {"password": "e"},
    ),
    (
        "an undeclared setting is not read unless its name is a secret's",
        block(settings=[]),
        {"ERP_DB_HOST": "x", "ERP_DB_TOKEN": "t"},
        {"token": "t"},
    ),
    (
        "a dotted setting becomes nested config",
        block(settings=[{"name": "ssh_tunnel.enable", "kind": "boolean"}]),
        {"ERP_DB_SSH_TUNNEL_ENABLE": "yes"},
        {"ssh_tunnel": {"enable": True}},
    ),
    (
        "kind: object from JSON",
        block(settings=[{"name": "stream_maps", "kind": "object"}]),
        {"ERP_DB_STREAM_MAPS": '{"public-orders": {"note": null}}'},
        {"stream_maps": {"public-orders": {"note": None}}},
    ),
    (
        "no namespace: the name only",
        block(namespace=None),
        {"TAP_POSTGRES_PASSWORD": "b"},
        {},
    ),
]


@pytest.mark.parametrize(
    ("case", "conn", "environ", "expected"), ENV_CASES, ids=[c[0] for c in ENV_CASES]
)
def test_settings_from_the_environment(
    case: str, conn: ConnectorConfig, environ: dict[str, str], expected: dict[str, Any]
) -> None:
    assert resolve_connector_config(conn, environ) == expected


BAD_ENV: list[tuple[str, ConnectorConfig, dict[str, str], str]] = [
    (
        "a missing ${VAR}",
        block(config={"password": "${ERP_SECRET}"}),
        {},
        "connectors.erp-db.config.password: environment variable ERP_SECRET is not set",
    ),
    (
        "an integer that is not",
        block(settings=[{"name": "port", "kind": "integer"}]),
        {"ERP_DB_PORT": "54x"},
        "connectors.erp-db.settings.port: environment variable ERP_DB_PORT='54x' is not a "
        "valid integer",
    ),
    (
        "a boolean that is not",
        block(settings=[{"name": "ssl", "kind": "boolean"}]),
        {"ERP_DB_SSL": "maybe"},
        "ERP_DB_SSL='maybe' is not a valid boolean",
    ),
    (
        "an array that is not",
        block(settings=[{"name": "filter_schemas", "kind": "array"}]),
        {"ERP_DB_FILTER_SCHEMAS": '{"a": 1}'},
        "ERP_DB_FILTER_SCHEMAS='{\"a\": 1}' is not a valid array",
    ),
    (
        "a bad secret is not shown",
        block(settings=[{"name": "pin", "kind": "integer", "sensitive": True}]),
        {"ERP_DB_PIN": "12a4-Secret"},
        "ERP_DB_PIN=(hidden) is not a valid integer",
    ),
]


@pytest.mark.parametrize(
    ("case", "conn", "environ", "message"), BAD_ENV, ids=[c[0] for c in BAD_ENV]
)
def test_environment_mistakes_name_the_setting_and_variable(
    case: str, conn: ConnectorConfig, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_connector_config(conn, environ)
    assert message in str(info.value)
    assert "Secret" not in str(info.value)


BAD_BLOCKS: list[tuple[str, str, list[str]]] = [
    (
        "an unknown key of the block",
        "connectors:\n  - {name: tap-pg, pip_url: x, pip_urls: tap-postgres}",
        [
            "connectors.0.pip_urls (connector 'tap-pg'): unknown key 'pip_urls'",
            "allowed here: capabilities, config,",
        ],
    ),
    (
        "an unknown key of a stream",
        "connectors:\n  - name: tap-pg\n    pip_url: x\n    streams: {s: {mapings: {}}}",
        [
            "connectors.0.streams.s.mapings (connector 'tap-pg'): unknown key 'mapings'",
            "(allowed here: entity, key_properties, mapping)",
        ],
    ),
    (
        "an unknown top-level key",
        "conectors: []",
        ["conectors: unknown key 'conectors'", "allowed here: analytics, ", "connectors, "],
    ),
    (
        "a secret default in clear",
        "connectors:\n  - name: tap-pg\n    pip_url: x\n"
        "    settings: [{name: password, kind: password, value: hunter2-Secret}]",
        ["settings.0.value: secrets must be written as ${ENV_VAR} references"],
    ),
    (
        "a secret in config in clear",
        "connectors:\n  - {name: tap-pg, pip_url: x, config: {password: hunter2-Secret}}",
        ["connectors.0.config.password: secrets must be written as ${ENV_VAR} references"],
    ),
    (
        "Meltano keys on a built-in connector",
        "connectors:\n  - {name: erp, type: sql, select: ['a.*'], namespace: x}",
        ["`namespace`, `select` only apply to `type: singer` connectors"],
    ),
    (
        "a block with neither pip_url nor executable",
        "connectors:\n  - {name: tap-pg, namespace: tap_postgres}",
        ["a `singer` connector needs `executable` (or `pip_url`)"],
    ),
    (
        "a setting without a name",
        "connectors:\n  - {name: tap-pg, pip_url: x, settings: [{kind: string}]}",
        ["connectors.0.settings.0.name (connector 'tap-pg'): Field required"],
    ),
]


@pytest.mark.parametrize(("case", "text", "messages"), BAD_BLOCKS, ids=[c[0] for c in BAD_BLOCKS])
def test_mistakes_name_the_key_path(
    tmp_path: Path, case: str, text: str, messages: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    error = str(info.value)
    assert error.startswith(str(tmp_path / "hub.yaml"))
    for message in messages:
        assert message in error
    assert "hunter2" not in error
