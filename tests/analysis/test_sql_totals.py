"""``totals-sql`` and ``indices --totals`` (issue 20 item 5): the GROUP BY query run inside
DuckDB, PostgreSQL and Spark SQL gives the CSV path's numbers.

Each engine gets the reference responses (tests/analysis/results/designed.csv) as a table,
runs the query that ``python -m analysis totals-sql`` prints, and the saved result goes through
``python -m analysis indices --totals``; every estimate, se and interval equals the CSV path's
to 1e-9 (the sums are taken in another order). PostgreSQL runs when TEST_DATABASE_URL names
one (CI sets it); Spark runs in local mode and must run in CI (REQUIRE_SPARK=1, set by .ci/run).
"""

from __future__ import annotations

import os
import shutil
import uuid

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.questionnaire import load_questionnaire
from analysis.spec import IndexSpec
from analysis.sql_totals import totals_query

CASES = {
    # name: (extra CLI options, columns dropped from the table / CSV, totals-sql flags)
    "design-by-agency": (["--by", "agency"], [], []),
    "no-design": ([], ["stratum", "psu", "weight"], ["--no-stratum", "--no-psu", "--no-weight"]),
    "poststratified": (["--by", "agency", "--poststratify-by", "agency"], [], []),
}


def _spec(results) -> IndexSpec:
    return IndexSpec.from_questionnaire(load_questionnaire(results / "ref-survey.yaml"))


def _options(results, extra):
    out, i = [], 0
    while i < len(extra):
        if extra[i] == "--poststratify-by":
            out += ["--poststratify-by", extra[i + 1], "--population",
                    str(results / "population.csv")]
            i += 2
        else:
            out.append(extra[i])
            i += 1
    return out


def _query(results, tmp_path, table, dialect, name) -> str:
    extra, _, flags = CASES[name]
    by = extra[extra.index("--by") + 1] if "--by" in extra else ""
    out = tmp_path / f"{dialect}-{name}.sql"
    args = ["totals-sql", "--questionnaire", str(results / "ref-survey.yaml"), "--dialect", dialect,
            "--table", table, "--output", str(out), *flags]
    if by:
        args += ["--by", by]
    assert main(args) == 0
    return out.read_text(encoding="utf-8")


def _frame(results, name) -> pd.DataFrame:
    frame = pd.read_csv(results / "designed.csv", dtype=str, keep_default_na=False)
    return frame.drop(columns=CASES[name][1])


def _records(path):
    import json

    payload = json.loads(path.read_text(encoding="utf-8"))
    frame = pd.DataFrame(payload["results"])
    frame["group"] = frame["by"].map(lambda b: b.get("agency", "ALL"))
    return frame.sort_values(["group", "level", "code"]).reset_index(drop=True)


def _check_same(results, tmp_path, name, totals_file) -> None:
    """indices on the CSV equals indices --totals on the engine's result."""
    extra = _options(results, CASES[name][0])
    csv_path = tmp_path / f"{name}.csv"
    _frame(results, name).to_csv(csv_path, index=False)
    common = ["--questionnaire", str(results / "ref-survey.yaml"), "--measure", "both", *extra]
    a, b = tmp_path / "from-csv.json", tmp_path / "from-sql.json"
    assert main(["indices", str(csv_path), *common, "--output", str(a)]) == 0
    assert main(["indices", "--totals", str(totals_file), *common, "--output", str(b)]) == 0
    x, y = _records(a), _records(b)
    assert len(x) == len(y) > 20
    assert list(x["group"]) == list(y["group"]) and list(x["code"]) == list(y["code"])
    assert list(x["n"]) == list(y["n"]) and list(x["df"]) == list(y["df"])
    for col in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(y[col].astype(float), x[col].astype(float), rtol=1e-9, atol=1e-12)
    # p=0 / p=100 test an estimate of exactly 0 or 1: a sum in another order may miss it by 1 ulp
    edge = {"p=0", "p=100"}
    assert [set(f) - edge for f in x["flags"]] == [set(f) - edge for f in y["flags"]]


@pytest.fixture(scope="module")
def duck():
    duckdb = pytest.importorskip("duckdb")  # pinned in requirements-test.txt
    con = duckdb.connect()
    yield con
    con.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_duckdb_same_numbers_as_csv(duck, results, tmp_path, name):
    frame = _frame(results, name)
    duck.register("designed_text", frame)  # every column text, as a CSV loads
    duck.execute("CREATE OR REPLACE TABLE responses AS SELECT * FROM designed_text")
    query = _query(results, tmp_path, "responses", "duckdb", name)
    out = tmp_path / "totals.parquet"
    duck.execute(f"COPY ({query}) TO '{out}' (FORMAT parquet)")
    _check_same(results, tmp_path, name, out)


