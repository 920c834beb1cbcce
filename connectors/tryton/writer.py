"""TrytonWriter: golden ids and corrected contact data written back into Tryton parties.

The golden id becomes a party identifier (``golden_id_type``, by default untyped because
Tryton 8 only accepts the types of its selection, with code ``golden_id_prefix`` + id);
email and phone fill or replace the party's first contact mechanism of that type (phone
falls back to a mobile one), the name is the party name, the address fields go to its
first address. One ``write`` per record, so Tryton applies all of it or none of it.

Audience membership (`apply_audience`) is a party category named after the audience, created
when missing, added to or removed from the party; Tryton has no place for carried fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from pydantic import ValidationError

from connectors.tryton.client import TrytonClient, TrytonSettings, classify
from connectors.writers import PushItem, WriteError, Writer

__all__ = ["TrytonWriter"]

_ADDRESS_FIELDS = ("street", "postal_code", "city", "country")
_NAME_FIELDS = ("full_name", "organization_name")
_READ_FIELDS = [
    "identifiers.type",
    "identifiers.code",
    "contact_mechanisms.type",
    "contact_mechanisms.value",
    "contact_mechanisms.active",
    "addresses.active",
]

Actions = list[tuple[Any, ...]]


class TrytonWriter(Writer):
    """Writes PushItems into Tryton parties over XML-RPC (the tap's ``config:``)."""

    writable_fields: ClassVar[frozenset[str]] = frozenset(
        {"email", "phone", *_NAME_FIELDS, *_ADDRESS_FIELDS}
    )
    can_create: ClassVar[bool] = True

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        try:
            present = {key: value for key, value in config.items() if value is not None}
            self.settings = TrytonSettings.model_validate(present)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"tryton writer: invalid config: {problems}") from None
        self.client = TrytonClient(self.settings)
        self._countries: dict[str, int] = {}
        self._categories: dict[str, int] = {}

    @contextmanager
    def _errors(self, item: PushItem, action: str) -> Iterator[None]:
        try:
            yield
        except WriteError:
            raise
        except Exception as exc:
            found = classify(exc, self.settings)
            if found is None:
                raise
            message, retriable = found
            target = f"party {item.source_id}" if item.source_id else "new party"
            raise WriteError(f"tryton: {action} {target}: {message}", retriable=retriable) from None

    def update(self, item: PushItem) -> None:
        """Write the golden id and the changed values onto party ``item.source_id``."""
        try:
            party_id = int(str(item.source_id))
        except ValueError:
            raise WriteError(f"tryton: {item.source_id!r} is not a Tryton party id") from None
        with self._errors(item, "updating"):
            rows = self.client.call("party.party", "read", [party_id], _READ_FIELDS)
            values = self._values(item, rows[0])
            self.client.call("party.party", "write", [party_id], values)

    def create(self, item: PushItem) -> str:
        """Create a party holding the golden id and the values; return its id."""
        with self._errors(item, "creating"):
            values = self._values(item, {})
            created = self.client.call("party.party", "create", [values])
        return str(created[0])

    def apply_audience(
        self,
        golden_id: str,
        source_id: str,
        audience: str,
        member: bool,
        fields: Mapping[str, Any],
    ) -> None:
        """Add the audience's party category to party `source_id` (or remove it)."""
        item = PushItem(source_id, "parties", golden_id, "")
        try:
            party_id = int(source_id)
        except ValueError:
            raise WriteError(f"tryton: {source_id!r} is not a Tryton party id") from None
        with self._errors(item, "marking audience on"):
            category = self._category(audience)
            action = "add" if member else "remove"
            self.client.call(
                "party.party", "write", [party_id], {"categories": [(action, [category])]}
            )

    def _category(self, name: str) -> int:
        if name not in self._categories:
            found = self.client.call("party.category", "search", [("name", "=", name)], 0, 1)
            if found:
                self._categories[name] = int(found[0])
            else:
                created = self.client.call("party.category", "create", [{"name": name}])
                self._categories[name] = int(created[0])
        return self._categories[name]

    # -- the values of one write -------------------------------------------------------

    def _values(self, item: PushItem, party: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        changes = dict(item.values)
        name = next((changes[f] for f in _NAME_FIELDS if changes.get(f)), None)
        if name is not None:
            values["name"] = str(name)
        if item.golden_id:
            values["identifiers"] = self._identifier(item.golden_id, party)
        mechanisms: Actions = []
        for field, types in (("email", ("email",)), ("phone", ("phone", "mobile"))):
            if field in changes:
                mechanisms += self._mechanism(field, types, changes[field], party)
        if mechanisms:
            values["contact_mechanisms"] = mechanisms
        address = {f: changes[f] for f in _ADDRESS_FIELDS if f in changes}
        if address:
            values["addresses"] = self._address(address, party)
        return values

    def _identifier(self, golden_id: str, party: Mapping[str, Any]) -> Actions:
        settings = self.settings
        code = f"{settings.golden_id_prefix}{golden_id}"
        for identifier in party.get("identifiers.") or []:
            current = str(identifier.get("code") or "")
            if identifier.get("type") == settings.golden_id_type and current.startswith(
                settings.golden_id_prefix
            ):
                return [] if current == code else [("write", [identifier["id"]], {"code": code})]
        return [("create", [{"type": settings.golden_id_type, "code": code}])]

    @staticmethod
    def _mechanism(
        field: str, types: tuple[str, ...], value: Any, party: Mapping[str, Any]
    ) -> Actions:
        existing = [m for m in party.get("contact_mechanisms.") or [] if m.get("active", True)]
        for wanted in types:
            found = next((m for m in existing if m.get("type") == wanted), None)
            if found is not None:
                if value is None or value == "":
                    return [("delete", [found["id"]])]
                if found.get("value") == value:
                    return []
                return [("write", [found["id"]], {"value": str(value)})]
        if value is None or value == "":
            return []
        return [("create", [{"type": types[0], "value": str(value)}])]

    def _address(self, changes: Mapping[str, Any], party: Mapping[str, Any]) -> Actions:
        values: dict[str, Any] = {
            field: (str(value) if value not in (None, "") else None)
            for field, value in changes.items()
            if field != "country"
        }
        if "country" in changes:
            values["country"] = self._country(changes["country"])
        current = next((a for a in party.get("addresses.") or [] if a.get("active", True)), None)
        if current is None:
            return [("create", [values])]
        return [("write", [current["id"]], values)]

    def _country(self, code: Any) -> int | None:
        if code is None or code == "":
            return None
        key = str(code).strip().upper()
        if key not in self._countries:
            rows = self.client.call("country.country", "search", [("code", "=", key)], 0, 1)
            if not rows:
                msg = (
                    f"tryton: country {key!r} is not in Tryton — load the countries "
                    "with trytond_import_countries"
                )
                raise WriteError(msg)
            self._countries[key] = int(rows[0])
        return self._countries[key]

    def close(self) -> None:
        """End the Tryton session."""
        self.client.close()
