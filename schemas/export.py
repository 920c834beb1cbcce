"""Write the JSON Schema files of the canonical models (`python -m schemas.export`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from schemas.config import HubConfig
from schemas.customer import CustomerRecord
from schemas.interaction import Interaction

__all__ = ["SCHEMA_DIR", "json_schemas", "main"]

SCHEMA_DIR = Path(__file__).parent / "json"


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema of each public model."""
    return {
        "customer_record.schema.json": CustomerRecord.model_json_schema(),
        "interaction.schema.json": Interaction.model_json_schema(),
        "hub_config.schema.json": HubConfig.model_json_schema(),
    }


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, schema in json_schemas().items():
        (SCHEMA_DIR / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        sys.stdout.write(f"wrote {SCHEMA_DIR / name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
