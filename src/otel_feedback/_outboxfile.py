"""The outbox's SQLite file: records in, leased batches out, deleted once confirmed.

One :class:`OutboxFile` per process and path holds one connection, guarded by one lock, so
the writers and the sender of a process never wait on each other inside SQLite; processes
sharing the file wait on SQLite's own locks (a 10 s busy timeout).

* **WAL mode**; ``synchronous=NORMAL`` (a commit survives the process being killed) or
  ``FULL`` (a commit is also fsynced: it survives power loss).
* **Leases.** A sender claims a batch by writing its owner id (``host:pid:token``) and a
  lease expiry on the rows; it deletes them after the exporter confirms, or releases them
  (counting an attempt) when the export fails. Rows whose lease expired, or whose owner is a
  process of this host that no longer runs, can be claimed by anyone: a row is never held
  forever, and at worst sent twice.
* **Bounds.** Triggers keep the number of records and bytes in ``outbox_size``; one
  ``INSERT ... SELECT`` checks the bounds and inserts atomically, whoever else writes.
* **Damage.** A file SQLite cannot read is moved aside (``<path>.corrupt-<time>-<pid>``)
  and a new one created; a stored record that cannot be decoded is moved to the table
  ``outbox_unreadable`` of the same file, never deleted.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Sequence

from otel_feedback.errors import OutboxError
from otel_feedback.reporting import count, logger

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    feedback_id TEXT,
    data BLOB NOT NULL,
    created_ns INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outbox_size (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    records INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO outbox_size VALUES (1, 0, 0);
CREATE TRIGGER IF NOT EXISTS outbox_added AFTER INSERT ON outbox BEGIN
    UPDATE outbox_size SET records = records + 1, bytes = bytes + length(NEW.data)
    WHERE one = 1;
END;
CREATE TRIGGER IF NOT EXISTS outbox_removed AFTER DELETE ON outbox BEGIN
    UPDATE outbox_size SET records = records - 1, bytes = bytes - length(OLD.data)
    WHERE one = 1;
END;
CREATE TABLE IF NOT EXISTS outbox_unreadable (
    id INTEGER PRIMARY KEY,
    feedback_id TEXT,
    data BLOB NOT NULL,
    created_ns INTEGER NOT NULL
);
"""

_INSERT = """
INSERT INTO outbox (feedback_id, data, created_ns)
SELECT ?, ?, ? FROM outbox_size WHERE one = 1 AND records < ? AND bytes + ? <= ?
"""
# Rows that failed least come first, so one record a collector keeps refusing cannot hold
# back the others.
_CLAIM = """
UPDATE outbox SET lease_owner = ?, lease_until = ?
WHERE id IN (SELECT id FROM outbox WHERE lease_until <= ? ORDER BY attempts, id LIMIT ?)
RETURNING id, feedback_id, data
"""

Row = tuple[int, "str | None", bytes]
"""A claimed record: row id, ``feedback.id`` (if any), the stored spans."""


class CorruptError(Exception):
    """SQLite cannot read the file as a database."""


