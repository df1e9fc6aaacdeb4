"""Files in and out: formats, chunking, row numbers, the errors file and the accounting."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner, Result

from backstory.batch import output, scoring
from backstory.batch.chunks import count_records
from backstory.batch.run import (
    AccountingError,
    BatchError,
    ChunkResult,
    errors_path,
    open_source,
    read_chunk,
    run_batch,
)
from backstory.batch.synth import write_cohort
from backstory.cli.main import cli

from .conftest import Expect


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cohort") / "cohort.csv"
    write_cohort(3000, path, seed=4, invalid_rate=0.05)
    return path


def test_every_format_and_chunk_size_gives_the_same_rows(cohort_csv: Path, tmp_path: Path) -> None:
    pq = tmp_path / "cohort.parquet"
    pl.read_csv(cohort_csv, infer_schema=False).write_parquet(pq)
    outs = []
    for inp, out, chunk in [
        (cohort_csv, tmp_path / "a.parquet", 1000),
        (cohort_csv, tmp_path / "b.csv", 333),
        (pq, tmp_path / "c.parquet", 3000),
        (pq, tmp_path / "d.csv", 1234),
    ]:
        stats = run_batch(inp, out, chunk_size=chunk)
        assert stats.rows_in == 3000 == stats.rows_scored + stats.rows_rejected
        assert stats.rows_rejected > 0
        outs.append(out)
    first = pl.read_parquet(outs[0])
    assert first.get_column("row").is_sorted() and first.get_column("row").max() <= 3000
    for out in outs[1:]:
        other = (
            pl.read_parquet(out)
            if out.suffix == ".parquet"
            else pl.read_csv(out, schema=first.schema)
        )
        assert other.equals(first), out
        assert Path(errors_path(out)).read_text() == Path(errors_path(outs[0])).read_text()


def test_output_rows_and_error_rows_partition_the_input(cohort_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    stats = run_batch(cohort_csv, out, chunk_size=500)
    scored = pl.read_csv(out, infer_schema=False)
    errors = pl.read_csv(errors_path(out), infer_schema=False)
    assert list(errors.columns) == ["row", "id", "field", "message"]
    rows_ok = set(scored.get_column("row").cast(int).to_list())
    rows_bad = set(errors.get_column("row").cast(int).to_list())
    assert rows_ok.isdisjoint(rows_bad) and rows_ok | rows_bad == set(range(1, 3001))
    assert stats.problems == errors.height and stats.rows_rejected == len(rows_bad)
    # the id travels with each problem line
    raw = pl.read_csv(cohort_csv, infer_schema=False).with_row_index("row", offset=1)
    ids = dict(raw.select(pl.col("row").cast(pl.String), "id").iter_rows())
    assert all(ids[r] == i for r, i in errors.select("row", "id").iter_rows())
    assert list(scored.columns)[:5] == ["id", "row", "triage_level", "triage_suspected", "category"]
    assert scored.columns[-1] == "knowledge_version"


def test_awkward_csv_rows_are_numbered_as_data_rows(tmp_path: Path, expect: Expect) -> None:
    """Quoted newlines, CRLF, a byte-order mark, a blank line and no final newline.

    The id with a line break in it is read as one row, and refused: an id is printable text.
    """
    inp = tmp_path / "awkward.csv"
    inp.write_bytes(
        b"\xef\xbb\xbfid,age,red_flags_fever\r\n"
        b'"two\nlines",40,true\r\n'
        b"plain,50,false\r\n"
        b"\r\n"
        b'"quote ""q""",60,\r\n'
        b"last,70,true"
    )
    for chunk in (1, 2, 100):
        out = tmp_path / f"out{chunk}.parquet"
        stats = run_batch(inp, out, chunk_size=chunk)
        assert (stats.rows_in, stats.rows_scored, stats.rows_rejected) == (5, 3, 2)
        got = pl.read_parquet(out)
        assert got.get_column("row").to_list() == [2, 4, 5]
        assert got.get_column("id").to_list() == ["plain", 'quote "q"', "last"]
        want = expect(
            [
                {"id": "plain", "age": 50, "red_flags": {"fever": False}},
                {"id": 'quote "q"', "age": 60},
                {"id": "last", "age": 70, "red_flags": {"fever": True}},
            ]
        )
        cols = ["triage_level", "triage_suspected", "category"]
        assert got.select(cols).to_dicts() == [{k: w[k] for k in cols} for w in want]
        errors = pl.read_csv(errors_path(out), infer_schema=False)
        assert [r[:3] for r in errors.rows()] == [("1", "two\nlines", "id"), ("3", None, "age")]
        assert "U+000A, a control or invisible character" in errors.row(0)[3]
        assert errors.row(1)[3] == "required: give the age in years (16 to 110)"


def test_chunks_partition_the_file_and_stay_within_the_chunk_size(cohort_csv: Path) -> None:
    src = open_source(cohort_csv, 700)
    assert src.rows == 3000 and [c.rows for c in src.chunks] == [700, 700, 700, 700, 200]
    assert [c.first_row for c in src.chunks] == [0, 700, 1400, 2100, 2800]
    ends = [(c.start, c.end) for c in src.chunks]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ends))
    assert ends[-1][1] == cohort_csv.stat().st_size
    assert read_chunk(src, src.chunks[2]).height == 700


