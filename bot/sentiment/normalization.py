"""Text normalisation for Chinese social comments (pure, no I/O after the tables are loaded).

One `str.translate` pass folds full-width forms to half-width, traditional characters to simplified
(character table derived from OpenCC, see `tools/build_t2s_table.py`), drops zero-width and lone-surrogate
code points and turns control characters into spaces. Then a few regular expressions squeeze repeated
characters and punctuation, and pull out the signals the scorer keeps as features instead of dropping:
URLs, @mentions, `[表情]` codes, emoji, repetition, `!`/`?` runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

MAX_CHARS = 5000  # comments are short; longer input is cut so one pasted essay cannot stall a batch

URL_TOKEN = "<url>"
MENTION_TOKEN = "<@>"
REPEAT_SIGNAL = "<rep>"
EXCLAIM_SIGNAL = "<!>"
QUESTION_SIGNAL = "<?>"

_URL_RE = re.compile(r"(?:https?://|www\.)[!-~]+", re.ASCII)
# Weibo/Bilibili mentions end at whitespace, punctuation or a colon ("//@某人:转发").
_MENTION_RE = re.compile(r"@[\w\u00b7\-]{1,30}")
_MENTION_ENDS = frozenset(":：@\u200b")  # what ends a name for sure, besides whitespace
MENTION_NAME_MAX = 4  # a name this short is dropped wherever it ends ("好用@闺蜜", "@小王太差了" loses 太差了)
# [表情] codes as Weibo/Bilibili/Douyin render them: [微笑] [doge] [吃瓜] [给心心].
# Bilibili also has series codes, "[系列_名字]" ("[2022拜年纪_捂脸]", "[tv_白眼]", "[崩坏3·光辉矢愿_吃西瓜冰]"):
# the series may be long; the part after the last "_" is the face itself and is kept as its own signal too.
_CODE_RE = re.compile(r"\[(?:[\w\u4e00-\u9fff\u00b7\-]{1,20}_)?[\w\u4e00-\u9fff]{1,10}\]")
_EMOJI_RE = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\u3297\u3299\u303d\u2190-\u21ff]"
)
# Three or more of the same non-digit character -> two ("好好好好好" -> "好好", "！！！！" -> "!!").
_REPEAT_RE = re.compile(r"([^\d\s])\1{2,}")
_REPEAT_PAIR_RE = re.compile(r"([^\d\s]{2})\1{2,}")  # "哈哈哈哈哈哈" handled above; "2333"-style pairs too
_SPACES_RE = re.compile(r"\s+")
# Digit slang is left alone by the squeeze above (it would break 1000 and 2000): "6666" / "666666" (nice),
# "55555" (crying), "23333" (laughing) become the lexicon's 666 / 555 / 233 when they stand alone.
_DIGIT_SLANG_RE = re.compile(r"(?<![\d.])(?:(6)6{3,}|(5)5{3,}|(23)3{2,})(?![\d.])")


def _digit_slang(match: re.Match[str]) -> str:
    return "666" if match.group(1) else "555" if match.group(2) else "233"


def _mention_placeholder(match: re.Match[str]) -> str:
    """What stands for one @mention. Its name is dropped when something says where it ends (a space, a
    colon or another @, the way Weibo and the apps write "@某人 " and "//@某人:"), or when it is short. A
    longer run of word characters that just stops ("@商家你们虚假宣传我要投诉", typed without a space) stays
    as text: where the name ends cannot be told, and dropping the run deleted the comment itself (34 of 46
    complaints written that way scored neu)."""
    if len(match.group()) - 1 > MENTION_NAME_MAX:
        following = match.string[match.end():match.end() + 1]
        if not following or not (following.isspace() or following in _MENTION_ENDS):
            return f" {MENTION_TOKEN} {match.group()[1:]} "
    return f" {MENTION_TOKEN} "


@lru_cache(maxsize=1)
def _translate_table() -> dict[int, int | str | None]:
    table: dict[int, int | str | None] = {}
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII block -> ASCII
        table[code] = code - 0xFEE0
    table[0x3000] = " "  # ideographic space
    for code in list(range(0x00, 0x20)) + [0x7F] + list(range(0x80, 0xA0)):
        table[code] = " "
    # zero-width characters and the soft hyphen; the zero-width joiner too (emoji are read one by one, so
    # "👨‍👩‍👧" gives the same signals without it, and alone it was a "reason" of its own)
    for code in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD):
        table[code] = None
    # emoji variation selectors and skin-tone modifiers: "👍🏻" and "❤️" are 👍 and ❤ (the modifiers were
    # pulled out as emoji of their own, "🏻" a signal, and a selector after a non-emoji stayed in the text)
    for code in (0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)):
        table[code] = None
    table[0x2019] = "'"  # typographic apostrophe: "don’t" is "don't"
    for code in range(0xD800, 0xE000):  # lone surrogates (from bad decoding) are dropped
        table[code] = None
    text = resources.files("bot.sentiment").joinpath("data/t2s_chars.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        traditional, simplified = line.split("\t")
        table[ord(traditional)] = simplified
    return table


def fold(text: str) -> str:
    """Width folding, traditional -> simplified, control/zero-width/surrogate clean-up, lower case."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    return text[:MAX_CHARS].translate(_translate_table()).lower()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A normalised text split into what jieba should see and the signals kept as features."""

    text: str  # normalised text for display (`normalize()`); URLs/mentions as placeholders
    plain: str  # the same without URLs, mentions, codes, emoji: what is tokenised and n-grammed
    signals: tuple[str, ...]  # "<url>", "<@>", "[微笑]", "😂", "<rep>", "<!>", "<?>"


