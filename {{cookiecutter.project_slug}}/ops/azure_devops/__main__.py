"""Entry point: ``python -m ops.azure_devops provision [--dry-run]``."""

import sys

from .cli import main

sys.exit(main())
