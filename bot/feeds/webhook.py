"""`POST /api/v1/comments`: the authenticated ingestion webhook.

JSON array (`application/json`) or one record per line (`application/x-ndjson`); Bearer token
CRISISBOT_INGEST_TOKEN compared in constant time; the body limit is enforced while reading, so an
oversized body is refused without being read whole. Error codes (`error`) are for programs; `message` and
each rejected record's `reason` are for people, Chinese first with English.

Per record, not per body: every valid record is stored even when others in the batch are rejected, and
each rejected one is kept raw in the dead-letter table. In NDJSON that includes a line that is not JSON:
it is a rejected result at its index (the non-blank lines counted from 0) whose `reason` names its line
and column, as `crisisbot ingest` treats the same line of a JSONL file. A body none of whose lines is
JSON is no NDJSON at all: 400 `malformed_json` with the first bad line's `line`, `column` and `position`,
and nothing stored. A JSON array body is one document: malformed, it is a 400. A byte-order mark at
the start of any NDJSON line is ignored, as at the start of the body (NDJSON joined from Windows exports
carries one at the start of each). A body sent as NDJSON that is one whole JSON array (on one line or
pretty-printed) is read as the array, as application/json reads it; a line holding an array among other
lines is a rejection saying how an array is sent. NDJSON sent as application/json stays a 400
`malformed_json`, its message saying to send it as application/x-ndjson.
A stored record something was left out of (an unreadable optional count such as "很多") carries a
`warning` beside its status.

A record's status is what storing it did: `accepted` when this request inserted the comment, `duplicate`
when it was already stored (by an earlier request, or by another one running at the same time) or came
earlier in the same batch. A compressed body (a Content-Encoding other than identity) is a 415, as is an
unsupported charset. A 400's `position` is a byte offset in the body as sent (a UTF-8 BOM counted), where
`line` and `column` count characters. Refusals answered before the body is read (401, 413, 415) close
the connection, so the rest of a large or endless body is not read. The work after the body arrived (decoding, parsing, storing,
writing the answer) runs in worker threads, two requests at a time: a body of a million tiny records
must not hold every other endpoint (Slack and Feishu acknowledgements included) while it is parsed. A
large answer is streamed as it is written. A database that fails meanwhile is a 503 `database_unavailable`
(nothing of the batch stored: send it again), as `/healthz` answers 503 then.

At most MAX_RECORDS records a request (413 `too_many_records` with `limit`; a JSON array is not parsed past
the record over the limit), and the body must arrive whole within BODY_DEADLINE_S seconds (408
`body_timeout`): a body of tiny records cost seconds of work and an answer hundreds of times its size, and
one trickling in held its connection and buffer for as long as the sender liked. Beside the per-record
`results` the answer counts each rejection reason once (`rejection_reasons`: reason, count, the first
indexes). A stored record of an account missing from the config's `accounts` carries a `warning` (its
comments go to the default channel: often a typo in `account_id`), logged once per account. Every refused
request is counted in `crisisbot_webhook_refused_total{status, reason}` and logged (status, error code, client
address; never the token or the body): the first of each status and code in full, then at most one line a
minute saying how many more (bot/log_limits.py: forged requests must not fill the log).
`crisisbot_webhook_last_batch_timestamp_seconds` is when a batch was last stored.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import weakref
from collections.abc import Collection, Iterator
from itertools import chain

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bot import metrics
from bot.clock import Clock
from bot.feeds.files import JSON_ERRORS, json_error_text, split_lines, without_bom
from bot.feeds.ingest import IngestReport, IngestService, compact_reason, record_raw_text
from bot.feeds.records import list_wrapper, validate_record
from bot.http_body import BodyTimeout, ClientGone, PayloadTooLarge, read_limited
from bot.log_limits import RefusalLog
from bot.storage.db import database_unavailable, failure_line

log = logging.getLogger(__name__)

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")
UTF8_BOM = b"\xef\xbb\xbf"
#: webhook bodies decoded, parsed and stored at once (each may grow to many times its size in memory);
#: the others wait their turn holding only their body
WORKERS = 2
#: an answer longer than this is streamed in pieces of about this size rather than built whole
ANSWER_PIECE = 256 * 1024
#: the most records one request may carry (413 beyond). A valid record is at least ~100 bytes (six required
#: fields), so a default 5 MB body of real comments never reaches it; 2.4 million tiny non-records
#: ("[1,1,…]", 4.8 MB) took 34 s, a 301 MB answer and 1 GB of memory
MAX_RECORDS = 50_000
#: seconds a body may take to arrive whole (408 after). Longer than the Slack/Feishu endpoints' 10 s: a
#: webhook body may be five times their 1 MiB, and 5 MB in 30 s still asks only about 1.4 Mbit/s
BODY_DEADLINE_S = 30.0
#: indexes listed under each reason of `rejection_reasons` (the count says how many share it)
REASON_INDEXES = 10
#: unknown accounts remembered to log each once (a flood of made-up ids must not grow memory)
MAX_UNKNOWN_LOGGED = 1000
#: what NDJSON sent as application/json is told (Chinese, English), after the 400's position
NDJSON_HINT = ("：请求体是多个 JSON 文档、每行一个，即 NDJSON，请以 Content-Type: application/x-ndjson 发送 ",
               "; the body is several JSON documents, one per line: that is NDJSON, send it with "
               "Content-Type: application/x-ndjson")
#: how a JSON array is sent, in the reason of an NDJSON line holding one or starting one it does not close
ARRAY_ZH = "JSON 数组请以 Content-Type: application/json 发送，或每行一条评论（NDJSON）"
ARRAY_EN = "send a JSON array as Content-Type: application/json, or one comment per line (NDJSON)"

_limiters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _limiter() -> anyio.CapacityLimiter:
    """The webhook's own worker limit on the running event loop (a limiter belongs to one loop)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(WORKERS)
    return limiter


