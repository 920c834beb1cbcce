"""Identity resolution (standardise → block → compare → score → cluster → survive).

The engine arrives with the identity-resolution issue; the package exists so the layout of
the design card holds. It will import only `schemas/`.
"""

from __future__ import annotations

__all__: list[str] = []
