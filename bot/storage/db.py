"""Engine, sessions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# A pooled PostgreSQL connection idle for longer than this is pinged before use (see _ping_if_idle).
PING_AFTER_IDLE_SECONDS = 2.0
# ... and one older than this is replaced (servers and middleboxes drop long-lived idle connections).
POOL_RECYCLE_SECONDS = 1800
# The only databases the migrations and the SQL are written and tested for.
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
URL_EXAMPLES = "sqlite:///var/crisisbot.db, postgresql+psycopg://user:pass@host:5432/crisisbot"


class DatabaseUnavailable(Exception):
    """The database cannot be opened: a bad URL, a missing driver, an unreachable server, a file that is
    not a database. The message names the URL with its password hidden, on one line, so the CLI can show
    it as is instead of a driver traceback."""


class DatabaseNewerThanCode(DatabaseUnavailable):
    """The database was migrated by a newer crisisbot (a revision this code does not have): upgrading or
    using it could damage it. Said on one line instead of alembic's traceback."""


def sqlite_file_of(url: str) -> str | None:
    """The file a SQLite URL names (None for PostgreSQL, in-memory or `file:` URI databases)."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a malformed URL is reported where the engine is made
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


# libpq and its drivers also take a password as a query parameter (`?password=...`, `sslpassword`), which
# SQLAlchemy passes to the driver and `hide_password` does not hide: such parameters are secrets too.
_SECRET_QUERY_KEY = re.compile(r"pass|secret|token", re.IGNORECASE)
_HIDDEN = "***"


def redact_url(url: str) -> str:
    """The URL with its password (in the user info or a query parameter) replaced by ***; an unparseable
    one is not echoed (it may hold one)."""
    try:
        parsed = make_url(url)
        hidden = {key: _HIDDEN for key in parsed.query if _SECRET_QUERY_KEY.search(key)}
        shown = parsed.update_query_dict(hidden) if hidden else parsed
        return shown.render_as_string(hide_password=True).replace("=%2A%2A%2A", "=" + _HIDDEN)
    except (exc.ArgumentError, ValueError):
        return "(无法解析的地址 / unparseable URL)"


def _url_secrets(url: str) -> list[str]:
    """The secret values a database URL holds (its password, secret query parameters), longest first."""
    parsed = make_url(url)
    values = [parsed.password or ""]
    for key, value in parsed.query.items():
        if _SECRET_QUERY_KEY.search(key):
            values += [value] if isinstance(value, str) else list(value)
    return sorted({value for value in values if value}, key=len, reverse=True)


def url_problem(url: str) -> str | None:
    """What is wrong with a database URL's form, or None. Never connects: `config check` runs this on a
    machine that may not reach the server, and a wrong URL should fail there rather than at start-up."""
    try:
        parsed = make_url(url)
    except (exc.ArgumentError, ValueError):
        return f"不是有效的数据库地址 / not a database URL (e.g. {URL_EXAMPLES})"
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        return f"不支持的数据库 / unsupported database {backend!r} (use sqlite or postgresql, e.g. {URL_EXAMPLES})"
    try:
        # importing the driver module is what create_engine does first; it opens no connection
        parsed.get_dialect().import_dbapi()
    except exc.NoSuchModuleError:
        return f"未知的数据库驱动 / unknown driver {parsed.drivername!r} (e.g. {URL_EXAMPLES})"
    except ImportError as error:
        return f"数据库驱动未安装 / driver for {parsed.drivername!r} is not installed ({error.name or error})"
    return None


def _cannot_open(url: str, error: BaseException) -> str:
    return f"{redact_url(url)}: 无法连接数据库 / cannot open the database: {_one_line(error, *_url_secrets(url))}"


def unavailable_message(error: BaseException) -> str | None:
    """For an error raised while a Database was first connecting (see _tag_connect_failure): the one-line
    message naming the URL; None for any other error."""
    return getattr(error, "crisisbot_cannot_open", None)


def _tag_connect_failure(url: str):
    def handle_error(context) -> None:
        # `connection` is None only when no connection could be made at all (server down, wrong password,
        # not a database file): the error is tagged, not replaced, so callers that retry or catch
        # OperationalError see what they always did, and the CLI can show it as one line.
        if context.connection is None and context.sqlalchemy_exception is not None:
            context.sqlalchemy_exception.crisisbot_cannot_open = _cannot_open(url, context.original_exception)

    return handle_error


def _one_line(error: BaseException, *secrets: str) -> str:
    """The driver's own reason, first line only (the rest is SQLAlchemy's background link), no secret."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    text_ = reason[0] if reason else type(error).__name__
    for secret in secrets:
        if secret:
            text_ = text_.replace(secret, _HIDDEN)
    return text_


