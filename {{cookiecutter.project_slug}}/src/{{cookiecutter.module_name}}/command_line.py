"""What the project's commands share: an error is one line, ``--debug`` shows its traceback."""

from __future__ import annotations

import argparse

# The line after a command's one-line error.
DEBUG_HINT = "(--debug shows the traceback)"


def add_debug_option(parser: argparse.ArgumentParser) -> None:
    """``--debug``: raise an error with its traceback instead of its one-line message."""
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error instead of its one-line message",
    )
