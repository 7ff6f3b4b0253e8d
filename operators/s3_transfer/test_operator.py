import boto3
import pytest


@pytest.fixture
def s3(s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="lake")
    return client


def run(module, **values):
    return module.operator_function(module.InputModel(**values), module.model.SecretsModel())


def test_it_uploads_a_file_and_a_folder(operator_module, run_env, s3):
    reports = run_env.storage / "reports"
    (reports / "2024").mkdir(parents=True)
    (reports / "summary.csv").write_text("a,b\n1,2\n")
    (reports / "2024" / "jan.csv").write_text("x\n")
    one = run(operator_module, direction="upload", s3_uri="s3://lake/in/", local_path="reports/summary.csv")
    assert (one.s3_uri, one.keys, one.total_bytes, one.local_path) == (
        "s3://lake/in/summary.csv",
        ["in/summary.csv"],
        8,
        None,
    )
    assert s3.get_object(Bucket="lake", Key="in/summary.csv")["Body"].read() == b"a,b\n1,2\n"
    renamed = run(operator_module, direction="upload", s3_uri="s3://lake/final.csv", local_path="reports/summary.csv")
    assert renamed.keys == ["final.csv"]
    folder = run(operator_module, direction="upload", s3_uri="s3://lake/backup", local_path="reports")
    assert folder.s3_uri == "s3://lake/backup/" and folder.object_count == 2
    assert sorted(folder.keys) == ["backup/2024/jan.csv", "backup/summary.csv"]


def test_it_downloads_an_object_and_a_prefix_into_the_run_folder(operator_module, run_env, s3):
    s3.put_object(Bucket="lake", Key="raw/a.csv", Body=b"1\n")
    s3.put_object(Bucket="lake", Key="raw/deep/b.csv", Body=b"22\n")
    one = run(operator_module, direction="download", s3_uri="s3://lake/raw/a.csv")
    assert one.local_path == run_env.run_dir / "a.csv" and one.local_path.read_bytes() == b"1\n"
    many = run(operator_module, direction="download", s3_uri="s3://lake/raw/", local_path="inputs")
    assert many.local_path == run_env.run_dir / "inputs" and (many.object_count, many.total_bytes) == (2, 5)
    assert (run_env.run_dir / "inputs" / "deep" / "b.csv").read_bytes() == b"22\n"


def test_it_reports_missing_objects_and_unsafe_paths(operator_module, run_env, s3, tmp_path):
    with pytest.raises(RuntimeError, match="S3 download of s3://lake/nope.csv failed"):
        run(operator_module, direction="download", s3_uri="s3://lake/nope.csv")
    with pytest.raises(ValueError, match="no objects under s3://lake/empty/"):
        run(operator_module, direction="download", s3_uri="s3://lake/empty/")
    with pytest.raises(ValueError, match="outside the run folder"):
        run(operator_module, direction="download", s3_uri="s3://lake/raw.csv", local_path="../../escape.csv")
    (tmp_path / "outside.txt").write_text("x")
    with pytest.raises(ValueError, match="outside the storage"):
        run(operator_module, direction="upload", s3_uri="s3://lake/x", local_path=str(tmp_path / "outside.txt"))
    with pytest.raises(RuntimeError, match="NoSuchBucket"):
        (run_env.storage / "f.txt").write_text("x")
        run(operator_module, direction="upload", s3_uri="s3://missing-bucket/x", local_path="f.txt")