def failure_line(error: BaseException) -> str:
    """One line for a log about a failed database call: the URL-naming message of a connection that could
    not be made (password hidden), else the driver's own reason (no statement, no parameters)."""
    return unavailable_message(error) or _one_line(error)


def database_unavailable(error: BaseException) -> bool:
    """Whether a failed call says the database cannot serve now (unreachable or gone, a lost connection, no
    pooled connection in time, read-only, out of space, locked past the busy timeout, not a database file),
    which a later retry may get past; not that it refused this one statement (a bug or a bad row)."""
    return (isinstance(error, exc.OperationalError | exc.InterfaceError | exc.InternalError
                       | exc.DisconnectionError | exc.TimeoutError)
            or type(error) is exc.DatabaseError
            or bool(getattr(error, "connection_invalidated", False)))


def _owner_only_file(path: str):
    """A `do_connect` listener creating the SQLite file, when it does not exist yet, readable and writable by
    its owner only: it holds commenters' personal data and the platform tokens the bot keeps (in plain text
    without CRISISBOT_SECRET_KEY), and SQLite would create it with the umask's mode (0644: readable by every
    user of the machine). SQLite gives the -wal and -shm files the database file's mode."""

    def create(_dialect, _connection_record, _cargs, _cparams) -> None:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError:  # it exists (kept as the operator made it), or SQLite says what is wrong when it opens it
            pass

    return create


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; busy_timeout makes writers queue instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _close_cut_statement(context) -> None:
    """A statement cut short by Ctrl-C or SIGTERM (an exception that is not an Exception): SQLAlchemy
    invalidates the connection, which closes it, but leaves the statement's cursor open. SQLite defers
    closing a connection whose statements are not finalized, so the interrupted transaction kept the write
    lock for as long as anything held the interrupt's traceback (whose frames hold the cursor): the hand-over
    an interrupted `crisisbot ingest` does before it exits waited out the busy timeout and failed with
    "database is locked". Closing the cursor first lets the close roll the transaction back at once."""
    if isinstance(context.original_exception, Exception) or context.execution_context is None:
        return
    cursor = getattr(context.execution_context, "cursor", None)
    if cursor is None:
        return
    try:
        cursor.close()
    except Exception:  # noqa: BLE001 - the connection is being thrown away either way; the interrupt goes on
        pass


def _sqlite_savepoint_in_transaction(conn, _name) -> None:
    """Before a SAVEPOINT on SQLite: make sure a real transaction holds it, taking the write lock.

    The sqlite3 driver opens a transaction only before INSERT/UPDATE/DELETE. A SAVEPOINT issued before
    the session's first write therefore started a transaction of its own, and releasing it COMMITTED at
    once: an outbox message enqueued in a session that later rolled back was still sent. Its reads also
    pinned a snapshot, so the first write after another connection's commit failed at once with
    "database is locked" (busy_timeout does not apply to a stale snapshot; the demo showed both).
    BEGIN IMMEDIATE waits for the write lock (busy_timeout) and keeps the savepoint inside the session's
    transaction, which commits or rolls back as a whole.
    """
    dbapi_connection = conn.connection.dbapi_connection
    if not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN IMMEDIATE")


_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# How long a writer waits for its turn before it goes ahead anyway and lets SQLite's own lock decide (the
# busy timeout): a turn is given back at every commit and rollback, so this only bounds a bug.
WRITE_TURN_TIMEOUT_S = 30.0


