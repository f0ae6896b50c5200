"""Any HTTP JSON endpoint, mapped declaratively (dotted paths) to neutral records.

Two presets ship:
- `kuaishou_open`: the conventions of Kuaishou's open platform (open.kuaishou.com: `app_id` and
  `access_token` as query parameters, `result` == 1 on success with `error_msg` otherwise, `pcursor`
  paging ending with "no_more", millisecond timestamps). Kuaishou grants comment access per
  application: check the path and the field names against the API your app was granted and override
  any of them in `settings` (explicit keys win over the preset).
- `crawler`: the JSON a typical crawler/ETL export serves (MediaCrawler-style field names:
  `comment_id`, `content`, `create_time`, `user_id`, `nickname`, `like_count`, `sub_comment_count`,
  `parent_comment_id`), a list under `items`, `next_cursor` / `has_more` paging.
Xiaohongshu has no public comment API: feed it through a crawler export (this type) or the webhook.

An HTTP 401, or a 403 whose body speaks of tokens/login/permission, is a credentials error
(REAUTH_REQUIRED, as an expired Weibo/Douyin token): one notice naming the env var of the token, and the
source pauses until the env changes, instead of a transient failure retried every few seconds. So is an
error answer (`error_path`) whose message speaks of the token the request sent (Kuaishou's
"access_token 无效" comes with HTTP 200).
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.feeds.pollers.base import (
    CONFIG,
    REAUTH_REQUIRED,
    TRANSIENT,
    Item,
    Page,
    PollContext,
    PollError,
    dig,
    int_or_none,
    iso,
    parse_retry_after,
    parse_time,
    platform_text,
    text_or_none,
    token_env_vars,
)
from bot.feeds.pollers.engine import default_targets
from bot.feeds.settings import FieldMapping, GenericJsonSettings

PRESETS: dict[str, dict[str, Any]] = {
    "kuaishou_open": {
        "path": "/openapi/photo/comment/list",
        "method": "GET",
        "params": {
            "app_id": "{credential:app_id}",
            "access_token": "{credential:access_token}",
            "photo_id": "{target}",
            "count": 20,
        },
        "list_path": "comment_list",
        "nested_path": "sub_comments",
        "fields": {
            "id": "comment_id",
            "text": "content",
            "time": "create_time",
            "author_id": "author_id",
            "author_name": "author_name",
            "likes": "like_count",
            "replies": "sub_comment_count",
            "parent": "reply_to_comment_id",
        },
        "time_format": "epoch_ms",
        "cursor_param": "pcursor",
        "cursor_path": "pcursor",
        "end_cursor_values": ["no_more", "", None],
        "error_path": "result",
        "ok_values": [1],
        "error_message_path": "error_msg",
        "max_pages": 10,
    },
    "crawler": {
        "path": "",
        "method": "GET",
        "params": {"target": "{target}"},
        "list_path": "items",
        "fields": {
            "id": "comment_id",
            "text": "content",
            "time": "create_time",
            "author_id": "user_id",
            "author_name": "nickname",
            "likes": "like_count",
            "replies": "sub_comment_count",
            "parent": "parent_comment_id",
            "content_id": "video_id",
            "content_title": "video_title",
            "content_url": "video_url",
        },
        "time_format": "auto",
        "cursor_param": "cursor",
        "cursor_path": "next_cursor",
        "has_more_path": "has_more",
        "end_cursor_values": ["", None, 0, "0"],
        "max_pages": 10,
    },
}

DEFAULTS: dict[str, Any] = {
    "path": "",
    "method": "GET",
    "params": {},
    "headers": {},
    "list_path": "",
    "nested_path": None,
    "fields": {},
    "time_format": "auto",
    "time_zone": None,
    "cursor_param": None,
    "cursor_path": None,
    "has_more_path": None,
    "end_cursor_values": ["", None],
    "error_path": None,
    "ok_values": None,
    "error_message_path": None,
    "max_pages": 10,
}

_PLACEHOLDER = re.compile(r"\{(target|cursor|account_id|credential:[a-z_][a-z0-9_]*)\}")


def effective_settings(settings: GenericJsonSettings) -> dict[str, Any]:
    """Defaults, then the preset, then every key the user set explicitly."""
    merged = dict(DEFAULTS)
    if settings.preset:
        merged.update(PRESETS[settings.preset])
    explicit = settings.model_dump(exclude_unset=True, exclude={"preset"})
    for key, value in explicit.items():
        if key == "fields" and isinstance(value, dict):
            merged["fields"] = {**merged.get("fields", {}), **value}
        elif value is not None:
            merged[key] = value
    merged["fields"] = FieldMapping(**merged.get("fields", {})).model_dump()
    return merged


def _fill(value: Any, ctx: PollContext, target: str, cursor: Any) -> Any:
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "target":
            return "" if target == "recent" else str(target)
        if name == "cursor":
            return "" if cursor is None else str(cursor)
        if name == "account_id":
            return ctx.account_id or ""
        return ctx.credential(name.split(":", 1)[1]) or ""

    return _PLACEHOLDER.sub(replace, value)


def credential_roles(conf: dict[str, Any]) -> list[str]:
    """The `credentials:` roles a request fills in (`{credential:ROLE}` in the path, params or headers)."""
    values = [conf["path"], *(conf["params"] or {}).values(), *(conf["headers"] or {}).values()]
    roles = [
        match.group(1).split(":", 1)[1]
        for value in values if isinstance(value, str)
        for match in _PLACEHOLDER.finditer(value) if match.group(1).startswith("credential:")
    ]
    return list(dict.fromkeys(roles))


#: HTTP statuses that refuse the caller rather than fail: returned raw so the body can be read, whatever
#: its format (a JSON error, an HTML login page, plain text)
REFUSED_STATUSES = (401, 403)
# A 403 that talks about tokens, login or permission refuses the credentials; a bare 403 is often a WAF or
# a rate guard, and stays a transient failure retried with backoff.
_AUTH_WORDS = re.compile(
    r"token|unauthori[sz]|authori[sz]ation|authenticat|oauth|credential|log ?in|sign ?in|api[ _-]?key|"
    r"signature|permission|scope|令牌|授权|鉴权|认证|登录|凭证|凭据|密钥|签名|权限",
    re.IGNORECASE,
)


# An endpoint's error message (`error_message_path`) about the token itself: it is invalid, expired, or a
# login is wanted. Narrower than _AUTH_WORDS: "无权限" or a bad signature may concern one target or the
# configuration, and must not pause the whole source until a token changes.
_TOKEN_WORDS = re.compile(
    r"token|unauthori[sz]ed|oauth|credential|log ?in|api[ _-]?key|令牌|授权|鉴权|登录|凭证|凭据", re.IGNORECASE,
)


def _speaks_of_credentials(raw: bytes) -> bool:
    """Whether a 403's body is an API's answer about the credentials: a JSON body naming tokens, login or
    permission. An HTML page never counts: a web server's or firewall's own 403 page ("You don't have
    permission to access this resource", a csrf-token meta tag) would pause the source until someone
    changed a token that was never the problem."""
    try:
        body = json.loads(raw[:65536].decode("utf-8"))
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict | list) and bool(_AUTH_WORDS.search(json.dumps(body, ensure_ascii=False)[:4000]))


def refused(ctx: PollContext, conf: dict[str, Any], answer: Any) -> PollError:
    """The error for a 401/403 answer: the credentials were refused (a human must renew the token named
    here, like an expired Weibo/Douyin token), or, for a 403 that says nothing of credentials, a
    transient failure."""
    status = answer.status
    if status == 403 and "WWW-Authenticate" not in answer.headers and not _speaks_of_credentials(answer.raw):
        retry_after = parse_retry_after(answer.headers.get("Retry-After"), ctx.now())
        return PollError(TRANSIENT, f"HTTP {status}", retry_after=retry_after, code=status)
    names = token_env_vars(ctx.source, credential_roles(conf))
    if not names:
        return PollError(
            CONFIG,
            f"接口要求凭据（HTTP {status}）：请在数据源的 credentials 中写入环境变量名，并在 settings 的 params 或 "
            f"headers 中用 {{credential:角色}} 引用 / the endpoint requires credentials (HTTP {status}): name the "
            f"env var under the source's credentials and use {{credential:ROLE}} in settings.params or headers",
            code=status,
        )
    return PollError(
        REAUTH_REQUIRED,
        f"接口拒绝了凭据（HTTP {status}）：请检查环境变量 {'、'.join(names)} 中的令牌是否有效、未过期 / "
        f"the endpoint refused the credentials (HTTP {status}): check that the token in "
        f"{', '.join(names)} is valid and not expired",
        code=status,
    )


def _default_content_id(fields: dict[str, Any], ctx: PollContext, target: str) -> str | None:
    """The content id of a record whose mapping finds none: the target (the id the endpoint was asked
    about); with `targets: recent` and no `fields.content_id` in the mapping, the source id (one stream
    for everything the endpoint returns). A mapping that names `content_id` and finds nothing under
    `recent` leaves it empty: the record is dead-lettered with that reason."""
    if target != "recent":
        return str(target)
    return None if fields.get("content_id") else ctx.source.id


def map_item(raw: Any, conf: dict[str, Any], ctx: PollContext, target: str, *, parent: str | None = None,
             unordered: bool = False) -> list[Item]:
    fields = conf["fields"]
    platform = ctx.platform
    if not isinstance(raw, dict):
        return [Item(record={"platform": platform, "account_id": ctx.account_id}, created_at=None)]

    def get(name: str) -> Any:
        path = fields.get(name)
        return dig(raw, path) if path else None

    created = parse_time(get("time"), conf["time_format"], conf["time_zone"])
    author = text_or_none(get("author_id"))
    content_id = text_or_none(get("content_id")) or _default_content_id(fields, ctx, target)
    record = {
        "platform": platform,
        "account_id": ctx.account_id,
        "content_id": content_id,
        "content_title": get("content_title"),
        "content_url": get("content_url"),
        "comment_id": text_or_none(get("id")),
        "parent_id": text_or_none(get("parent")) or parent,
        "text": get("text"),
        "created_at": iso(created) if created else get("time"),
        "author_id": author,
        "author_name": get("author_name"),
        "author_followers": int_or_none(get("author_followers")),
        "like_count": int_or_none(get("likes")),
        "reply_count": int_or_none(get("replies")),
        "is_from_account": bool(author is not None and author == ctx.account_id),
    }
    if record["parent_id"] in ("0", ""):
        record["parent_id"] = None
    items = [Item(record={k: v for k, v in record.items()}, created_at=created, unordered=unordered)]
    nested_path = conf.get("nested_path")
    if nested_path:
        for child in dig(raw, nested_path) or []:
            items.extend(map_item(child, conf, ctx, target, parent=record["comment_id"], unordered=True))
    return items


class GenericJsonAdapter:
    default_base_url = ""

    def max_pages(self, ctx: PollContext) -> int:
        return int(effective_settings(ctx.source.settings)["max_pages"])

    def targets(self, ctx: PollContext) -> list[str]:
        return default_targets(ctx)

    def fetch_page(self, ctx: PollContext, target: str, cursor: Any) -> Page:
        conf = effective_settings(ctx.source.settings)
        params = {k: _fill(v, ctx, target, cursor) for k, v in (conf["params"] or {}).items()}
        if conf["cursor_param"] and cursor is not None:
            params[conf["cursor_param"]] = cursor
        headers = {k: _fill(v, ctx, target, cursor) for k, v in (conf["headers"] or {}).items()}
        url = f"{ctx.source.base_url}{_fill(conf['path'], ctx, target, cursor)}"
        if conf["method"] == "POST":
            answer = ctx.http.request("POST", url, json_body=params, headers=headers, timeout=ctx.source.timeout,
                                      raw_statuses=REFUSED_STATUSES)
        else:
            answer = ctx.http.request("GET", url, params=params, headers=headers, timeout=ctx.source.timeout,
                                      raw_statuses=REFUSED_STATUSES)
        if answer.status in REFUSED_STATUSES:
            raise refused(ctx, conf, answer)
        body = answer.body
        if conf["error_path"]:
            status = dig(body, conf["error_path"])
            if status not in (conf["ok_values"] or []):
                message = dig(body, conf["error_message_path"]) if conf["error_message_path"] else None
                reported = f"{conf['error_path']}={platform_text(repr(status))}: {platform_text(message)}".strip()
                names = token_env_vars(ctx.source, credential_roles(conf))
                if names and _TOKEN_WORDS.search(str(message or "")):
                    # The endpoint's own "access_token 无效" (Kuaishou answers it with HTTP 200): retried as a
                    # transient error, a rotated token failed every poll for good, the one notice naming
                    # neither the cause nor the env var to change.
                    raise PollError(
                        REAUTH_REQUIRED,
                        f"接口拒绝了凭据（{reported}）：请检查环境变量 {'、'.join(names)} 中的令牌是否有效、未过期 / "
                        f"the endpoint refused the credentials ({reported}): check that the token in "
                        f"{', '.join(names)} is valid and not expired",
                    )
                raise PollError(TRANSIENT, f"接口报告错误 {reported} / endpoint reported {reported}")
        entries = dig(body, conf["list_path"]) if conf["list_path"] else body
        if not isinstance(entries, list):
            where = conf["list_path"]
            raise PollError(TRANSIENT, f"答复中没有列表（{where or '顶层'}）/ no list at {where or 'the root'} of the answer")
        items: list[Item] = []
        for entry in entries:
            items.extend(map_item(entry, conf, ctx, target))
        next_cursor = dig(body, conf["cursor_path"]) if conf["cursor_path"] and isinstance(body, dict) else None
        has_more = bool(dig(body, conf["has_more_path"])) if conf["has_more_path"] and isinstance(body, dict) else True
        done = not has_more or next_cursor in conf["end_cursor_values"] or not entries
        return Page(items=items, next_cursor=None if done else next_cursor, is_end=done)