class OutboxFile:
    """The outbox at ``path`` for this process. Raises :class:`OutboxError` when the file
    cannot be used (after moving a corrupt one aside and trying a new one)."""

    def __init__(self, path: str, sync: str) -> None:
        self.path = path
        self.sync = sync
        self.lock = threading.Lock()
        self.owner = owner_id()
        self.closed = False
        self._conn = open_file(path, sync)

    def reopen_after_fork(self) -> None:
        """A SQLite connection must not cross ``fork()``: the child opens its own."""
        self.lock = threading.Lock()
        self.owner = owner_id()
        if not self.closed:
            try:
                self._conn = connect(self.path, self.sync)
            except sqlite3.Error:
                self.closed = True

    def insert(
        self, feedback_id: str | None, data: bytes, max_records: int, max_bytes: int
    ) -> bool:
        """Commit one record; False (nothing written) when it would pass a bound."""
        with self.lock:
            self._require_open()
            cursor = self._conn.execute(
                _INSERT,
                (feedback_id, data, time.time_ns(), max_records, len(data), max_bytes),
            )
        return cursor.rowcount == 1

    def pending(self) -> int:
        """Records in the file (of every process) not yet confirmed by an exporter."""
        with self.lock:
            self._require_open()
            row = self._conn.execute("SELECT records FROM outbox_size WHERE one = 1").fetchone()
        return int(row[0]) if row else 0

    def claim(self, limit: int, lease_seconds: float) -> list[Row]:
        """Lease up to ``limit`` claimable rows for ``lease_seconds``."""
        now = time.time()
        with self.lock:
            self._require_open()
            rows = self._conn.execute(
                _CLAIM, (self.owner, now + lease_seconds, now, limit)
            ).fetchall()
        return [(int(row[0]), row[1], bytes(row[2])) for row in rows]

    def delete(self, ids: Sequence[int]) -> None:
        """Delete rows this process still leases (their export was confirmed)."""
        self._leased("DELETE FROM outbox", ids)

    def release(self, ids: Sequence[int]) -> None:
        """Give back rows this process leases after a failed export, counting an attempt."""
        self._leased(
            "UPDATE outbox SET lease_owner = NULL, lease_until = 0, attempts = attempts + 1",
            ids,
        )

    def set_aside(self, ids: Sequence[int]) -> None:
        """Move rows that cannot be decoded to ``outbox_unreadable`` (one transaction)."""
        marks = ",".join("?" * len(ids))
        with self.lock:
            self._require_open()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "INSERT OR REPLACE INTO outbox_unreadable "
                    f"SELECT id, feedback_id, data, created_ns FROM outbox WHERE id IN ({marks})",
                    list(ids),
                )
                self._conn.execute(f"DELETE FROM outbox WHERE id IN ({marks})", list(ids))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def release_dead_leases(self) -> None:
        """Release the rows leased by processes of this host that no longer run."""
        with self.lock:
            self._require_open()
            owners = self._conn.execute(
                "SELECT DISTINCT lease_owner FROM outbox "
                "WHERE lease_owner IS NOT NULL AND lease_until > ?",
                (time.time(),),
            ).fetchall()
            for (owner,) in owners:
                if owner_is_dead(str(owner)):
                    self._conn.execute(
                        "UPDATE outbox SET lease_owner = NULL, lease_until = 0 "
                        "WHERE lease_owner = ?",
                        (owner,),
                    )

    def close(self) -> None:
        """Close the connection; later calls raise ``sqlite3.ProgrammingError``."""
        with self.lock:
            self.closed = True
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()

    def _leased(self, statement: str, ids: Sequence[int]) -> None:
        marks = ",".join("?" * len(ids))
        with self.lock:
            self._require_open()
            self._conn.execute(
                f"{statement} WHERE lease_owner = ? AND id IN ({marks})", [self.owner, *ids]
            )

    def _require_open(self) -> None:
        if self.closed:
            raise sqlite3.ProgrammingError(f"the outbox {self.path!r} is closed")


# -- opening ----------------------------------------------------------------------------------


def connect(path: str, sync: str, *, check: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with the ``synchronous`` policy; with ``check``, the file is
    also checked (a corrupt one raises :class:`CorruptError`) and its schema created."""
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"WAL mode is not available (journal_mode={mode})")
        conn.execute(f"PRAGMA synchronous = {'FULL' if sync == 'full' else 'NORMAL'}")
        if check:
            _check_and_create(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _check_and_create(conn: sqlite3.Connection) -> None:
    check = conn.execute("PRAGMA quick_check").fetchall()
    if check != [("ok",)]:
        raise CorruptError("; ".join(str(row[0]) for row in check[:3]))
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise sqlite3.OperationalError(
            f"it was written by a newer otel-feedback (schema {version} > {SCHEMA_VERSION})"
        )
    if version < SCHEMA_VERSION:  # every statement is idempotent: racing creators agree
        conn.executescript(
            f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;"
        )


def open_file(path: str, sync: str) -> sqlite3.Connection:
    """The outbox at ``path``, created if needed; a corrupt file is moved aside first."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return connect(path, sync, check=True)
    except sqlite3.OperationalError as error:  # cannot open, write or lock: not damage
        raise OutboxError(f"cannot use the outbox {path!r}: {error}") from error
    except (sqlite3.DatabaseError, CorruptError) as error:
        aside = _move_aside(path)
        count("outbox_corrupt")
        logger.error(
            "the outbox %r is corrupt (%s); it was moved to %r and a new one is created",
            path,
            error,
            aside,
        )
    except OSError as error:
        raise OutboxError(f"cannot use the outbox {path!r}: {error}") from error
    try:
        return connect(path, sync, check=True)
    except (sqlite3.Error, CorruptError) as error:
        raise OutboxError(f"cannot create a new outbox at {path!r}: {error}") from error


def _move_aside(path: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = f"{path}.corrupt-{stamp}-{os.getpid()}"
    try:
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.replace(path + suffix, aside + suffix)
    except OSError as error:
        raise OutboxError(
            f"the outbox {path!r} is corrupt and could not be moved aside: {error}"
        ) from error
    return aside


# -- owners -----------------------------------------------------------------------------------


def owner_id() -> str:
    """``host:pid:token``: who holds a lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def owner_is_dead(owner: str) -> bool:
    """Whether ``owner`` is a process of this host that has exited."""
    host, pid_text, _token = [*owner.rsplit(":", 2), "", ""][:3]
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (owned by another user), or we cannot tell
        return False
    return False
