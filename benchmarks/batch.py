"""The batch driver (deployment/batch.py) against reading the whole file and predicting.

Bakes the default project (SDK v2), builds its environment, trains the model
on the bundled sample, and writes a parquet file of 2,000,000 rows of the
sample's feature columns (its rows drawn with replacement, with a little
noise). Then, each in a fresh process, so that peak memory is that run's
alone (VmHWM):

- ours: ``python -m <module>.deployment.batch FILE OUTPUT`` as a team runs it
  (``score.init``, then ``score_files``: the file read in chunks of
  ``BATCH_CHUNK_ROWS``, checked as score.py checks a request, predicted, and
  the predictions written to a parquet file);
- baseline: ``model.predict(pd.read_parquet(FILE))`` with the model loaded by
  ``joblib.load``; it writes nothing.

Prints the ratios of the median wall time (target <= 1.1) and of the median
peak memory (target <= 0.5), and the memory each adds after its imports.

    .venv/bin/python benchmarks/batch.py
"""

from __future__ import annotations

from baked import run_worker


def main() -> None:
    run_worker("batch_worker.py")


if __name__ == "__main__":
    main()
