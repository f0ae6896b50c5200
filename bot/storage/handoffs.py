"""A listener's hand-off of one ingest batch (`ingest_handoff`), as the listener sees it.

Lives in storage, below both sides: the feeds create hand-offs and the services (alerts, reply queue)
claim them, and neither imports the other.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete
from sqlmodel import Session

from bot.storage.models import IngestHandoff

#: built once: every listener claims every ingest batch, and building the statement cost more CPU than
#: running it. A Core delete on the table: claiming is the first statement of the listener's transaction,
#: so there is no loaded hand-off object for the ORM to synchronise
_CLAIM = delete(IngestHandoff.__table__).where(IngestHandoff.__table__.c.id == bindparam("handoff_id"))


class Handoff:
    """One batch handed to one listener. The listener claims it in the transaction of its own writes.

    Claiming deletes the hand-off row in the listener's transaction, so the listener's effect and the
    end of the hand-off commit together or not at all: a process that stops (or a delete that fails)
    after the listener's commit can no longer leave the row behind for a retry to apply a second time.
    """

    __slots__ = ("id", "listener", "claimed")

    def __init__(self, handoff_id: int, listener: str) -> None:
        self.id = handoff_id
        self.listener = listener
        #: `claim` was called: the row's fate follows the listener's transaction, not the ingest service's
        self.claimed = False

    def claim(self, session: Session) -> bool:
        """Delete the hand-off row in the caller's transaction; call it before the listener's writes.

        Returns False when the row is already gone: the batch was applied (an earlier run committed,
        or another worker's retry did), and the listener must write nothing. Deleting first also takes
        the row lock on PostgreSQL, so a concurrent retry of the same hand-off waits for this
        transaction and then finds nothing to claim.
        """
        self.claimed = True
        deleted = session.execute(_CLAIM, {"handoff_id": self.id}).rowcount
        return deleted == 1

    def __repr__(self) -> str:
        return f"Handoff(id={self.id}, listener={self.listener!r})"
