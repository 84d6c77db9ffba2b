"""Make this checkout importable as ansible_collections.cdc.pipeline (for tests and test tools).

`make venv` links .cache/collections/ansible_collections/cdc/pipeline to the checkout; without it a
link of this checkout's own is made under the temporary directory (one per checkout, so two clones
never import each other's code, and a link left by a removed clone is replaced).
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def collection_root() -> Path:
    """A directory holding ansible_collections/cdc/pipeline -> this checkout."""
    cached = REPO_ROOT / ".cache" / "collections"
    if (cached / "ansible_collections" / "cdc" / "pipeline").exists():
        return cached
    checkout = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"cdc-collections-{checkout}"
    link = root / "ansible_collections" / "cdc" / "pipeline"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() and link.resolve() != REPO_ROOT:
        link.unlink()  # left by a checkout that is gone
    if not link.exists():
        link.symlink_to(REPO_ROOT, target_is_directory=True)
    return root


def make_importable() -> None:
    root = str(collection_root())
    if root not in sys.path:
        sys.path.insert(0, root)
