"""Every token the run holds, printed and logged as ``***`` while ``hide_secrets`` holds.

Whatever text carries it: a service's error message, a name it returns, git's output, a log
record. Rich text is scrubbed before it is laid out, so a token wrapped over two lines is
still caught.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console, ConsoleRenderable, RenderHook
from rich.table import Table
from rich.text import Text

HIDDEN = "***"
# Shorter "secrets" would blank out ordinary words.
_SHORTEST_SECRET = 4

Secrets = Callable[[], list[str]]


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret (longest first) replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _SHORTEST_SECRET:
            text = text.replace(secret, HIDDEN)
    return text


def _scrub_text(text: Text, secrets: list[str]) -> Text:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) < _SHORTEST_SECRET:
            continue
        while (at := text.plain.find(secret)) >= 0:
            text = text[:at] + Text(HIDDEN) + text[at + len(secret) :]
    return text


class _HideSecrets(RenderHook, logging.Filter):
    """Before rich lays text out (so a token wrapped over two lines is still caught), and
    in every log record."""

    def __init__(self, secrets: Secrets) -> None:
        logging.Filter.__init__(self)
        self.secrets = secrets

    def _any(self, renderable: object, secrets: list[str]) -> object:
        if isinstance(renderable, Text):
            return _scrub_text(renderable, secrets)
        if isinstance(renderable, str):
            return scrub(renderable, secrets)
        if isinstance(renderable, Table):
            for column in renderable.columns:
                column._cells = [self._any(cell, secrets) for cell in column._cells]  # type: ignore[misc]
        return renderable

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        secrets = self.secrets()
        return [self._any(renderable, secrets) for renderable in renderables]  # type: ignore[misc]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = scrub(message, self.secrets())
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


@contextmanager
def hide_secrets(console: Console, secrets: Secrets) -> Iterator[None]:
    """Print and log ``***`` for each of ``secrets()`` (asked anew: a renewed token too)."""
    hook = _HideSecrets(secrets)
    handlers = logging.getLogger().handlers
    console.push_render_hook(hook)
    for handler in handlers:
        handler.addFilter(hook)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(hook)
        console.pop_render_hook()
