"""Makes `ansible_collections.cdc.pipeline` importable for every unit test, once.

The collection's plugins import each other by that name. `make venv` links .cache/collections/
ansible_collections/cdc/pipeline to this checkout; without it (a bare pytest run) a link is made
under the temporary directory. pytest imports this file before the test modules of the directory.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def collection_root() -> Path:
    """A directory holding ansible_collections/cdc/pipeline -> this checkout."""
    cached = REPO_ROOT / ".cache" / "collections"
    if (cached / "ansible_collections" / "cdc" / "pipeline").exists():
        return cached
    root = Path(tempfile.gettempdir()) / "cdc-unit-collections"
    link = root / "ansible_collections" / "cdc" / "pipeline"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(REPO_ROOT, target_is_directory=True)
    return root


if str(collection_root()) not in sys.path:
    sys.path.insert(0, str(collection_root()))