class SqliteWriteTurns:
    """One writing transaction at a time among this process's connections to one SQLite file, handed over
    the moment the last one commits.

    SQLite admits one writer; the others wait in its busy handler, which sleeps 1, 2, 5, 10 … 100 ms between
    tries and serves nobody in order: under a burst of writers (the dispatcher's workers, the outbox, the
    inbound journal that an acknowledgement waits on), one of them could lose every round for 700 ms while
    the lock was free most of the time. Writers of this process queue on a lock here instead; other
    processes (a `crisisbot ingest` beside `serve`) still meet SQLite's busy handler.

    A connection takes its turn at its transaction's first write (or BEGIN IMMEDIATE) and gives it back at
    its commit or rollback (and, as a net, when it returns to the pool)."""

    _by_file: dict[str, SqliteWriteTurns] = {}
    _by_file_lock = threading.Lock()
    _memory_ids = itertools.count(1)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @classmethod
    def for_file(cls, path: str) -> SqliteWriteTurns:
        # each in-memory database is its own (an id() could be reused once its object is gone)
        key = str(Path(path).resolve()) if path and path != ":memory:" else f"memory:{next(cls._memory_ids)}"
        with cls._by_file_lock:
            return cls._by_file.setdefault(key, cls())

    def take(self, info: dict) -> None:
        if info.get("write_turn"):
            return
        if self._lock.acquire(timeout=WRITE_TURN_TIMEOUT_S):
            info["write_turn"] = True
        else:
            log.warning("no SQLite write turn after %.0f s; writing anyway (a turn was not given back)",
                        WRITE_TURN_TIMEOUT_S)

    def give_back(self, info: dict) -> None:
        if info.pop("write_turn", False):
            self._lock.release()

    def listen(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "commit", self._ended)
        event.listen(engine, "rollback", self._ended)
        event.listen(engine, "checkin", self._checked_in)

    def _before_execute(self, conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if statement.lstrip()[:7].upper().startswith(_WRITE_VERBS):
            self.take(conn.info)

    def _ended(self, conn) -> None:
        # Fired just before the commit or rollback itself: the next writer's BEGIN may meet the tail of it
        # in SQLite's busy handler (a millisecond), never a whole transaction.
        try:
            info = conn.info
        except exc.PendingRollbackError:
            # a statement cut short (Ctrl-C during an import) invalidated the connection: its turn is given
            # back when the connection returns to the pool (_checked_in); reading it here raised a second
            # error that replaced the interrupt with a traceback
            return
        self.give_back(info)

    def _checked_in(self, _dbapi_connection, record) -> None:
        if record is not None:
            self.give_back(record.info)


def _postgres_session(dbapi_connection, _record) -> None:
    # psycopg prepares a statement on its 5th run and the server may then keep one generic plan for it. A
    # plan made while a table was nearly empty (a new deployment, the first big import) sticks until the
    # next autoanalyze: the ingest existence check kept scanning every row of a platform through the
    # narrow parent index (100+ ms a batch at 20k comments). Custom plans cost a few dozen microseconds of
    # planning per statement and always see the table's current size.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET plan_cache_mode = force_custom_plan")
    cursor.close()
    dbapi_connection.commit()


def _mark_checkin(_dbapi_connection, record) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """Pessimistic disconnect handling, for idle connections only.

    `pool_pre_ping` sent a `SELECT 1` round trip before EVERY checkout: four per ingested batch (the
    ingest transaction and each listener's), several percent of the webhook's CPU. A connection the pool
    handed out moments ago is as alive as a ping would show; one that sat idle (overnight, across a
    server restart) is pinged, and a dead one is replaced before the caller sees it.
    """
    idle_since = record.info.get("checked_in")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as error:  # noqa: BLE001 - any failure means "use another connection"
        # the pool discards this connection and checks out a fresh one (up to 3 attempts)
        raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


class Database:
    """One database: the engine, a session factory and the migration runner."""

    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False) -> None:
        self.url = url
        problem = url_problem(url)
        if problem:
            raise DatabaseUnavailable(f"{redact_url(url)}: {problem}")
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        connect_args: dict = {}
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise DatabaseUnavailable(
                        f"{redact_url(url)}: 无法创建数据库目录 / cannot create the database's folder: {error}"
                    ) from error
            connect_args["check_same_thread"] = False
        elif schema:
            connect_args["options"] = f"-csearch_path={schema}"
        self.schema = schema
        engine_args: dict = {}
        if self.dialect == "postgresql":
            engine_args["pool_recycle"] = POOL_RECYCLE_SECONDS
        # hide_parameters: a database error's message otherwise quotes the statement's parameters (comment
        # authors' ids and names, texts, tokens), and those messages reach the logs in tracebacks
        self.engine: Engine = create_engine(
            url, echo=echo, connect_args=connect_args, hide_parameters=True, **engine_args
        )
        event.listen(self.engine, "handle_error", _tag_connect_failure(url))
        if self.dialect == "sqlite":
            # a SQLite connection is a file handle: it never goes stale, so it is never pinged
            event.listen(self.engine, "connect", _sqlite_pragmas)
            sqlite_file = sqlite_file_of(url)
            if sqlite_file:
                event.listen(self.engine, "do_connect", _owner_only_file(sqlite_file))
            self.write_turns: SqliteWriteTurns | None = SqliteWriteTurns.for_file(parsed.database or "")
            self.write_turns.listen(self.engine)
            event.listen(self.engine, "savepoint", self._savepoint_in_transaction)
            event.listen(self.engine, "handle_error", _close_cut_statement)
        if self.dialect != "sqlite":
            self.write_turns = None
        if self.dialect == "postgresql":
            event.listen(self.engine, "connect", _postgres_session)
            event.listen(self.engine, "checkin", _mark_checkin)
            event.listen(self.engine, "checkout", _ping_if_idle)

    def _savepoint_in_transaction(self, conn, name) -> None:
        if self.write_turns is not None and not conn.connection.dbapi_connection.in_transaction:
            self.write_turns.take(conn.info)  # BEGIN IMMEDIATE below takes the write lock
        _sqlite_savepoint_in_transaction(conn, name)

    @contextmanager
    def session(self, *, write_lock: bool = False) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on error.

        `write_lock=True`: on SQLite, take the write lock before the first statement (BEGIN IMMEDIATE),
        so what the session reads cannot change before it writes (the sqlite3 driver otherwise runs
        reads before the first write outside any transaction). PostgreSQL needs nothing here.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                if write_lock and self.write_turns is not None:
                    connection = session.connection()
                    self.write_turns.take(connection.info)
                    connection.connection.dbapi_connection.execute("BEGIN IMMEDIATE")
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def ping(self) -> bool:
        """Whether the database answers. A pooled connection that turns out dead (its server restarted
        moments ago) is dropped and the question asked once more on a fresh one."""
        for attempt in (1, 2):
            try:
                with self.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return True
            except exc.DBAPIError as error:
                if attempt == 1 and error.connection_invalidated:
                    continue
                log.warning("database ping failed", exc_info=True)
                return False
            except Exception:  # noqa: BLE001 - health check reports any failure as unhealthy
                log.warning("database ping failed", exc_info=True)
                return False
        return False

    def upgrade(self) -> None:
        """Apply every migration (all heads: each feature carries its own branch)."""
        from alembic import command

        # Every command that opens the database upgrades it first, so this first connection is where an
        # unreachable server or a file that is not a database shows; errors from the migrations themselves
        # are left as they are (they are bugs, and their traceback is what finds them).
        try:
            connection = self.engine.connect()
        except exc.DBAPIError as error:
            raise DatabaseUnavailable(unavailable_message(error) or _cannot_open(self.url, error)) from error
        with connection, connection.begin():
            cfg = self._alembic_config(connection)
            self._refuse_unknown_revisions(connection, cfg)
            command.upgrade(cfg, "heads")

    def _refuse_unknown_revisions(self, connection, cfg) -> None:
        """A database stamped with revisions this code does not know (a newer crisisbot migrated it, then
        this older one was started again: a rollback of the deploy) is refused with one clear line."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from alembic.script.revision import RevisionError
        from alembic.util.exc import CommandError

        script = ScriptDirectory.from_config(cfg)
        unknown = []
        for revision in MigrationContext.configure(connection).get_current_heads():
            try:
                known = script.get_revision(revision)
            except (CommandError, RevisionError):  # a revision it cannot locate
                known = None
            if known is None:
                unknown.append(revision)
        if unknown:
            newest = ", ".join(sorted(unknown))
            raise DatabaseNewerThanCode(
                f"数据库 {redact_url(self.url)} 已由更新版本的 crisisbot 迁移（版本 {newest}），本版本不认识；"
                f"请升级 crisisbot 后再运行，不要降级数据库 / the database {redact_url(self.url)} was migrated by a "
                f"newer crisisbot (revision {newest}) that this one does not know: upgrade crisisbot to use it "
                "(do not downgrade the database)")

    def _alembic_config(self, connection=None):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["connection"] = connection
        return cfg

    def install_id(self) -> str:
        """This database's random id (migration 0020), made on first use if the row is missing."""
        from sqlalchemy.dialects import postgresql, sqlite

        from bot.storage.models import InstallIdentity

        with self.session() as session:
            row = session.get(InstallIdentity, 1)
            if row is not None:
                return row.value
            # two processes starting at once: the first insert wins, both read the same id back
            insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
            session.execute(insert(InstallIdentity.__table__).values(id=1, value=uuid.uuid4().hex)
                            .on_conflict_do_nothing(index_elements=["id"]))
        with self.session() as session:
            return session.get(InstallIdentity, 1).value

    def dispose(self) -> None:
        self.engine.dispose()
