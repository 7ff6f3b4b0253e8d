"""Convert a dataset between CSV, Parquet and JSON lines with pyarrow (no pandas: types survive the round trip)."""

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from model import InputModel, OutputModel

EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
EXTENSIONS[".ndjson"] = "jsonl"
SUFFIX = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}


def operator_function(input_model: InputModel) -> OutputModel:
    source = input_model.dataset_path
    input_format = input_model.input_format
    if input_format == "auto":
        input_format = EXTENSIONS.get(source.suffix.lower())
        if input_format is None:
            raise ValueError(
                f"cannot tell the format of {source.name!r} from its extension: set input_format "
                "(csv, parquet or jsonl)"
            )
    table = _read(source, input_format, delimiter=input_model.delimiter)
    run_dir = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd())
    target = run_dir / (input_model.output_name or source.stem + SUFFIX[input_model.output_format])
    if target.resolve() == source:
        raise ValueError(f"output_name {target.name!r} would overwrite the input file")
    _write(table, target, input_model)
    return OutputModel(
        dataset_path=target,
        format=input_model.output_format,
        row_count=table.num_rows,
        column_names=table.column_names,
    )


def _read(source: Path, input_format: str, *, delimiter: str) -> pa.Table:
    try:
        if input_format == "parquet":
            return pq.read_table(source)
        if input_format == "jsonl":
            return pa_json.read_json(source)
        return pa_csv.read_csv(source, parse_options=pa_csv.ParseOptions(delimiter=delimiter))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise ValueError(f"{source.name} cannot be read as {input_format}: {reason}") from None


def _write(table: pa.Table, target: Path, input_model: InputModel) -> None:
    output_format = input_model.output_format
    if output_format == "parquet":
        codec = None if input_model.compression == "none" else input_model.compression
        pq.write_table(table, target, compression=codec)
    elif output_format == "csv":
        nested = [f.name for f in table.schema if pa.types.is_nested(f.type)]
        if nested:
            raise ValueError(f"columns {', '.join(nested)} hold lists or records, which CSV cannot hold: use jsonl")
        pa_csv.write_csv(table, target, write_options=pa_csv.WriteOptions(delimiter=input_model.delimiter))
    else:
        with target.open("w", encoding="utf-8") as handle:
            for row in table.to_pylist():
                handle.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
