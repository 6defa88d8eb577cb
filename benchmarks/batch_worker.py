"""Runs inside the baked project's environment; see batch.py."""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from process_memory import status_mb

ROWS = 2_000_000
REPEATS = 7


def measure(args: argparse.Namespace) -> None:
    """One side, in this fresh process; print seconds, peak and added memory as JSON."""
    # What both sides need; the rest (the batch module, or what unpickling the
    # model imports) is imported on the clock, as a run of either imports it.
    import joblib
    import pandas as pd
    import pyarrow.parquet

    before = status_mb("VmRSS")
    started = time.perf_counter()
    if args.method == "ours":
        batch = importlib.import_module(f"{args.module}.deployment.batch")
        output = Path(args.output)
        code = batch.main([args.file, str(output), "--model-dir", args.model_dir])
        assert code == 0, code
        rows = pyarrow.parquet.ParquetFile(output).metadata.num_rows
    else:
        model = joblib.load(Path(args.model_dir) / "model.pkl")
        predictions = model.predict(pd.read_parquet(args.file))
        rows = len(predictions)
    seconds = time.perf_counter() - started
    peak = status_mb("VmHWM")
    print(json.dumps({"seconds": seconds, "peak": peak, "added": peak - before, "rows": rows}))


def _one(args: argparse.Namespace, method: str, file: Path, model_dir: Path, folder: Path) -> dict:
    output = folder / f"predictions-{method}-{time.monotonic_ns()}.parquet"
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "measure",
            "--method",
            method,
            "--module",
            args.module,
            "--file",
            str(file),
            "--model-dir",
            str(model_dir),
            "--output",
            str(output),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    output.unlink(missing_ok=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _write_rows(module: str, path: Path) -> None:
    """ROWS rows of the bundled sample's feature columns, drawn with a little noise."""
    import numpy as np
    import pandas as pd

    ingestion = importlib.import_module(f"{module}.data_ingestion")
    sample = pd.read_csv(ingestion.sample_data_path()).drop(columns="species")
    rng = np.random.default_rng(19)
    rows = sample.iloc[rng.integers(0, len(sample), ROWS)].reset_index(drop=True)
    noise = rng.normal(0.0, 0.05, rows.shape).round(2)
    (rows + noise).to_parquet(path, index=False)


def run(args: argparse.Namespace) -> None:
    project = Path(args.project)
    module = next(p.name for p in (project / "src").iterdir() if (p / "settings.py").is_file())
    args.module = module
    sys.path.insert(0, str(project / "src"))
    train = importlib.import_module(f"{module}.model_building.train")
    ingestion = importlib.import_module(f"{module}.data_ingestion")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        model_dir = folder / "model"
        model_dir.mkdir()
        train.train_and_save(ingestion.sample_data_path(), model_dir / "model.pkl")
        file = folder / "rows.parquet"
        _write_rows(module, file)
        print(f"{ROWS:,} rows, {file.stat().st_size / 1e6:.0f} MB of parquet")
        runs: dict[str, list[dict]] = {"ours": [], "baseline": []}
        for _ in range(REPEATS):  # interleaved: drift on a shared machine hits both
            for method in runs:
                runs[method].append(_one(args, method, file, model_dir, folder))
    assert {run["rows"] for side in runs.values() for run in side} == {ROWS}
    medians = {
        method: {
            key: statistics.median(run[key] for run in side) for key in ("seconds", "peak", "added")
        }
        for method, side in runs.items()
    }
    ours, baseline = medians["ours"], medians["baseline"]
    for method, values in medians.items():
        print(
            f"{method:>8}: {values['seconds']:.2f} s, peak {values['peak']:.0f} MB "
            f"({values['added']:.0f} MB after imports)"
        )
    time_ratio = ours["seconds"] / baseline["seconds"]
    peak_ratio = ours["peak"] / baseline["peak"]
    added_ratio = ours["added"] / baseline["added"]
    print(f"wall-time ratio {time_ratio:.2f} (target <= 1.1)")
    print(f"peak-memory ratio {peak_ratio:.2f} (target <= 0.5); after imports {added_ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--project", required=True)
    measure_parser = commands.add_parser("measure")
    for option in ("--method", "--module", "--file", "--model-dir", "--output"):
        measure_parser.add_argument(option, required=True)
    args = parser.parse_args()
    (run if args.command == "run" else measure)(args)


if __name__ == "__main__":
    main()