def test_duckdb_numeric_columns_and_csv_result(duck, results, tmp_path):
    """A table with typed columns (integers with NULLs, a double weight), the result saved as CSV."""
    duck.execute(f"CREATE OR REPLACE TABLE typed AS SELECT * FROM read_csv_auto("
                 f"'{results / 'designed.csv'}', header=true, types={{'psu': 'VARCHAR'}})")
    types = dict(duck.execute("SELECT column_name, data_type FROM information_schema.columns "
                              "WHERE table_name = 'typed'").fetchall())
    assert types["E1_1"] in ("BIGINT", "INTEGER") and types["weight"] == "DOUBLE"
    query = _query(results, tmp_path, "typed", "duckdb", "design-by-agency")
    out = tmp_path / "totals.csv"
    duck.execute(query).df().to_csv(out, index=False)
    _check_same(results, tmp_path, "design-by-agency", out)


def test_bad_rating_in_table_is_refused(duck, results, tmp_path, capsys):
    frame = _frame(results, "design-by-agency")
    frame.loc[3, "E2_1"] = "7"
    duck.register("bad_text", frame)
    query = _query(results, tmp_path, "bad_text", "duckdb", "design-by-agency")
    out = tmp_path / "bad.csv"
    duck.execute(query).df().to_csv(out, index=False)
    status = main(["indices", "--totals", str(out), "--questionnaire",
                   str(results / "ref-survey.yaml"), "--by", "agency"])
    err = capsys.readouterr().err
    assert status == 2
    assert "column BAD__n" in err and "1 response(s) have a rating outside 1..5" in err


def test_query_quoting_per_dialect(results):
    spec = _spec(results)
    pg = totals_query(spec, "public.responses", "postgresql", by=["agency"])
    assert 'FROM "public"."responses"' in pg and "DOUBLE PRECISION" in pg and "TEXT" in pg
    assert "WHERE \"survey\" = 'ref-survey'" in pg
    spark = totals_query(spec, "db.responses", "spark", by=["agency"])
    assert "FROM `db`.`responses`" in spark and "AS `E1_1__ws`" in spark and '"' not in spark
    odd = totals_query(spec, 'we"ird', "duckdb", by=['a"b'])
    assert '"we""ird"' in odd and '"a""b"' in odd


def test_either_responses_or_totals(results, capsys, tmp_path):
    status = main(["indices", "--questionnaire", str(results / "ref-survey.yaml")])
    assert status == 2 and "either a responses CSV or --totals" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["design-by-agency", "no-design"])
def test_postgresql_same_numbers_as_csv(results, tmp_path, name):
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("TEST_DATABASE_URL names no PostgreSQL database")
    import psycopg

    frame = _frame(results, name)
    table = "analysis_responses_" + uuid.uuid4().hex[:8]
    numeric = set(_spec(results).criteria) | {"weight"}
    columns = ", ".join(f'"{c}" {"INTEGER" if c in numeric - {"weight"} else "DOUBLE PRECISION"}'
                        if c in numeric else f'"{c}" TEXT' for c in frame.columns)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con:
        try:
            con.execute(f"CREATE TABLE {table} ({columns})")
            with con.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                for row in frame.itertuples(index=False):
                    copy.write_row([None if (c in numeric and v == "") else v
                                    for c, v in zip(frame.columns, row, strict=True)])
            query = _query(results, tmp_path, table, "postgresql", name)
            cur = con.execute(query)
            names = [d.name for d in cur.description]
            result = pd.DataFrame(cur.fetchall(), columns=names)
        finally:
            con.rollback()
    out = tmp_path / "totals.csv"
    result.to_csv(out, index=False)
    assert len(result) > 10
    _check_same(results, tmp_path, name, out)


@pytest.fixture(scope="module")
def spark():
    required = os.environ.get("REQUIRE_SPARK") == "1"
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        if required:
            pytest.fail("REQUIRE_SPARK=1 but pyspark is missing (pip install -r requirements-test.txt)")
        pytest.skip("pyspark is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if required:
            pytest.fail("REQUIRE_SPARK=1 but Java is missing (apt-get install default-jre-headless)")
        pytest.skip("no Java for Spark")
    session = (SparkSession.builder.master("local[1]").appName("sipas-totals-test")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
               .getOrCreate())
    yield session
    session.stop()


def test_spark_same_numbers_as_csv(spark, results, tmp_path):
    """Spark SQL in local mode: every column read as text, as spark.read.csv loads a CSV."""
    for name in ("design-by-agency", "no-design"):
        frame = _frame(results, name)
        csv_path = tmp_path / f"spark-{name}.csv"
        frame.to_csv(csv_path, index=False)
        spark.read.csv(str(csv_path), header=True).createOrReplaceTempView("responses")
        query = _query(results, tmp_path, "responses", "spark", name)
        rows = spark.sql(query).collect()
        result = pd.DataFrame([r.asDict() for r in rows])
        out = tmp_path / f"spark-{name}-totals.csv"
        result.to_csv(out, index=False)
        _check_same(results, tmp_path, name, out)
