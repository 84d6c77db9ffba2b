"""Makes `ansible_collections.cdc.pipeline` importable for every unit test, once.

The collection's plugins import each other by that name (tests/tools/collection_path.py says how).
pytest imports this file before the test modules of the directory.
"""

from __future__ import annotations

from tests.tools.collection_path import make_importable

make_importable()
