"""Runs inside the baked project's environment; see ingest.py."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

from process_memory import status_mb

# A fresh process's read varies by about 0.1 s: with fewer repeats that noise,
# not the reader, decides the ratio of the small parquet files.
REPEATS = 9
ROWS = 750_000  # about 110 MB of CSV of the numeric table
MIXED_ROWS = 1_300_000  # about 100 MB of CSV of the mixed table


def measure(args: argparse.Namespace) -> None:
    """One read in this fresh process; print seconds and memory as JSON."""
    import pandas as pd
    from azure.storage.blob import BlobServiceClient

    module = __import__(f"{args.module}.data_ingestion", fromlist=["DataIngestor"])
    secrets = {"connection_string": args.connection_string, "container_name": "bench"}
    before = status_mb("VmRSS")
    started = time.perf_counter()
    if args.method == "ours":
        frame = module.DataIngestor(args.blob, secrets).get_df()
    else:
        service = BlobServiceClient.from_connection_string(args.connection_string)
        data = service.get_blob_client("bench", args.blob).download_blob().readall()
        reader = pd.read_parquet if args.blob.endswith(".parquet") else pd.read_csv
        frame = reader(BytesIO(data))
    seconds = time.perf_counter() - started
    peak = status_mb("VmHWM")
    print(
        json.dumps({"seconds": seconds, "peak": peak, "added": peak - before, "rows": len(frame)})
    )


def _one(args: argparse.Namespace, method: str, blob: str, connection_string: str) -> dict:
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "measure",
            "--method",
            method,
            "--blob",
            blob,
            "--module",
            args.module,
            "--connection-string",
            connection_string,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


def _medians(runs: list[dict]) -> dict[str, float]:
    return {
        key: statistics.median(run[key] for run in runs) for key in ("seconds", "peak", "added")
    }


def _numeric_table(rng: Any) -> Any:
    """Eight float columns and a three-valued label: the iris shape, scaled up."""
    import pandas as pd

    frame = pd.DataFrame(rng.normal(size=(ROWS, 8)), columns=[f"x{i}" for i in range(8)])
    frame["label"] = rng.choice(["setosa", "versicolor", "virginica"], size=ROWS)
    return frame


def _mixed_table(rng: Any) -> Any:
    """Business-like rows: ids, dates, categories, free text with commas and
    quotes, amounts, flags, and missing values in text and numbers."""
    import numpy as np
    import pandas as pd

    rows = MIXED_ROWS
    words = np.array(
        ["late", "delivery", "refund", "great", "service", 'said "ok"', "billing,", "app",
         "crash", "renewal", "discount", "Zürich", "support", "call", "price"]
    )  # fmt: skip
    comment = pd.Series(rng.choice(words, size=rows))
    for _ in range(4):
        comment = comment + " " + rng.choice(words, size=rows)
    comment[rng.random(rows) < 0.1] = None
    amount = rng.gamma(2.0, 50.0, size=rows).round(2)
    amount[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "customer_id": rng.integers(100_000, 999_999, size=rows),
            "signup_date": (np.datetime64("2020-01-01") + rng.integers(0, 2400, size=rows)).astype(
                str
            ),
            "country": rng.choice(["DE", "FR", "NL", "CH", "US", "GB", "JP"], size=rows),
            "plan": rng.choice(["free", "basic", "premium", "enterprise"], size=rows),
            "monthly_amount": amount,
            "support_calls": rng.poisson(1.5, size=rows),
            "churned": rng.random(rows) < 0.2,
            "comment": comment,
        }
    )


def run(args: argparse.Namespace) -> None:
    """Start Azurite, upload the data, and compare the two readers."""
    import numpy as np
    from azure.storage.blob import BlobServiceClient

    project = Path(args.project)
    sys.path.insert(0, str(project / "tests"))
    from azurite_service import run_azurite

    args.module = next((project / "src").iterdir()).name
    rng = np.random.default_rng(0)
    blobs: dict[str, tuple[bytes, int]] = {}
    for table, frame in (("numeric", _numeric_table(rng)), ("mixed", _mixed_table(rng))):
        buffer = BytesIO()
        frame.to_parquet(buffer, index=False)
        blobs[f"{table}.csv"] = (frame.to_csv(index=False).encode(), len(frame))
        blobs[f"{table}.parquet"] = (buffer.getvalue(), len(frame))
    with tempfile.TemporaryDirectory() as logs, run_azurite(Path(logs)) as azurite:
        service = BlobServiceClient.from_connection_string(azurite.connection_string)
        service.create_container("bench")
        for name, (data, _) in blobs.items():
            service.get_blob_client("bench", name).upload_blob(data, max_concurrency=4)
        for name, (data, rows) in blobs.items():
            results: dict[str, list[dict]] = {"ours": [], "baseline": []}
            for _ in range(REPEATS):  # interleaved, so drift hits both alike
                for method in results:
                    results[method].append(_one(args, method, name, azurite.connection_string))
            ours, base = _medians(results["ours"]), _medians(results["baseline"])
            print(
                f"{name} ({len(data) / 2**20:.0f} MiB, {rows} rows), median of {REPEATS}: "
                f"DataIngestor {ours['seconds']:.2f} s, peak {ours['peak']:.0f} MiB "
                f"(+{ours['added']:.0f}); baseline {base['seconds']:.2f} s, peak "
                f"{base['peak']:.0f} MiB (+{base['added']:.0f})"
            )
            print(
                f"{name}: wall-time ratio {ours['seconds'] / base['seconds']:.2f} "
                "(target <= 1.10); "
                f"peak memory ratio {ours['peak'] / base['peak']:.2f} (target <= 1.5), "
                f"memory added by the read {ours['added'] / base['added']:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run")
    run_parser.add_argument("--project", required=True)
    measure_parser = sub.add_parser("measure")
    for option in ("--method", "--blob", "--module", "--connection-string"):
        measure_parser.add_argument(option, required=True)
    args = parser.parse_args()
    run(args) if args.command == "run" else measure(args)


if __name__ == "__main__":
    main()