def _error(status: int, code: str, message: str, *, close: bool = False, **extra) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="crisisbot"'} if status == 401 else {}
    if close:  # answered before the body was read: do not read the rest of it to keep the connection
        headers["Connection"] = "close"
    response = JSONResponse({"error": code, "message": message, **extra}, status_code=status, headers=headers or None)
    response.error_code = code  # type: ignore[attr-defined]  # for the refusal's log line and metric
    return response


class TooManyRecords(Exception):
    """The body holds more than MAX_RECORDS records."""


def _too_many() -> JSONResponse:
    return _error(413, "too_many_records", f"一次最多 {MAX_RECORDS} 条记录，请分批发送 / at most {MAX_RECORDS} "
                  "records a request: send them in smaller batches", limit=MAX_RECORDS)


_WHITESPACE = json.decoder.WHITESPACE  # what json.loads skips between values
_DECODER = json.JSONDecoder()


def _json_records(text: str):
    """`json.loads(text)`, except that a top-level array is read one element at a time and given up with
    TooManyRecords at the element past MAX_RECORDS, before the rest of it is parsed. Anything the element
    reader does not take (a malformed array included) is left to json.loads, so errors read the same."""
    position = _WHITESPACE.match(text, 0).end()
    if not text.startswith("[", position):
        return json.loads(text)
    position = _WHITESPACE.match(text, position + 1).end()
    if text.startswith("]", position):
        return json.loads(text)
    records: list = []
    try:
        while True:
            value, position = _DECODER.raw_decode(text, position)
            records.append(value)
            if len(records) > MAX_RECORDS:
                raise TooManyRecords
            position = _WHITESPACE.match(text, position).end()
            if text.startswith(",", position):
                position = _WHITESPACE.match(text, position + 1).end()
            elif text.startswith("]", position) and _WHITESPACE.match(text, position + 1).end() == len(text):
                return records
            else:
                break
    except (json.JSONDecodeError, *JSON_ERRORS):
        pass
    return json.loads(text)  # raises the error of the malformed document


def _whole_array(text: str) -> list | None:
    """The records of a body sent as NDJSON that is one whole JSON array (on one line, or pretty-printed over
    many), read as application/json reads it; None for any other body. Such a body is no NDJSON of comments
    whichever way it is read (a line holding a list is never a comment, nor is a line of a pretty-printed
    one), and `crisisbot ingest` reads the same text as an array: it was answered 200 with every record
    rejected. Not ambiguous: its indexes are the array's, as the NDJSON indexes of its one line could not be.
    Raises TooManyRecords as `_json_records` does."""
    if not text.startswith("[", _WHITESPACE.match(text, 0).end()):
        return None
    try:
        return _json_records(text)  # a list: the text starts with "["
    except (json.JSONDecodeError, *JSON_ERRORS):
        return None  # not one array (lines each holding one, a broken array): read line by line


