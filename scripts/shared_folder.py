"""Where the workplace's shared folder (the mission, the vendored artifacts) lies for a checkout.

The folder sits beside the checkout (/work/main -> /work/shared). A clone made elsewhere, as CI makes
one from the checkout, finds it beside the checkout it was cloned from (its `origin` is that path).
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def origin_checkout(repo: Path) -> Path | None:
    """The local checkout `repo` was cloned from, or None (no origin, or a remote URL)."""
    try:
        url = subprocess.run(
            ["git", "-C", str(repo), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    url = url.removeprefix("file://")
    if not url or "://" in url or ":" in url.split("/", 1)[0]:
        return None  # a remote (https://..., user@host:path): nothing to look beside
    path = Path(url)
    return path.resolve() if path.is_dir() else None


def candidates(repo: Path, relative: Path) -> list[Path]:
    """`relative` (for example shared/vendor) beside the checkout and in every directory above it, then
    the same for the checkout it was cloned from; in that order, without repeats."""
    paths: list[Path] = []
    for checkout in filter(None, [repo.resolve(), origin_checkout(repo)]):
        paths += [checkout.parent / relative, *(ancestor / relative for ancestor in [checkout, *checkout.parents])]
    return list(dict.fromkeys(paths))
