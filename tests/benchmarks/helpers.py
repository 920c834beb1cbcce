"""Helpers the generator tests share."""

from __future__ import annotations

import os
import subprocess
import sys


def digests_in_subprocesses(code: str, *hash_seeds: str) -> set[str]:
    """What `code` prints (a generator's output digest), run in interpreters with different
    string hashing (PYTHONHASHSEED)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in hash_seeds
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    return set(outputs)
