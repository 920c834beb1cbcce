"""Singer catalogs as Meltano shapes them: `select:` patterns and `metadata:`/`schema:` rules.

Pure functions over a discovered catalog (a dict, as a tap's `--discover` prints it); the
I/O (running `--discover`, caching the result) is in `hub.sync.discovery`.

Select patterns follow Meltano (`meltano select`): `stream.property`, `!` in front excludes,
`*` and `?` are wildcards, `stream.*` selects every property of a stream, and a pattern
without a property (`stream`) selects the stream only. As Meltano does, every stream and
property is first deselected, then the inclusion patterns apply, then the exclusions;
`inclusion: automatic` properties stay selected (taps always send them) and
`inclusion: unsupported` ones are never selected. With no `select:` at all the hub selects
every stream and property (`*.*`) — what a hub user expects, unlike Meltano.

`metadata:` is keyed by stream pattern: `{"public-*": {"replication-method": "INCREMENTAL",
"replication-key": "updated_at", "id": {"is-replication-key": True}}}` — a key with a mapping
value is a property (nested as `properties.a.properties.b`), as in Meltano's
`config_metadata_rules`.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LOG_POSITION",
    "MetadataRule",
    "SelectPattern",
    "apply_catalog_rules",
    "bookmarked_streams",
    "deselected_properties",
    "metadata_rules",
    "select_rules",
    "selected_streams",
    "stream_id",
    "stream_ids",
]

DEFAULT_SELECT = ("*.*",)


@dataclass(frozen=True)
class SelectPattern:
    """One parsed `select:` entry: `[!]stream[.property[.subproperty]]`."""

    stream: str
    properties: tuple[str, ...]
    negated: bool

    @classmethod
    def parse(cls, pattern: str) -> SelectPattern:
        text = pattern.strip()
        negated = text.startswith("!")
        text = text.lstrip("!")
        stream, _, rest = text.partition(".")
        if not stream:
            raise ValueError(f"select pattern {pattern!r} names no stream")
        return cls(stream, tuple(rest.split(".")) if rest else (), negated)


@dataclass(frozen=True)
class MetadataRule:
    """Set `key` to `value` in the metadata of streams matching `stream` at `breadcrumb`
    (each breadcrumb element may hold wildcards)."""

    stream: str
    breadcrumb: tuple[str, ...]
    key: str
    value: Any


def _property_breadcrumb(props: Iterable[str]) -> tuple[str, ...]:
    crumbs: list[str] = []
    for prop in props:
        crumbs += ["properties", prop]
    return tuple(crumbs)


def select_rules(patterns: Iterable[str] | None) -> list[MetadataRule]:
    """Meltano's `select_metadata_rules(["!*.*", *patterns])`: deselect all, includes, excludes."""
    chosen = list(DEFAULT_SELECT if patterns is None else patterns)
    include: list[MetadataRule] = []
    exclude: list[MetadataRule] = [MetadataRule("*", (), "selected", False)]
    exclude.append(MetadataRule("*", ("properties", "*"), "selected", False))
    for text in chosen:
        parsed = SelectPattern.parse(text)
        rules = exclude if parsed.negated else include
        if not parsed.negated or not parsed.properties:
            rules.append(MetadataRule(parsed.stream, (), "selected", not parsed.negated))
        if parsed.properties:
            crumb = _property_breadcrumb(parsed.properties)
            rules.append(MetadataRule(parsed.stream, crumb, "selected", not parsed.negated))
    # the blanket deselection first, then includes, then explicit exclusions
    return [*exclude[:2], *include, *exclude[2:]]


def metadata_rules(config: Mapping[str, Any] | None) -> list[MetadataRule]:
    """Meltano's `config_metadata_rules`: `{stream: {key: value, prop: {key: value}}}`."""
    rules: list[MetadataRule] = []

    def walk(stream: str, props: list[str], node: Mapping[str, Any]) -> None:
        for key, value in node.items():
            if isinstance(value, Mapping):
                inner = [*props] if key == "properties" else [*props, str(key)]
                walk(stream, inner, value)
            else:
                rules.append(MetadataRule(stream, _property_breadcrumb(props), str(key), value))

    for stream, node in (config or {}).items():
        if not isinstance(node, Mapping):
            raise ValueError(f"metadata.{stream}: expected a mapping of metadata keys")
        walk(str(stream), [], node)
    return rules


def stream_id(entry: Mapping[str, Any]) -> str:
    """A catalog entry's id: `tap_stream_id`, else `stream`."""
    return str(entry.get("tap_stream_id") or entry.get("stream") or "")


def stream_ids(catalog: Mapping[str, Any]) -> list[str]:
    return sorted(stream_id(s) for s in catalog.get("streams", []))


