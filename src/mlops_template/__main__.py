"""``python -m mlops_template provision``: the same as the ``mlops-template`` command."""

import sys

from .cli import main

sys.exit(main())
