"""`POST /api/v1/comments`: the authenticated ingestion webhook.

JSON array (`application/json`) or one record per line (`application/x-ndjson`); Bearer token
CRISISBOT_INGEST_TOKEN compared in constant time; the body limit is enforced while reading, so an
oversized body is refused without being read whole. Error codes (`error`) are for programs; `message` and
each rejected record's `reason` are for people, Chinese first with English.

Per record, not per body: every valid record is stored even when others in the batch are rejected, and
each rejected one is kept raw in the dead-letter table. In NDJSON that includes a line that is not JSON:
it is a rejected result at its index (the non-blank lines counted from 0) whose `reason` names its line
and column, as `crisisbot ingest` treats the same line of a JSONL file. A body none of whose lines is
JSON is no NDJSON at all: 400 `malformed_json` with the first bad line's `line`, `column` and `position`
(its offset in the body), and nothing stored. A JSON array body is one document: malformed, it is a 400.
A stored record something was left out of (an unreadable optional count such as "很多") carries a
`warning` beside its status.
"""

from __future__ import annotations

import hmac
import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.feeds.files import JSON_ERRORS, json_error_text, split_lines
from bot.feeds.ingest import IngestService
from bot.http_body import ClientGone, PayloadTooLarge, read_limited

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")


def _error(status: int, code: str, message: str, **extra) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="crisisbot"'} if status == 401 else None
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status, headers=headers)


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


def _decode(body: bytes, fallback: str) -> str:
    """UTF-8 first, whatever was declared: a client that says gbk but sends UTF-8 (a common mix-up) would
    otherwise have its Chinese stored as mojibake (UTF-8 Chinese mostly reads as valid GB18030), while GBK
    text is almost never valid UTF-8. Raises UnicodeDecodeError from the declared codec."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        if fallback == "utf-8-sig":
            raise
        return body.decode(fallback)


def _ndjson_records(text: str) -> tuple[list, list[tuple[int, str, str]], JSONResponse | None]:
    """The records of an NDJSON body, the lines that are not JSON as (index, raw line, reason) rejections
    for `IngestService.ingest_records`, and the 400 answer for the first of them (sent when no line is
    JSON). Indexes count the non-blank lines, as `results` does."""
    records: list = []
    rejections: list[tuple[int, str, str]] = []
    first_error: JSONResponse | None = None
    next_start = 0
    index = 0
    # split on "\n" only: U+2028 and friends are allowed raw inside a JSON string
    for number, line in split_lines(text):
        # `position` is where the error is in the body, as for a JSON array, not in its line
        start, next_start = next_start, text.find("\n", next_start) + 1
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            reason = (f"JSON 格式错误（第 {number} 行第 {exc.colno} 列）/ "
                      f"malformed JSON at line {number} column {exc.colno}: {exc.msg}")
            rejections.append((index, line, reason))
            if first_error is None:
                first_error = _error(400, "malformed_json", reason, position=start + exc.pos, line=number, column=exc.colno)
        except JSON_ERRORS as exc:  # a 5000-digit number, nesting deeper than the parser goes
            reason = f"JSON 格式错误（第 {number} 行）/ malformed JSON at line {number}: {json_error_text(exc)}"
            rejections.append((index, line, reason))
            if first_error is None:
                first_error = _error(400, "malformed_json", reason, line=number)
        index += 1
    return records, rejections, first_error


def comments_route(ingest: IngestService, *, token: str | None, max_bytes: int) -> Route:
    async def receive_comments(request: Request) -> JSONResponse:
        supplied = request.headers.get("authorization", "")
        scheme, _, credential = supplied.partition(" ")
        if not token:
            return _error(401, "unauthorized", "接入未启用：请在服务器上设置 CRISISBOT_INGEST_TOKEN / "
                          "ingest is disabled: set CRISISBOT_INGEST_TOKEN on the server")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), token.encode()):
            return _error(401, "unauthorized", "缺少 Bearer 令牌或令牌错误 / missing or wrong bearer token")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES + NDJSON_TYPES:
            return _error(415, "unsupported_media_type", "请使用 application/json（数组）或 application/x-ndjson / "
                          "use application/json (an array) or application/x-ndjson")
        try:
            body = await read_limited(request, max_bytes)
        except PayloadTooLarge:
            return _error(413, "payload_too_large", f"请求体超过 {max_bytes} 字节的上限 / body over the limit of {max_bytes} bytes")
        except ClientGone:  # the sender hung up mid-body: nothing stored, and nobody to answer
            return _error(400, "incomplete_body", "请求体未传完连接就关闭了 / the connection closed before the body ended")
        declared = request.headers.get("content-type", "").partition(";")[2]
        encoding = _declared_encoding(declared)
        if encoding is None:
            return _error(415, "unsupported_charset", f"不支持的字符集 {declared.strip()!r}：请用 UTF-8（或 GBK/GB18030）/ "
                          f"unsupported charset {declared.strip()!r}: use UTF-8 (or GBK/GB18030)")
        try:
            text = _decode(body, encoding)
        except UnicodeDecodeError as exc:
            name = "UTF-8" if encoding == "utf-8-sig" else "GB18030"
            return _error(400, "bad_encoding", f"请求体不是 {name}（第 {exc.start} 字节）/ body is not {name} (byte {exc.start})",
                          position=exc.start)
        rejections: list[tuple[int, str, str]] = []
        if content_type in JSON_TYPES:
            try:
                records = json.loads(text)
            except json.JSONDecodeError as exc:
                return _error(400, "malformed_json", f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）/ "
                              f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                              position=exc.pos, line=exc.lineno, column=exc.colno)
            except JSON_ERRORS as exc:  # a 5000-digit number, nesting deeper than the parser goes
                return _error(400, "malformed_json", f"JSON 格式错误 / malformed JSON: {json_error_text(exc)}")
            if isinstance(records, dict):
                records = [records]
            if not isinstance(records, list):
                return _error(400, "malformed_json", "应为评论记录的 JSON 数组 / expected a JSON array of comment records")
        else:
            records, rejections, first_error = _ndjson_records(text)
            if first_error is not None and not records:  # no line is JSON: not NDJSON at all, nothing stored
                return first_error
        report = await run_in_threadpool(ingest.ingest_records, records, source="webhook", rejections=rejections)
        return JSONResponse(report.to_json())

    return Route("/api/v1/comments", receive_comments, methods=["POST"])
