"""DataIngestor.get_df() against the plain SDK + pandas baseline, from Azurite.

Bakes the default project, builds its environment, starts Azurite on
127.0.0.1 and uploads two tables, each as a CSV of about 100 MB and as
parquet: ``numeric`` (eight float columns and a label) and ``mixed`` (ids,
dates, categories, free text with commas and quotes, amounts, flags, missing
values), so that the figures do not depend on one file. Each measurement runs
in a fresh process, so peak memory is that read's alone:

- ours: ``DataIngestor(blob, secrets).get_df()``
- baseline: ``download_blob().readall()`` then ``pandas.read_csv(BytesIO(...))``
  (``read_parquet`` for parquet)

    .venv/bin/python benchmarks/ingest.py

Targets: wall-time ratio <= 1.10, peak memory ratio <= 1.5.
"""

from __future__ import annotations

from baked import run_worker


def main() -> None:
    run_worker("ingest_worker.py")


if __name__ == "__main__":
    main()