def prepare(text: str) -> Prepared:
    """Normalise one text and pull out its non-word signals (see module docstring)."""
    folded = fold(text)
    signals: list[str] = []
    if "http" in folded or "www." in folded:
        if _URL_RE.search(folded):
            signals.append(URL_TOKEN)
            folded = _URL_RE.sub(f" {URL_TOKEN} ", folded)
    if "@" in folded:
        if _MENTION_RE.search(folded):
            signals.append(MENTION_TOKEN)
            folded = _MENTION_RE.sub(_mention_placeholder, folded)
    squeezed = _REPEAT_RE.sub(r"\1\1", folded)
    squeezed = _REPEAT_PAIR_RE.sub(r"\1\1", squeezed)
    if "666" in squeezed or "555" in squeezed or "2333" in squeezed:
        squeezed = _DIGIT_SLANG_RE.sub(_digit_slang, squeezed)
    if len(squeezed) != len(folded):
        signals.append(REPEAT_SIGNAL)
    display = _SPACES_RE.sub(" ", squeezed).strip()
    plain = display
    if "[" in plain:
        codes = _CODE_RE.findall(plain)
        if codes:
            for code in codes:
                signals.append(code)
                if "_" in code:  # "[2022拜年纪_捂脸]" is also "[捂脸]"
                    signals.append("[" + code[1:-1].rsplit("_", 1)[1] + "]")
            plain = _CODE_RE.sub(" ", plain)
    emoji = _EMOJI_RE.findall(plain)
    if emoji:
        signals.extend(emoji)
        plain = _EMOJI_RE.sub(" ", plain)
    if "!!" in plain:
        signals.append(EXCLAIM_SIGNAL)
    if "??" in plain or "?!" in plain or "!?" in plain:
        signals.append(QUESTION_SIGNAL)
    if URL_TOKEN in plain or MENTION_TOKEN in plain:
        plain = plain.replace(URL_TOKEN, " ").replace(MENTION_TOKEN, " ")
    plain = _SPACES_RE.sub(" ", plain).strip()
    return Prepared(text=display, plain=plain, signals=tuple(signals))


def normalize(text: str) -> str:
    """Normalised form of a comment: half-width, simplified, squeezed, URLs/mentions as placeholders.

    Emoji and `[表情]` codes stay in the text. Used for scoring, risk flags and keywords alike.
    """
    return prepare(text).text
