"""Airflow DAGs for crm-hub: one DAG `crmhub_<pipeline>` per configured hub.yaml.

Thin on purpose: the pipeline is the hub's own (`crmhub sync` -> `resolve` -> `push`, see
crmhub_tasks.py). Parsing this file imports no hub code, opens no database and only reads the
connector names from each hub.yaml.

Which pipelines (first found):
  CRMHUB_PIPELINES="crm=/srv/crm/hub.yaml,eu=/srv/eu/hub.yaml"   (environment variable)
  CRMHUB_CONFIG=/srv/crm/hub.yaml                                 (one pipeline, `main`)
  Airflow Variable crmhub_pipelines, same format as CRMHUB_PIPELINES
Tuning (environment, optional): CRMHUB_SCHEDULE (cron or preset, default @daily; "none" for
manual runs only), CRMHUB_RETRIES (3), CRMHUB_RETRY_DELAY and CRMHUB_MAX_RETRY_DELAY (seconds,
60 and 1800).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

# Airflow puts a bundle's folder on sys.path when it parses or runs it; a plain DagBag (as in
# CI tests) does not, so make the sibling module importable either way.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))

from crmhub_tasks import build_dag, configured_pipelines, env_duration

_schedule = os.environ.get("CRMHUB_SCHEDULE", "@daily").strip()

for _pipeline in configured_pipelines():
    globals()[_pipeline.dag_id] = build_dag(
        _pipeline,
        schedule=None if _schedule.lower() in ("", "none") else _schedule,
        retries=int(os.environ.get("CRMHUB_RETRIES", "3")),
        retry_delay=env_duration("CRMHUB_RETRY_DELAY", timedelta(minutes=1)),
        max_retry_delay=env_duration("CRMHUB_MAX_RETRY_DELAY", timedelta(minutes=30)),
    )
