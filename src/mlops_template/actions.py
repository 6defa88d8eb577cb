"""What a plan is made of: an ``Action`` (a ``Verb``, what it is about, what it needs first)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

Key = tuple[str, str]  # (kind, name)


class Verb(enum.Enum):
    """What an action does."""

    EXISTS = "exists"
    CREATE = "create"
    UPDATE = "update"
    PUSH = "push"
    KEEP = "keep"  # exists and is left as it is, though it differs (e.g. remote ahead)
    MANUAL = "manual"  # left for a person to do

    @property
    def changes(self) -> bool:
        """Whether apply sends something for it."""
        return self in (Verb.CREATE, Verb.UPDATE, Verb.PUSH)


@dataclass(frozen=True)
class Action:
    """One thing to look after, what to do with it, and what must be done before."""

    verb: Verb
    kind: str
    name: str
    detail: str = ""
    needs: tuple[Key, ...] = ()
    # What apply acts on when (kind, name) does not say it: a permission's resource (its
    # action key), a branch policy's type ("policy type", id). ``name`` is only shown.
    subject: Key | None = None

    @property
    def key(self) -> Key:
        """(kind, name): what identifies the action."""
        return (self.kind, self.name)


def exists_or(verb: Verb, exists: object) -> Verb:
    """``Verb.EXISTS`` when ``exists`` is truthy, else ``verb``."""
    return Verb.EXISTS if exists else verb


class ProvisioningError(RuntimeError):
    """An action could not be done; says which, why, and what to do."""

    def __init__(self, step: str, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(f"{step}: {reason}")