def _lines_of_json(text: str, exc: json.JSONDecodeError) -> bool:
    """Whether a body json.loads refused is several JSON documents, one per line (NDJSON sent as
    application/json): "Extra data", and the first line is one whole document."""
    end = text.find("\n")
    if exc.msg != "Extra data" or end < 0:
        return False
    try:
        json.loads(text[:end])
    except JSON_ERRORS:
        return False
    return True


def _declared_encoding(parameters: str) -> str | None:
    """The fallback codec for a body that is not UTF-8, from the Content-Type parameters: "utf-8-sig" (no
    fallback) for no charset, UTF-8, or the ASCII/Latin-1 some HTTP clients add by default (JSON is UTF-8,
    RFC 8259); "gb18030" for the Chinese GBK family (GB2312/GBK/GB18030, which GB18030 reads all of), as
    exporters in China send it; None for any other charset."""
    charset = None
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if charset in (None, "", "utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"):
        return "utf-8-sig"
    if charset in ("gbk", "gb2312", "gb18030", "cp936", "x-gbk"):
        return "gb18030"
    return None


def _unsupported_encodings(header: str) -> list[str]:
    """The content codings of a Content-Encoding header other than identity (the webhook takes none)."""
    return [coding for coding in (part.strip().lower() for part in header.split(",")) if coding and coding != "identity"]


def _decode(body: bytes, fallback: str) -> tuple[str, str]:
    """The text and the codec it was read with. UTF-8 first, whatever was declared: a client that says gbk
    but sends UTF-8 (a common mix-up) would otherwise have its Chinese stored as mojibake (UTF-8 Chinese
    mostly reads as valid GB18030), while GBK text is almost never valid UTF-8. Raises UnicodeDecodeError
    from the declared codec, its `start` a byte offset in the whole body."""
    try:
        return body.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError as exc:
        if fallback == "utf-8-sig":
            if body.startswith(UTF8_BOM):  # utf-8-sig counts from after the BOM it took off
                exc.start += len(UTF8_BOM)
            raise
        return body.decode(fallback), fallback


def _byte_offset(body: bytes, text: str, chars: int, codec: str) -> int:
    """Where character `chars` of `text` (decoded from `body` with `codec`) starts in `body`."""
    if codec == "utf-8-sig":
        return (len(UTF8_BOM) if body.startswith(UTF8_BOM) else 0) + len(text[:chars].encode("utf-8"))
    return len(text[:chars].encode(codec))


def _wrapper_rejection(body: dict, clock: Clock, *, line: int | None = None) -> str | None:
    """The rejection reason of a JSON object holding a list (`{"comments": [...]}`) that is no comment itself:
    how a list of comments is sent, then what the object lacks as a comment. `line` is set for an NDJSON line
    (where each line is one comment). None for any other object, stored or rejected as the one comment it is."""
    wrapped = list_wrapper(body, now=clock.now())
    if wrapped is None:  # no list, or a whole comment that also carries a list: it is one
        return None
    key, checked = wrapped
    if line is None:
        hint = (f"请求体是一个对象，评论列表在其 {key!r} 字段中：多条评论请直接发送 JSON 数组（[{{…}}, {{…}}]）"
                f"或 NDJSON（Content-Type: application/x-ndjson，每行一条）/ the body is one object with the comments "
                f"in its {key!r} field: send a list of comments as a JSON array itself ([{{…}}, {{…}}]) or as NDJSON "
                f"(Content-Type: application/x-ndjson, one per line)")
    else:
        hint = (f"第 {line} 行是一个对象，评论列表在其 {key!r} 字段中：NDJSON 每行应是一条评论 / line {line} is one "
                f"object with the comments in its {key!r} field: in NDJSON each line is one comment")
    return f"{hint}; {compact_reason(checked)}"


