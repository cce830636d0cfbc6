"""Which files are tables, how they are read, and how read errors are reported."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shipyard.core.errors import InvalidInputError
from shipyard.tabular import (
    from_sql,
    is_tabular,
    open_table,
    read_arrow,
    read_errors,
    read_pandas,
    relation_sql,
    tabular_format,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.parquet", "parquet"),
        ("dir/a.PQ", "parquet"),
        ("a.csv", "csv"),
        ("a.csv.gz", "csv"),
        ("a.tsv", "tsv"),
        ("a.tsv.gz", "tsv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson.gz", "jsonl"),
        ("a.json", None),
        ("a.txt", None),
        ("csv", None),
        ("a.gz", None),
    ],
)
def test_formats_by_suffix(name: str, fmt: str | None) -> None:
    assert tabular_format(name) == fmt
    assert is_tabular(Path(name)) is (fmt is not None)


def test_relation_sql_quotes_and_escapes_globs() -> None:
    sql = relation_sql("/d/it's[1]*?.csv")
    assert sql.startswith("read_csv('/d/it''s[[]1][*][?].csv'")
    assert "strict_mode=true" in sql and "null_padding=false" in sql and "delim=','" in sql
    assert relation_sql("/d/x.tsv").count("delim='\\t'") == 1
    assert relation_sql("/cas/abc", name="x.csv.gz").count("compression='gzip'") == 1
    with pytest.raises(InvalidInputError, match="not a tabular file"):
        relation_sql("/d/model.pkl")


def test_a_name_with_quotes_and_glob_characters_is_read_as_itself(tmp_path: Path) -> None:
    pq.write_table(pa.table({"a": [1, 2, 3]}), tmp_path / "it's[1].parquet")
    pq.write_table(pa.table({"a": [9] * 5}), tmp_path / "it's1.parquet")  # what the glob would match
    pq.write_table(pa.table({"a": [7]}), tmp_path / "s*.parquet")
    pq.write_table(pa.table({"a": [8, 8]}), tmp_path / "sx.parquet")
    assert read_arrow(tmp_path / "it's[1].parquet").column("a").to_pylist() == [1, 2, 3]
    assert read_arrow(tmp_path / "s*.parquet").column("a").to_pylist() == [7]


def test_csv_tsv_jsonl_and_gzip(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", 'id,name\n1,"x, y"\n2,"say ""hi"""\n')
    write(tmp_path / "a.tsv", "id\tname\n3\tz\n")
    write(tmp_path / "a.jsonl", '{"id": 4, "name": "w"}\n{"id": 5}\n')
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(b"id,name\n6,v\n"))
    assert read_pandas(tmp_path / "a.csv")["name"].tolist() == ["x, y", 'say "hi"']
    assert read_arrow(tmp_path / "a.tsv").to_pylist() == [{"id": 3, "name": "z"}]
    assert read_arrow(tmp_path / "a.jsonl").to_pylist() == [{"id": 4, "name": "w"}, {"id": 5, "name": None}]
    assert read_arrow(tmp_path / "a.csv.gz").to_pylist() == [{"id": 6, "name": "v"}]


def test_named_blobs_take_their_format_from_the_name(tmp_path: Path) -> None:
    blob = tmp_path / "ab12cd"
    blob.write_bytes(gzip.compress(b"id,name\n1,a\n"))
    assert read_arrow([("data/train.csv.gz", blob)]).to_pylist() == [{"id": 1, "name": "a"}]
    bad = write(tmp_path / "ef34", "a,b\n1\n")
    with pytest.raises(InvalidInputError, match=r"data/bad\.csv") as caught:
        read_arrow([("data/bad.csv", bad)])
    assert caught.value.details["path"] == "data/bad.csv"


def test_several_files_are_unioned_by_name(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "id,x\n1,2.5\n")
    pq.write_table(pa.table({"id": [2], "y": ["b"]}), tmp_path / "b.parquet")
    frame = read_pandas([tmp_path / "a.csv", tmp_path / "b.parquet"]).sort_values("id")
    assert frame["id"].tolist() == [1, 2]
    assert frame["y"].isna().tolist() == [True, False]
    assert "UNION ALL BY NAME" in from_sql([tmp_path / "a.csv", tmp_path / "b.parquet"])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a,b,c\n1,2,3\n4,5\n6,7,8\n", "different numbers of fields"),  # short row
        ("a,b,c\n1,2,3\n4,5,6,7\n", "different numbers of fields"),  # long row
        ("a,b,c\n1,2,3,4\n", "different numbers of fields"),  # once taken as a preamble
    ],
)
def test_a_small_ragged_csv_is_an_error(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path / "ragged.csv", text)
    with pytest.raises(InvalidInputError, match=words) as caught:
        read_arrow(path)
    assert "ragged.csv" in str(caught.value)


def test_a_ragged_row_far_into_a_csv_is_an_error(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i},x{i}\n" for i in range(30_000))  # beyond the sniffer's sample
    path = write(tmp_path / "late.csv", "a,b,c\n" + rows + "1,2\n")
    relation = open_table(path)  # the header and sample are fine
    with pytest.raises(InvalidInputError, match=r"late\.csv.*Expected Number of Columns: 3 Found: 2"):
        read_arrow(path)
    with pytest.raises(InvalidInputError, match=r"late\.csv"), read_errors(path):
        relation.aggregate("count(*)").fetchall()


def test_corrupt_parquet_is_an_error(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"a": list(range(1000))}), good)
    data = good.read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    (tmp_path / "zeroed.parquet").write_bytes(data[:4] + b"\0" * (len(data) - 12) + data[-8:])
    with pytest.raises(InvalidInputError, match=r"cut\.parquet.*magic bytes"):
        read_arrow(tmp_path / "cut.parquet")
    with pytest.raises(InvalidInputError, match=r"cannot read \S*zeroed\.parquet: "):
        read_arrow([good, tmp_path / "zeroed.parquet"])  # DuckDB's message names no file


def test_a_bad_json_line_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "events.jsonl", '{"a": 1}\n{"a": 2,\n{"a": 3}\n')
    with pytest.raises(InvalidInputError, match=r"events\.jsonl.*Malformed JSON"):
        read_arrow(path)


def test_comment_like_rows_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "hash.csv", "a,b\n#1,2\n3,4\n")
    assert read_arrow(path).column("a").to_pylist() == ["#1", "3"]


def test_missing_directories_and_other_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"cannot read nope\.csv: no such file"):
        read_arrow("nope.csv")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(InvalidInputError, match="is a directory"):
        read_arrow(folder)
    with pytest.raises(InvalidInputError, match="not a tabular file"):
        read_arrow(write(tmp_path / "notes.txt", "hi"))
    with pytest.raises(InvalidInputError, match="no files"):
        read_arrow([])


def test_read_pandas_gives_a_dataframe(tmp_path: Path) -> None:
    pq.write_table(pa.table({"a": [1.5, None]}), tmp_path / "a.parquet")
    frame = read_pandas(tmp_path / "a.parquet")
    assert isinstance(frame, pd.DataFrame)
    assert frame["a"].isna().tolist() == [False, True]