def test_header_only_and_empty_files(tmp_path: Path) -> None:
    inp = tmp_path / "header.csv"
    inp.write_text("id,age\n")
    stats = run_batch(inp, tmp_path / "out.csv")
    assert (stats.rows_in, stats.rows_scored) == (0, 0)
    assert (tmp_path / "out.csv").read_text().startswith("id,row,triage_level")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(BatchError, match="empty"):
        run_batch(empty, tmp_path / "out2.csv")


def test_cli_summary_exit_codes_and_nothing_left_behind(cohort_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "scored.parquet"
    r = invoke("batch", str(cohort_csv), str(out), "--chunk-size", "1000")
    assert r.exit_code == 0, r.output
    assert "3,000 rows in" in r.stderr and "scored" in r.stderr and "rejected" in r.stderr
    assert r.stdout == ""
    assert out.exists() and Path(errors_path(out)).exists()
    quiet = invoke("batch", str(cohort_csv), str(tmp_path / "q.csv"), "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""

    bad = tmp_path / "bad.csv"
    bad.write_text("age,red_flags_fevr\n40,true\n")
    r = invoke("batch", str(bad), str(tmp_path / "never.csv"))
    assert r.exit_code == 2
    assert 'unknown column "red_flags_fevr". Did you mean "red_flags_fever"?' in r.stderr
    assert "Traceback" not in r.stderr
    assert not list(tmp_path.glob("never*"))

    ragged = tmp_path / "ragged.csv"
    ragged.write_text("age,pain_back\n40,3\n50,4,extra\n")
    r = invoke("batch", str(ragged), str(tmp_path / "never.csv"))
    assert r.exit_code == 2 and "row 2 has 3 cells" in r.stderr
    assert not list(tmp_path.glob("never*"))

    r = invoke("batch", str(cohort_csv), str(tmp_path / "out.json"))
    assert r.exit_code == 2 and ".csv or .parquet" in r.stderr
    r = invoke("batch", str(cohort_csv), str(tmp_path / "o.csv"), "--engine", "dask")
    assert r.exit_code == 2 and "--scheduler" in r.stderr


def test_a_lost_row_fails_the_run_and_keeps_no_output(
    cohort_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = scoring.score_frame

    def lossy(raw: Any, first_row: int = 0, index: int = 0, today: Any = None) -> ChunkResult:
        res = real(raw, first_row, index, today)
        scored = res.scored.head(-1)
        return ChunkResult(res.index, scored, res.errors, res.rows_in, res.rows_rejected)

    monkeypatch.setattr(scoring, "score_frame", lossy)
    with pytest.raises(AccountingError, match="3000 rows"):
        run_batch(cohort_csv, tmp_path / "lost.csv")
    assert not list(tmp_path.glob("lost*"))
    r = invoke("batch", str(cohort_csv), str(tmp_path / "lost.csv"))
    assert r.exit_code == 1 and "accounting" in r.stderr


def test_output_never_overwrites_the_input(cohort_csv: Path) -> None:
    with pytest.raises(BatchError, match="overwrite"):
        run_batch(cohort_csv, cohort_csv)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_row_lost_on_the_way_to_disk_fails_the_run(
    cohort_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    # the output files are counted back after writing, not only the scored frames
    real = output.OutputWriter.write

    def drop_one(self: Any, df: pl.DataFrame) -> None:
        real(self, df.head(-1) if self.path.endswith(suffix) else df)

    monkeypatch.setattr(output.OutputWriter, "write", drop_one)
    with pytest.raises(AccountingError, match="the files hold"):
        run_batch(cohort_csv, tmp_path / f"drop.{suffix}", chunk_size=1000)
    assert not list(tmp_path.iterdir())


def test_a_failing_parquet_writer_stops_the_run_cleanly(
    cohort_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a chunk the writer refuses (here: a column of the wrong type) must surface as an error
    # in the run, never hang it or leave a partial file behind
    real = scoring.score_frame

    def wrong_type(raw: Any, first_row: int = 0, index: int = 0, today: Any = None) -> ChunkResult:
        res = real(raw, first_row, index, today)
        bad = res.scored.with_columns(pl.col("row").cast(pl.String))
        return ChunkResult(res.index, bad, res.errors, res.rows_in, res.rows_rejected)

    monkeypatch.setattr(scoring, "score_frame", wrong_type)
    with pytest.raises(Exception) as err:
        run_batch(cohort_csv, tmp_path / "bad.parquet", chunk_size=500)
    assert not isinstance(err.value, AccountingError)
    assert not list(tmp_path.iterdir())


def test_an_output_folder_that_does_not_exist_is_refused_up_front(
    cohort_csv: Path, tmp_path: Path
) -> None:
    for name in ("out.csv", "out.parquet"):
        with pytest.raises(BatchError, match="does not exist"):
            run_batch(cohort_csv, tmp_path / "missing" / name)
    r = invoke("batch", str(cohort_csv), str(tmp_path / "missing" / "out.parquet"))
    assert r.exit_code == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("a,b\n", 0),
        ("a,b", 0),
        ("a,b\n1,2\n", 1),
        ("a,b\n1,2", 1),
        ('a,b\n"x\ny",2\n3,4\n', 2),
        ('a,b\n"say ""hi""\n",2\n', 1),
    ],
)
def test_count_records_respects_quotes(tmp_path: Path, text: str, rows: int) -> None:
    path = tmp_path / "f.csv"
    path.write_text(text)
    assert count_records(str(path)) == rows