def _ndjson_records(text: str, clock: Clock, where=lambda chars: chars
                    ) -> tuple[list, list[tuple[int, str, str]], JSONResponse | None]:
    """The records of an NDJSON body, the lines that are not JSON (or wrap a list of comments in an object)
    as (index, raw line, reason) rejections for `IngestService.ingest_records`, and, when no line is JSON
    (not NDJSON at all), the 400 answer for the first line, its `position` `where(character offset in
    text)`. Indexes count the non-blank lines, as `results` does."""
    records: list = []
    rejections: list[tuple[int, str, str]] = []
    first_error: JSONResponse | None = None
    next_start = 0
    index = json_lines = 0
    # split on "\n" only: U+2028 and friends are allowed raw inside a JSON string
    for number, sent in split_lines(text):
        # `position` is where the error is in the body, as for a JSON array, not in its line
        start, next_start = next_start, text.find("\n", next_start) + 1
        line = without_bom(sent)  # each part of NDJSON joined from Windows exports starts with one
        start += len(sent) - len(line)
        if not line.strip():
            continue
        if index >= MAX_RECORDS:
            raise TooManyRecords
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            # a line starting an array that does not end on it: most likely a pretty-printed JSON array
            zh, en = (f"：{ARRAY_ZH} ", f"; {ARRAY_EN}") if line.lstrip().startswith("[") else ("", "")
            reason = (f"JSON 格式错误（第 {number} 行第 {exc.colno} 列）{zh}/ "
                      f"malformed JSON at line {number} column {exc.colno}: {exc.msg}{en}")
            rejections.append((index, line, reason))
            if first_error is None:
                first_error = _error(400, "malformed_json", reason, position=where(start + exc.pos), line=number,
                                     column=exc.colno)
        except JSON_ERRORS as exc:  # a 5000-digit number, nesting deeper than the parser goes
            reason = f"JSON 格式错误（第 {number} 行）/ malformed JSON at line {number}: {json_error_text(exc)}"
            rejections.append((index, line, reason))
            if first_error is None:
                first_error = _error(400, "malformed_json", reason, line=number)
        else:
            json_lines += 1
            if isinstance(record, list):  # a list is never a comment: say how a list is sent
                rejections.append((index, line, f"第 {number} 行是一个 JSON 数组：{ARRAY_ZH} / line {number} is a JSON "
                                   f"array: {ARRAY_EN}; {compact_reason(validate_record(record))}"))
                index += 1
                continue
            wrapped = _wrapper_rejection(record, clock, line=number) if isinstance(record, dict) else None
            if wrapped is None:
                records.append(record)
            else:
                rejections.append((index, line, wrapped))
        index += 1
    return records, rejections, first_error if json_lines == 0 else None


def _answer_pieces(report: IngestReport) -> Iterator[bytes]:
    """`report.to_json()` as JSONResponse writes it (compact, UTF-8), in pieces of about ANSWER_PIECE
    bytes, without building the whole document: each result's JSON is written from its fields, and a
    reason repeated over the batch is encoded once."""
    head = {"accepted": report.accepted, "duplicates": report.duplicates, "rejected": report.rejected}
    encoded: dict[str, str] = {}

    def text(value: str) -> str:
        out = encoded.get(value)
        if out is None:
            if len(encoded) > 1000:
                encoded.clear()
            out = encoded[value] = json.dumps(value, ensure_ascii=False)
        return out

    parts = [json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1], ',"results":[']
    size = 0
    reasons: dict[str, list] = {}  # reason -> [count, first indexes]
    for n, result in enumerate(report.results):
        part = f'{"," if n else ""}{{"index":{result.index},"status":"{result.status}"'
        if result.reason:
            part += ',"reason":' + text(result.reason)
            if result.status == "rejected":
                tally = reasons.setdefault(result.reason, [0, []])
                tally[0] += 1
                if len(tally[1]) < REASON_INDEXES:
                    tally[1].append(result.index)
        if result.warning:
            part += ',"warning":' + text(result.warning)
        parts.append(part + "}")
        size += len(part)
        if size >= ANSWER_PIECE:
            yield "".join(parts).encode("utf-8")
            parts, size = [], 0
    summary = [{"reason": reason, "count": count, "indexes": indexes} for reason, (count, indexes) in reasons.items()]
    parts.append('],"rejection_reasons":' + json.dumps(summary, ensure_ascii=False, separators=(",", ":")) + "}")
    yield "".join(parts).encode("utf-8")


