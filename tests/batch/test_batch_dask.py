"""The Dask engine gives the polars engine's output on a real (local, two-process) cluster.

One small file, one cluster per run: on two cores Dask is pure overhead, so this checks
only that partitions are scored and reassembled identically.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from backstory.batch.dask_engine import run_on_cluster
from backstory.batch.run import errors_path, run_batch
from backstory.batch.synth import write_cohort

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_dask_engine_matches_polars_engine(scheduler: str, tmp_path: Path) -> None:
    inp = tmp_path / "cohort.csv"
    write_cohort(2000, inp, seed=8, invalid_rate=0.05)
    local = run_batch(inp, tmp_path / "local.parquet", chunk_size=300)
    remote = run_on_cluster(inp, tmp_path / "remote.parquet", chunk_size=300, scheduler=scheduler)
    assert remote.chunks == local.chunks == 7
    assert (remote.rows_in, remote.rows_scored, remote.rows_rejected) == (
        local.rows_in,
        local.rows_scored,
        local.rows_rejected,
    )
    assert pl.read_parquet(tmp_path / "remote.parquet").equals(
        pl.read_parquet(tmp_path / "local.parquet")
    )
    assert (
        Path(errors_path(tmp_path / "remote.parquet")).read_text()
        == Path(errors_path(tmp_path / "local.parquet")).read_text()
    )
