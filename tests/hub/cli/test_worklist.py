"""`crmhub worklist` as a real process on the demo hub: the call-backs per owner at 80
columns, overdue marked, `--json` one document, a bad `--due` one clear line and exit 2;
the items of hub.yaml's rules with their kind, `--kind`, and "no longer applies" marked."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from hub.analyse.worklists import generate_worklists
from hub.steward.contacts import ContactIn, log_contact
from hub.steward.worklist import hub_today
from hub.store.tables import worklist_items
from schemas.worklists import Worklists
from tests.hub.cli.test_tables import as_json, crmhub, fits_80
from tests.hub.conftest import ResolvedHub
from tests.hub.helpers import DEMO_AS_OF


def test_worklist_lists_call_backs_per_owner(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    xw = sqlite_hub.crosswalk()
    tomorrow = hub_today() + dt.timedelta(days=1)
    with sqlite_hub.store.write_transaction() as conn:
        for source_id, owner in (("1001", "sam"), ("1002", "alice"), ("1003", "sam")):
            contact = ContactIn(
                topic=f"Quote for customer {source_id}",
                call_back_on=tomorrow,
                call_back_owner=owner,
            )
            log_contact(conn, "sam", xw[("erp", source_id)], contact)
        conn.execute(  # one of sam's is as if due three days ago
            worklist_items.update()
            .where(worklist_items.c.topic == "Quote for customer 1003")
            .values(due_on=hub_today() - dt.timedelta(days=3))
        )

    table = crmhub("worklist", "--owner", "sam", cwd=base)
    fits_80(table, "id", "due", "kind", "customer", "why", "owner")
    assert "Anna Kovács" in table.stdout and "overdue" in table.stdout
    assert "Quote for customer 1002" not in table.stdout  # alice's
    assert "2 open item(s) of sam's worklist; today is" in table.stdout

    document = as_json(crmhub("worklist", "--json", "--due", "tomorrow", cwd=base))
    assert document["timezone"] == "UTC" and document["due"] == "tomorrow"
    assert document["total"] == 2 and {i["owner"] for i in document["items"]} == {"sam", "alice"}
    assert {"id", "golden_id", "customer", "due_on", "overdue", "version"} <= set(
        document["items"][0]
    )
    with sqlite_hub.store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(worklist_items)).scalar() == 3

    bad = crmhub("worklist", "--due", "soon", cwd=base)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().startswith("error: due: 'soon' is not a filter")
    none = crmhub("worklist", "--owner", "nobody", cwd=base)
    assert none.returncode == 0 and "no open items of nobody's worklist" in none.stdout

    rules = {"rules": [{"name": "bd", "kind": "birthday", "days": 60, "owner": "sam"}]}
    with sqlite_hub.store.write_transaction() as conn:
        generate_worklists(conn, Worklists.model_validate(rules), DEMO_AS_OF)
        conn.execute(  # as if the birth date had been corrected since
            worklist_items.update()
            .where(
                worklist_items.c.id
                == sa.select(sa.func.min(worklist_items.c.id))
                .where(worklist_items.c.rule == "bd")
                .scalar_subquery()
            )
            .values(stale_since=dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
        )
    birthdays = crmhub("worklist", "--owner", "sam", "--kind", "birthday", cwd=base)
    fits_80(birthdays, "id", "due", "kind", "customer", "why", "owner")
    assert "birthday" in birthdays.stdout and "Quote for customer" not in birthdays.stdout
    assert "(no longer applies)" in birthdays.stdout and "Birthday on" in birthdays.stdout
