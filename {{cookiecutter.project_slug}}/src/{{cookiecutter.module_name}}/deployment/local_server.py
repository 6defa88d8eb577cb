"""Microsoft's inference server app, for serving ``score.py`` on this machine.

The same app as ``azureml_inference_server_http.server.entry:app`` (run it
with gunicorn on 127.0.0.1, as the README shows). It only drops the server's
"Found extra keys in the config file" warning: the server reads
``AZUREML_ENTRY_SCRIPT`` and ``AZUREML_MODEL_DIR`` (its own documented
variables) and still calls them unsupported, which would hide real warnings.
"""

from __future__ import annotations

import logging


def _not_the_extra_keys_warning(record: logging.LogRecord) -> bool:
    return "Found extra keys in the config file" not in record.getMessage()


# The server logs it while its configuration is imported, below.
logging.getLogger("azmlinfsrv").addFilter(_not_the_extra_keys_warning)

from azureml_inference_server_http.server.entry import app  # noqa: E402

__all__ = ["app"]