def _report_response(report: IngestReport) -> Response:
    pieces = _answer_pieces(report)
    first = next(pieces)
    rest = next(pieces, None)
    if rest is None:
        return Response(first, media_type="application/json")
    # a long answer goes out as it is written (each piece in a worker thread), never whole in memory
    return StreamingResponse(chain((first, rest), pieces), media_type="application/json")


def _process(ingest: IngestService, body: bytes, content_type: str, encoding: str,
             accounts: _AccountCheck) -> Response:
    """Everything after the body arrived, in a worker thread: decode, parse, store, answer."""
    try:
        text, codec = _decode(body, encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if encoding == "utf-8-sig" else "GB18030"
        return _error(400, "bad_encoding", f"请求体不是 {name}（第 {exc.start} 字节）/ body is not {name} (byte {exc.start})",
                      position=exc.start)

    def where(chars: int) -> int:
        return _byte_offset(body, text, chars, codec)

    rejections: list[tuple[int, str, str]] = []
    try:
        array = _whole_array(text) if content_type in NDJSON_TYPES else None
    except TooManyRecords:
        return _too_many()
    if array is not None:  # one JSON array sent as NDJSON: read as the array it is
        records = array
    elif content_type in JSON_TYPES:
        try:
            records = _json_records(text)
        except TooManyRecords:
            return _too_many()
        except json.JSONDecodeError as exc:
            zh, en = NDJSON_HINT if _lines_of_json(text, exc) else ("", "")
            return _error(400, "malformed_json", f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）{zh}/ "
                          f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{en}",
                          position=where(exc.pos), line=exc.lineno, column=exc.colno)
        except JSON_ERRORS as exc:  # a 5000-digit number, nesting deeper than the parser goes
            return _error(400, "malformed_json", f"JSON 格式错误 / malformed JSON: {json_error_text(exc)}")
        if isinstance(records, dict):
            # one object is one comment (a shape kept as it was); one wrapping a list is a rejection that says so
            reason = _wrapper_rejection(records, ingest.clock)
            if reason is None:
                records = [records]
            else:
                records, rejections = [], [(0, record_raw_text(records), reason)]
        if not isinstance(records, list):
            return _error(400, "malformed_json", "应为评论记录的 JSON 数组 / expected a JSON array of comment records")
    else:
        try:
            records, rejections, first_error = _ndjson_records(text, ingest.clock, where)
        except TooManyRecords:
            return _too_many()
        if first_error is not None:  # no line is JSON: not NDJSON at all, nothing stored
            return first_error
    try:
        report = ingest.ingest_records(records, source="webhook", rejections=rejections)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        # the batch's transaction did not commit: nothing of it is stored, and a resend is stored once
        log.warning("webhook: database unavailable, a batch of %d record(s) answered 503: %s",
                    len(records) + len(rejections), failure_line(exc))
        return _error(503, "database_unavailable", "数据库暂时不可用，本批未保存，请稍后重发 / "
                      "the database is unavailable: nothing of this batch was stored, send it again later")
    metrics.WEBHOOK_LAST_BATCH.set(ingest.clock.now().timestamp())
    accounts.annotate(report, records, rejections)
    return _report_response(report)


class _AccountCheck:
    """Warns on stored records of accounts missing from the config's `accounts` (their comments go to the
    default channel: often a typo in `account_id`), and logs each such account once."""

    def __init__(self, accounts: Collection[tuple[str, str]]) -> None:
        self.known = frozenset(accounts)
        self.logged: set[tuple[str, str]] = set()

    def annotate(self, report: IngestReport, records: list, rejections: list[tuple[int, str, str]]) -> None:
        if not self.known:  # no accounts configured: nothing to compare with
            return
        skipped = {rejection[0] for rejection in rejections}
        raw_of = iter(records)
        texts: dict[tuple[str, str], str] = {}
        for result in report.results:
            if result.index in skipped:
                continue
            raw = next(raw_of, None)
            if result.status == "rejected" or not isinstance(raw, dict):
                continue
            account = (str(raw.get("platform")).strip().lower(), str(raw.get("account_id")).strip())
            if account in self.known:
                continue
            text = texts.get(account)
            if text is None:
                text = texts[account] = self._warning(account)
            result.warning = f"{result.warning}; {text}" if result.warning else text

    def _warning(self, account: tuple[str, str]) -> str:
        shown = f"{account[0]}:{account[1]}"
        if account not in self.logged and len(self.logged) < MAX_UNKNOWN_LOGGED:
            self.logged.add(account)
            log.warning("webhook: comments of account %s, which is not in the config's accounts, were stored; they "
                        "go to the default channel (a typo in account_id?)", shown)
        return (f"账号 {shown} 不在配置的 accounts 中，评论将发往默认频道（account_id 是否拼错？）/ account {shown} "
                f"is not in the config's accounts: its comments go to the default channel (a typo in account_id?)")


def _note_refusal(request: Request, response: Response, refusals: RefusalLog) -> None:
    """A count for a refused request, and a log line (never the token or the body) unless one of the same
    status and code was written within the last minute."""
    code = getattr(response, "error_code", None)
    if code is None:
        return
    metrics.WEBHOOK_REFUSED.labels(str(response.status_code), code).inc()
    if response.status_code == 503:
        return  # logged with its cause where it happened
    client = request.client.host if request.client else "?"
    refusals.refused("/api/v1/comments", f"{response.status_code} {code}",
                     "webhook: refused a request from %s: %d %s (%s bytes declared)", client, response.status_code,
                     code, request.headers.get("content-length", "unknown"))


def comments_route(ingest: IngestService, *, token: str | None, max_bytes: int,
                   accounts: Collection[tuple[str, str]] = (), clock: Clock | None = None) -> Route:
    """The webhook route; `accounts` are the configured (platform, account_id) pairs (see _AccountCheck);
    `clock` paces the refusal log lines."""
    account_check = _AccountCheck(accounts)
    refusals = RefusalLog(log, clock=clock)

    async def receive_comments(request: Request) -> Response:
        response = await _receive(request)
        _note_refusal(request, response, refusals)
        return response

    async def _receive(request: Request) -> Response:
        supplied = request.headers.get("authorization", "")
        scheme, _, credential = supplied.partition(" ")
        if not token:
            return _error(401, "unauthorized", "接入未启用：请在服务器上设置 CRISISBOT_INGEST_TOKEN / "
                          "ingest is disabled: set CRISISBOT_INGEST_TOKEN on the server", close=True)
        if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), token.encode()):
            return _error(401, "unauthorized", "缺少 Bearer 令牌或令牌错误 / missing or wrong bearer token", close=True)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES + NDJSON_TYPES:
            return _error(415, "unsupported_media_type", "请使用 application/json（数组）或 application/x-ndjson / "
                          "use application/json (an array) or application/x-ndjson", close=True)
        codings = _unsupported_encodings(request.headers.get("content-encoding", ""))
        if codings:
            shown = ", ".join(codings)
            return _error(415, "unsupported_content_encoding", f"不支持的内容编码 {shown!r}：请发送未压缩的请求体 / "
                          f"unsupported Content-Encoding {shown!r}: send the body uncompressed", close=True)
        declared = request.headers.get("content-type", "").partition(";")[2]
        encoding = _declared_encoding(declared)
        if encoding is None:
            return _error(415, "unsupported_charset", f"不支持的字符集 {declared.strip()!r}：请用 UTF-8（或 GBK/GB18030）/ "
                          f"unsupported charset {declared.strip()!r}: use UTF-8 (or GBK/GB18030)", close=True)
        try:
            body = await read_limited(request, max_bytes, deadline=BODY_DEADLINE_S)
        except PayloadTooLarge:
            return _error(413, "payload_too_large", f"请求体超过 {max_bytes} 字节的上限 / body over the limit of {max_bytes} bytes",
                          close=True)
        except BodyTimeout:
            return _error(408, "body_timeout", f"请求体 {BODY_DEADLINE_S:.0f} 秒内未收完 / the body did not arrive "
                          f"within {BODY_DEADLINE_S:.0f} s", close=True)
        except ClientGone:  # the sender hung up mid-body: nothing stored, and nobody to answer
            return _error(400, "incomplete_body", "请求体未传完连接就关闭了 / the connection closed before the body ended",
                          close=True)
        return await anyio.to_thread.run_sync(_process, ingest, body, content_type, encoding, account_check,
                                              limiter=_limiter())

    return Route("/api/v1/comments", receive_comments, methods=["POST"])
