"""Against the real PostgreSQL on 127.0.0.1:5432 (a temporary database per test, dropped afterwards); the operator
function is called directly, not in the sandbox (which refuses loopback and private addresses)."""

import os
import uuid

import psycopg
import pyarrow.parquet as pq
import pytest

ADMIN_URL = os.environ.get("FLOWUI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def database():
    name = f"flowui_sqlq_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(
                "CREATE TABLE sales (id serial PRIMARY KEY, region text, amount numeric(10, 2), day date,"
                " tags jsonb, ref uuid)"
            )
            connection.execute(
                "INSERT INTO sales (region, amount, day, tags, ref) VALUES"
                " ('north', 10.50, '2024-01-02', '{\"a\": 1}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),"
                " ('south', 20, '2024-01-03', NULL, NULL), ('north', 5.25, NULL, '[1, 2]', NULL)"
            )
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(operator_module, url, **values):
    return operator_module.operator_function(
        operator_module.InputModel(**values), operator_module.model.SecretsModel(postgres_url=url)
    )


def test_it_writes_a_query_result_with_params_as_csv(operator_module, run_env, database):
    out = run(
        operator_module,
        database,
        query="SELECT region, amount, day, tags, ref FROM sales WHERE region = %(region)s ORDER BY id",
        params={"region": "north"},
    )
    assert out.dataset_path == run_env.run_dir / "result.csv"
    assert (out.row_count, out.column_names, out.truncated) == (2, ["region", "amount", "day", "tags", "ref"], False)
    assert out.dataset_path.read_text().splitlines() == [
        "region,amount,day,tags,ref",
        'north,10.50,2024-01-02,"{""a"": 1}",a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        'north,5.25,,"[1, 2]",',
    ]


def test_it_writes_parquet_and_truncates_at_max_rows(operator_module, run_env, database):
    out = run(
        operator_module,
        database,
        query="SELECT id, region, amount, day, ref, 100 % 7 AS literal_percent FROM sales ORDER BY id",
        output_format="parquet",
        output_name="sales.parquet",
        max_rows=2,
    )
    assert out.dataset_path.name == "sales.parquet" and (out.row_count, out.truncated) == (2, True)
    rows = pq.read_table(out.dataset_path).to_pylist()
    assert [(r["id"], r["region"], float(r["amount"]), r["literal_percent"]) for r in rows] == [
        (1, "north", 10.5, 2),
        (2, "south", 20.0, 2),
    ]
    assert rows[0]["ref"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" and str(rows[0]["day"]) == "2024-01-02"


def test_it_reports_bad_queries_connections_and_writes_clearly(operator_module, run_env, database):
    with pytest.raises(ValueError, match=r'the query failed: relation "nope" does not exist \(SQLSTATE 42P01\)'):
        run(operator_module, database, query="SELECT * FROM nope")
    with pytest.raises(ValueError, match="read-only transaction"):
        run(operator_module, database, query="DELETE FROM sales RETURNING id")
    with pytest.raises(ValueError, match="the query failed: query parameter missing: missing"):
        run(operator_module, database, query="SELECT %(missing)s", params={"other": 1})
    with pytest.raises(ValueError, match="returned no rows to write"):
        run(operator_module, database, query="CREATE TEMP TABLE t (a int)", read_only=False)
    with pytest.raises(ValueError, match="canceling statement due to statement timeout"):
        run(operator_module, database, query="SELECT pg_sleep(3)", timeout_s=1)
    # Even with read_only off nothing is committed.
    run(operator_module, database, query="DELETE FROM sales RETURNING id", read_only=False)
    with psycopg.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM sales").fetchone()[0] == 3
    wrong = database.replace("postgres@", "postgres:s3cret-pw@").rsplit("/", 1)[0] + "/no_such_database_x"
    with pytest.raises(RuntimeError, match="cannot connect to PostgreSQL with the postgres_url secret") as caught:
        run(operator_module, wrong, query="SELECT 1")
    assert "no_such_database_x" in str(caught.value) and "s3cret-pw" not in str(caught.value)