def _ensure_metadata(entry: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    """The entry's metadata by breadcrumb, adding missing nodes for the stream and for each
    property (nested ones included), as Meltano does before applying rules."""
    entries: list[dict[str, Any]] = entry.setdefault("metadata", [])
    nodes = {tuple(m.get("breadcrumb", [])): m.setdefault("metadata", {}) for m in entries}

    def add(crumb: tuple[str, ...]) -> None:
        if crumb not in nodes:
            node: dict[str, Any] = {}
            entries.append({"breadcrumb": list(crumb), "metadata": node})
            nodes[crumb] = node

    add(())

    def walk(schema: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for name, sub in (schema.get("properties") or {}).items():
            crumb = (*prefix, "properties", name)
            add(crumb)
            if isinstance(sub, Mapping):
                walk(sub, crumb)

    walk(entry.get("schema") or {}, ())
    return nodes


def _matches(rule: MetadataRule, sid: str, crumb: tuple[str, ...]) -> bool:
    if not fnmatch.fnmatchcase(sid, rule.stream) or len(crumb) != len(rule.breadcrumb):
        return False
    return all(fnmatch.fnmatchcase(c, p) for c, p in zip(crumb, rule.breadcrumb, strict=True))


def _passes(filters: list[SelectPattern], sid: str) -> bool:
    includes = [f for f in filters if not f.negated]
    if includes and not any(fnmatch.fnmatchcase(sid, f.stream) for f in includes):
        return False
    return not any(f.negated and fnmatch.fnmatchcase(sid, f.stream) for f in filters)


def apply_catalog_rules(
    catalog: Mapping[str, Any],
    *,
    select: Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    schema: Mapping[str, Mapping[str, Any]] | None = None,
    select_filter: Iterable[str] | None = None,
) -> dict[str, Any]:
    """A copy of `catalog` with the select, metadata and schema rules applied; with
    `select_filter` (Meltano's: stream patterns, `!` to exclude) only matching streams stay
    selected."""
    filters = [SelectPattern.parse(f) for f in select_filter or ()]
    result = copy.deepcopy(dict(catalog))
    rules = [*select_rules(select), *metadata_rules(metadata)]
    for entry in result.get("streams", []):
        sid = stream_id(entry)
        # schema overrides first (as Meltano does), so that an added property gets its
        # metadata node and the select/metadata rules reach it
        for pattern, props in (schema or {}).items():
            if fnmatch.fnmatchcase(sid, pattern):
                entry.setdefault("schema", {}).setdefault("properties", {}).update(
                    copy.deepcopy(dict(props))
                )
        nodes = _ensure_metadata(entry)
        for crumb, node in nodes.items():
            for rule in rules:
                if _matches(rule, sid, crumb):
                    node[rule.key] = rule.value
            inclusion = node.get("inclusion")
            if crumb and inclusion == "automatic":
                node["selected"] = True
            elif crumb and inclusion == "unsupported":
                node["selected"] = False
        # replication-key/method set on the stream node: singer-python taps read them there,
        # and old ones from the entry itself
        stream_node = nodes[()]
        if filters and not _passes(filters, sid):
            stream_node["selected"] = False
        for key in ("replication-key", "replication-method"):
            if key in stream_node:
                entry[key.replace("-", "_")] = stream_node[key]
    return result


def selected_streams(catalog: Mapping[str, Any]) -> list[str]:
    """The ids of the streams whose stream-level metadata says `selected: true` (or, with no
    `selected`, `selected-by-default: true`)."""
    chosen = []
    for entry in catalog.get("streams", []):
        node: dict[str, Any] = {}
        for m in entry.get("metadata", []):
            if not m.get("breadcrumb"):
                node = m.get("metadata", {})
        flag = node.get("selected", node.get("selected-by-default", entry.get("selected")))
        if flag:
            chosen.append(stream_id(entry))
    return sorted(chosen)


def deselected_properties(catalog: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Per selected stream, the top-level properties its metadata deselects (`selected:
    false`, or `inclusion: unsupported`; never an `automatic` one). The hub drops them from
    what the tap sends, since some taps ignore property selection (pipelinewise-tap-postgres
    rediscovers and keeps only the stream-level metadata)."""
    dropped: dict[str, frozenset[str]] = {}
    for entry in catalog.get("streams", []):
        names = set()
        for m in entry.get("metadata", []):
            crumb, node = m.get("breadcrumb") or [], m.get("metadata") or {}
            if len(crumb) != 2 or crumb[0] != "properties":
                continue
            inclusion = node.get("inclusion")
            if inclusion != "automatic" and (
                node.get("selected") is False or inclusion == "unsupported"
            ):
                names.add(str(crumb[1]))
        if names:  # messages name a stream by its tap_stream_id, old taps by `stream`
            for name in dict.fromkeys([stream_id(entry), str(entry.get("stream") or "")]):
                if name:
                    dropped.setdefault(name, frozenset(names))
    return dropped


# what a LOG_BASED stream's reads are bookmarked by when it names no replication key: a
# position in the source's change log (binlog file/offset, WAL LSN), not a record property
LOG_POSITION = "_sdc_log_position"


def bookmarked_streams(catalog: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per selected stream replicated INCREMENTAL or LOG_BASED by the catalog, what its
    reads are bookmarked by (its replication key, else `LOG_POSITION`), under both its
    `tap_stream_id` and its `stream` name. A run of such a stream reads only what changed,
    even when the tap's SCHEMA message declares no `bookmark_properties` (singer-python
    taps do so for LOG_BASED streams), so the rows it did not send are not gone."""
    found: dict[str, list[str]] = {}
    for entry in catalog.get("streams", []):
        node: dict[str, Any] = {}
        for m in entry.get("metadata", []):
            if not m.get("breadcrumb"):
                node = m.get("metadata") or {}
        if not node.get("selected", node.get("selected-by-default", entry.get("selected"))):
            continue
        method = str(
            node.get("replication-method")
            or entry.get("replication_method")
            or node.get("forced-replication-method")
            or ""
        ).upper()
        if method not in ("INCREMENTAL", "LOG_BASED"):
            continue
        key = node.get("replication-key") or entry.get("replication_key")
        bookmark = [str(key)] if key else [LOG_POSITION]
        for name in dict.fromkeys([stream_id(entry), str(entry.get("stream") or "")]):
            if name:
                found.setdefault(name, bookmark)
    return found
