"""PostgreSQL settings derived from the host (docs/postgresql.md#tuning) and postgresql.conf values."""

import pytest
from ansible.errors import AnsibleFilterError

from plugins.filter.postgresql import postgresql_conf_value, postgresql_tuning

pytestmark = pytest.mark.unit


def megabytes(value: str) -> int:
    number, unit = int(value[:-2]), value[-2:]
    return number * 1024 if unit == "GB" else number


@pytest.mark.parametrize(("memory_mb", "cpus"), [(1024, 1), (4096, 2), (16384, 8), (65536, 16), (262144, 64)])
def test_memory_is_never_overcommitted(memory_mb, cpus):
    tuned = postgresql_tuning(memory_mb, cpus)
    shared = megabytes(tuned["shared_buffers"])
    work = megabytes(tuned["work_mem"])
    assert shared <= memory_mb // 4
    # every backend running three sort/hash nodes at once still fits beside shared_buffers
    assert shared + tuned["max_connections"] * 3 * work <= memory_mb or work == 4
    assert megabytes(tuned["effective_cache_size"]) == memory_mb * 3 // 4


def test_small_host():
    tuned = postgresql_tuning(1024, 2)
    assert tuned["shared_buffers"] == "256MB"
    assert tuned["max_connections"] == 100
    assert tuned["work_mem"] == "4MB"
    assert tuned["maintenance_work_mem"] == "64MB"
    assert tuned["max_wal_size"] == "1GB"


def test_large_host_caps():
    tuned = postgresql_tuning(512 * 1024, 96)
    assert tuned["shared_buffers"] == "32GB"
    assert tuned["max_connections"] == 500
    assert tuned["maintenance_work_mem"] == "2GB"
    assert tuned["max_wal_size"] == "16GB"
    assert tuned["max_parallel_workers"] == 96


def test_connections_follow_cpus_then_memory():
    assert postgresql_tuning(65536, 8)["max_connections"] == 200
    assert postgresql_tuning(65536, 12)["max_connections"] == 300
    # 2 GB allows one backend per 16 MB = 128
    assert postgresql_tuning(2048, 32)["max_connections"] == 128


def test_storage_sets_planner_costs():
    assert postgresql_tuning(4096, 2, "hdd")["random_page_cost"] == 4.0
    assert postgresql_tuning(4096, 2)["random_page_cost"] == 1.1


@pytest.mark.parametrize(
    ("memory", "cpus", "storage"), [(100, 1, "ssd"), (4096, 0, "ssd"), ("x", 1, "ssd"), (4096, 1, "nvme")]
)
def test_bad_input_is_refused(memory, cpus, storage):
    with pytest.raises(AnsibleFilterError):
        postgresql_tuning(memory, cpus, storage)


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        (True, "on"),
        (False, "off"),
        (100, "100"),
        (0.9, "0.9"),
        ("256MB", "'256MB'"),
        (["pgaudit", "pg_stat_statements"], "'pgaudit,pg_stat_statements'"),
        ("it's", "'it''s'"),
        ("a\\b", "'a\\\\b'"),
    ],
)
def test_conf_values(value, rendered):
    assert postgresql_conf_value(value) == rendered
