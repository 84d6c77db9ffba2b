"""Unpacking the test suites' tar archives on every Python the project supports."""

from __future__ import annotations

import tarfile
from pathlib import Path


def extract_tar(archive: Path, dest: Path) -> None:
    """Unpack archive into dest with tarfile's "data" filter, or, on a Python without it (before 3.11.4,
    such as Debian 12's 3.11.2), after the same refusals: members outside dest, links leading out of it,
    devices."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:*") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
            return
        root = dest.resolve()
        for member in tar.getmembers():
            target = (root / member.name).resolve()
            linked = (target.parent / member.linkname).resolve() if member.issym() else None
            if member.islnk():
                linked = (root / member.linkname).resolve()
            outside = [p for p in (target, linked) if p is not None and not p.is_relative_to(root)]
            if outside or member.isdev():
                raise tarfile.TarError(f"{archive}: refusing member {member.name!r} (outside {dest}, or a device)")
        tar.extractall(dest)  # noqa: S202 - every member checked above
