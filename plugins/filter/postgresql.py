# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cdc.pipeline maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL settings derived from the host's memory and CPUs (docs/postgresql.md#tuning)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

MB = 1
GB = 1024 * MB


def _clamp(value, low, high):
    return max(low, min(high, value))


def _mb(value):
    """Settings in MB as PostgreSQL reads them ('512MB'); whole GB where exact, for readability."""
    value = int(value)
    if value >= GB and value % GB == 0:
        return "%dGB" % (value // GB)
    return "%dMB" % value


def postgresql_tuning(memory_mb, cpus, storage="ssd"):
    """Derive the memory, connection, parallelism, WAL and planner settings.

    - shared_buffers: 25 % of memory (capped at 32 GB: beyond that the OS cache does better).
    - effective_cache_size: 75 % of memory (a planner hint, allocates nothing).
    - max_connections: PgBouncer multiplexes clients, so backends scale with CPUs (25 per CPU,
      100 to 500) and never more than memory allows (one per 16 MB of memory).
    - work_mem: what memory is left after shared_buffers, shared by max_connections backends each
      running up to three sort/hash nodes, 4 MB to 256 MB.
    - maintenance_work_mem: 1/16 of memory, 64 MB to 2 GB (VACUUM, CREATE INDEX).
    - parallel workers follow the CPUs; WAL sized for a write-heavy sink (checkpoints by time,
      not by size); planner costs for SSD or rotating storage.
    """
    try:
        memory_mb = int(memory_mb)
        cpus = int(cpus)
    except (TypeError, ValueError):
        raise AnsibleFilterError("postgresql_tuning needs memory_mb and cpus as numbers") from None
    if memory_mb < 256 or cpus < 1:
        raise AnsibleFilterError(
            "postgresql_tuning: at least 256 MB of memory and 1 CPU (got %s MB, %s CPUs)" % (memory_mb, cpus)
        )
    if storage not in ("ssd", "hdd"):
        raise AnsibleFilterError("postgresql_tuning: storage must be ssd or hdd, not %r" % (storage,))

    shared_buffers = min(memory_mb // 4, 32 * GB)
    max_connections = _clamp(min(25 * cpus, memory_mb // 16), 100, 500)
    work_mem = _clamp((memory_mb - shared_buffers) // (max_connections * 3), 4, 256)
    return {
        "max_connections": max_connections,
        "shared_buffers": _mb(shared_buffers),
        "effective_cache_size": _mb(memory_mb * 3 // 4),
        "work_mem": _mb(work_mem),
        "maintenance_work_mem": _mb(_clamp(memory_mb // 16, 64, 2 * GB)),
        "wal_buffers": _mb(_clamp(shared_buffers // 32, 1, 16)),
        "min_wal_size": _mb(_clamp(memory_mb // 16, 256, 2 * GB)),
        "max_wal_size": _mb(_clamp(memory_mb // 4, 1 * GB, 16 * GB)),
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": 0.9,
        "max_worker_processes": max(8, cpus),
        "max_parallel_workers": cpus,
        "max_parallel_workers_per_gather": max(1, cpus // 2),
        "max_parallel_maintenance_workers": max(1, cpus // 2),
        "random_page_cost": 1.1 if storage == "ssd" else 4.0,
        "effective_io_concurrency": 200 if storage == "ssd" else 2,
    }


def postgresql_conf_value(value):
    """Render one value for postgresql.conf: booleans as on/off, strings quoted."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        value = ",".join(str(item) for item in value)
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "''")


class FilterModule(object):
    def filters(self):
        return {"postgresql_tuning": postgresql_tuning, "postgresql_conf_value": postgresql_conf_value}
