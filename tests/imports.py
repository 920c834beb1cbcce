"""The absolute imports of a source tree, read in a fresh interpreter."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

# Parsing runs in a fresh interpreter: CPython 3.11 keeps the AST constructor's recursion
# depth per interpreter, not per thread (python/cpython#106905), so ast.parse in this
# process fails at random with "AST constructor recursion depth mismatch" while a thread
# left by an earlier test (py4j's, a server's) compiles code at the same moment.
_LIST_IMPORTS = """
import ast, json, sys
from pathlib import Path
out = {}
for path in sorted(Path(sys.argv[1]).rglob("*.py")):
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    out[str(path)] = names
print(json.dumps(out))
"""


@functools.cache
def absolute_imports(folder: Path) -> dict[str, list[str]]:
    """Every absolute import of every module under folder, by file."""
    done = subprocess.run(
        [sys.executable, "-c", _LIST_IMPORTS, str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, list[str]] = json.loads(done.stdout)
    return result
