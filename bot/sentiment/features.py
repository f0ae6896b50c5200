"""Feature extraction shared by training and scoring: jieba words, rule features, hashed char n-grams.

Every text becomes a bag of hashed feature indices (each occurrence weighs 1/sqrt(number of features),
so long texts do not saturate the model):
- words from jieba (own Tokenizer with the user dictionary), plus word bigrams;
- rule features from the lexicon: polarity words (POS/NEG), the same inside a negation scope (¬POS/¬NEG,
  and "¬word"), degree words before a polarity word (DEG+POS/DEG+NEG), sarcasm markers (SARC, and
  SARC&POS when they meet praise; SARC! and SARC!&POS for the strong ones: 呵呵, 🙂, [微笑]), questions (Q, QR
  for rhetorical ones), mixed Chinese/English (MIX);
- signals from normalisation: emoji, [表情] codes (plus "EMO:<class>", shared by the codes and emoji that
  mean the same on different platforms: [笑cry] / [笑哭] / 😂), URL, mention, repetition, !/? runs;
- character 1-3-grams of the normalised text, hashed with numpy in one vectorised pass per batch.
Word/rule features are hashed with CRC-32 (deterministic across processes, unlike `hash()`).
Each text also gets its clause rule, if one fires (bot/sentiment/rules.py); the model applies it.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from bot.sentiment.normalization import Prepared, prepare
from bot.sentiment.rules import RuleHit, clause_rule

DEFAULT_HASH_BITS = 20
NEGATION_WINDOW = 3  # tokens after a negator that it still reaches (the clause ends it earlier)
# closing brackets and quotes end what is inside them ("(我也不喜欢)M7真的不差", "“我不说”大家"), and "//"
# starts the next post of a Weibo repost chain: a negation does not reach past them
_CLAUSE_END = frozenset(",.!?;:，。！？；：、~…\n)]}”」』】》/")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
CLAUSE_GAP = " "  # token standing for whitespace between clauses: ends negation/degree scope, no feature
_LATIN_END_RE = re.compile(r"[a-z0-9']$")
_LATIN_START_RE = re.compile(r"[a-z0-9]")
_PARTICLES = frozenset("的了地得")
_POSITIONAL = frozenset("上下")
_A_NOT_A_RE = re.compile(r"(.+)[不没]\1")  # 好不好, 行不行, 有没有
_LATIN_WORD_RE = re.compile(r"[a-z]{2,}")
# Odd 64-bit multipliers for the char n-gram hash (any fixed odd constants work; these are SplitMix64's).
_K1 = np.uint64(0x9E3779B97F4A7C15)
_K2 = np.uint64(0xBF58476D1CE4E5B9)
_K3 = np.uint64(0x94D049BB133111EB)
_NGRAM_SEEDS = (np.uint64(0x1000193), np.uint64(0x2000193), np.uint64(0x3000193))


@dataclass(frozen=True)
class Lexicon:
    """Word lists behind the rule features (bot/sentiment/data/lexicon.yaml; part of the model)."""

    negators: frozenset[str]
    degree: frozenset[str]
    positive: frozenset[str]
    negative: frozenset[str]
    sarcasm_tokens: frozenset[str]
    sarcasm_patterns: re.Pattern[str] | None
    question_words: frozenset[str]
    rhetorical_words: frozenset[str]
    # clause rules (bot/sentiment/rules.py)
    litotes_negators: frozenset[str] = frozenset()
    litotes_exclude: frozenset[str] = frozenset()
    negation_fillers: frozenset[str] = frozenset()
    sarcasm_strong: frozenset[str] = frozenset()
    sarcasm_strong_patterns: re.Pattern[str] | None = None
    emoticon_class: dict[str, str] = field(default_factory=dict)  # [表情] code or emoji -> class name

    @classmethod
    def load(cls, path: Path | None = None) -> Lexicon:
        from bot.yaml_files import load_yaml

        if path is None:
            raw = resources.files("bot.sentiment").joinpath("data/lexicon.yaml").read_text(encoding="utf-8")
        else:
            raw = Path(path).read_text(encoding="utf-8")
        data = load_yaml(raw) or {}

        def words(key: str) -> frozenset[str]:
            return frozenset(str(w).lower() for w in data.get(key) or ())

        def pattern(key: str) -> re.Pattern[str] | None:
            patterns = [str(p) for p in data.get(key) or ()]
            return re.compile("|".join(patterns)) if patterns else None

        emoticon_class = {str(member).lower(): str(name)
                          for name, members in (data.get("emoticon_classes") or {}).items() for member in members}
        return cls(
            negators=words("negators"),
            degree=words("degree"),
            positive=words("positive"),
            negative=words("negative"),
            sarcasm_tokens=words("sarcasm_tokens"),
            sarcasm_patterns=pattern("sarcasm_patterns"),
            question_words=words("question_words"),
            rhetorical_words=words("rhetorical_words"),
            litotes_negators=words("litotes_negators"),
            litotes_exclude=words("litotes_exclude"),
            negation_fillers=words("negation_fillers"),
            sarcasm_strong=words("sarcasm_strong"),
            sarcasm_strong_patterns=pattern("sarcasm_strong_patterns"),
            emoticon_class=emoticon_class,
        )


def default_userdict_path() -> Path | None:
    """sentiment/userdict.txt (brands, slang) of the config folder in use (next to CRISISBOT_CONFIG's file,
    ./config, the repository's config/), else the default copy in the package; None if there is none."""
    from bot.sentiment.risk import sentiment_config_file

    return sentiment_config_file("userdict.txt")


_TOKENIZER_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def shared_tokenizer(userdict: Path | None = None, lexicon_path: Path | None = None):
    """One jieba Tokenizer per (user dictionary, lexicon), shared by the scorer and keyword extraction.

    It has the user dictionary (default config/sentiment/userdict.txt) and the lexicon's multi-character
    words, so "阴阳怪气" or "割韭菜" stay whole. Initialising jieba costs ~0.7 s, so it is done once.
    """
    import jieba

    with _TOKENIZER_LOCK:
        jieba.setLogLevel(60)  # jieba logs "Building prefix dict..." at INFO on stderr
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        userdict = userdict or default_userdict_path()
        if userdict:
            tokenizer.load_userdict(str(userdict))
        lexicon = Lexicon.load(lexicon_path)
        for word in sorted(lexicon.sarcasm_tokens | lexicon.sarcasm_strong | lexicon.positive | lexicon.negative):
            if _CJK_RE.search(word) and len(word) > 1 and not tokenizer.FREQ.get(word):
                tokenizer.add_word(word, freq=50)
        return tokenizer


@dataclass
class BatchFeatures:
    """Hashed features of a batch: parallel arrays of feature index and owning text, plus words."""

    indices: np.ndarray  # int64 feature indices (one entry per occurrence)
    text_ids: np.ndarray  # int64, which text each occurrence belongs to
    counts: np.ndarray  # float64, occurrences per text (for the 1/sqrt(n) weighting)
    words: list[list[str]] = field(default_factory=list)  # readable word/rule features per text
    word_slices: list[tuple[int, int]] = field(default_factory=list)  # their span in `indices`
    rules: list[RuleHit | None] = field(default_factory=list)  # the clause rule of each text, if one fires


#: feature strings whose hash is remembered (~150 bytes each): at 500,000 a long-running serve's cache grew
#: to ~70 MiB on varied comments before it was cleared (bench/soak); the hash itself is a CRC-32
HASH_CACHE_MAX = 100_000


class Featurizer:
    """Turns texts into hashed sparse features. Deterministic; one instance per process is enough."""

    def __init__(
        self,
        *,
        hash_bits: int = DEFAULT_HASH_BITS,
        lexicon: Lexicon | None = None,
        lexicon_path: Path | None = None,
        userdict: Path | None = None,
        hmm: bool = False,
        char_ngrams: Sequence[int] = (1, 2, 3),
        word_bigrams: bool = True,
    ) -> None:
        self.hash_bits = hash_bits
        self.mask = (1 << hash_bits) - 1
        self.lexicon = lexicon or Lexicon.load(lexicon_path)
        self.hmm = hmm
        self.char_ngrams = tuple(char_ngrams)
        self.word_bigrams = word_bigrams
        self.tokenizer = shared_tokenizer(userdict, lexicon_path)
        lex = self.lexicon
        self._special = frozenset(
            lex.positive | lex.negative | lex.negators | lex.degree | lex.sarcasm_tokens | lex.sarcasm_strong
            | lex.question_words | lex.rhetorical_words | _CLAUSE_END | {CLAUSE_GAP}
        )
        self._negator_chars = frozenset(w for w in lex.negators if len(w) == 1)
        self._degree_prefixes = lex.degree - {"死"}  # "死贵" is rare next to "死神", "死鬼"
        self._hash_cache: dict[str, int] = {}

    # -- word-level -----------------------------------------------------------------------------
    def tokenize(self, plain: str) -> list[str]:
        """jieba tokens of a normalised plain text; whitespace between Chinese clauses becomes CLAUSE_GAP,
        other whitespace is dropped."""
        if not plain:
            return []
        raw = self.tokenizer.lcut(plain, HMM=self.hmm)
        tokens: list[str] = []
        for i, token in enumerate(raw):
            if not token.isspace():
                tokens.append(token)
            elif tokens and i + 1 < len(raw) and not (_LATIN_END_RE.search(tokens[-1]) and _LATIN_START_RE.match(raw[i + 1])):
                # a space or line break between Chinese words ends a clause the way a comma does
                # ("我不是黑 哈哈哈", "好车 理想车不行"); between Latin words it is just a word gap ("not good")
                tokens.append(CLAUSE_GAP)
        return self._split_glued_tokens(self._join_split_words(self._join_apostrophes(tokens)))

    def _join_apostrophes(self, tokens: list[str]) -> list[str]:
        """jieba splits at the apostrophe ("don't" -> don|'|t), so the English negators of the lexicon
        (don't, can't, isn't ...) never matched: a word, "'" and "t" are joined back."""
        if "'" not in tokens:
            return tokens
        out: list[str] = []
        i, n = 0, len(tokens)
        while i < n:
            if i + 2 < n and tokens[i + 1] == "'" and tokens[i + 2] == "t" and tokens[i].isascii() and tokens[i].isalpha():
                out.append(tokens[i] + "'t")
                i += 3
                continue
            out.append(tokens[i])
            i += 1
        return out

    def _join_split_words(self, tokens: list[str]) -> list[str]:
        """The lexicon's words are added to jieba with a low frequency, and a few lose to the frequent
        characters they are made of: "很好用" came out 很|好|用, "难用" 难|用, "有病" 有|病, so the polarity
        word never fired. Two one-character tokens that make a polarity word are joined, unless the second
        one already is one ("太|差") or is a particle ("好|的", "绝|了", "爱|了": the word list's 好的 / 绝了
        / 爱了 would then take every "好的" and "了"). Not joined either: Latin letters ("s|b" from "s b")
        and 上 / 下 + 头, which are "above" / "below" as often as the slang 上头 / 下头 ("垂下头")."""
        lex = self.lexicon
        out: list[str] = []
        i, n = 0, len(tokens)
        while i < n:
            token = tokens[i]
            if i + 1 < n and len(token) == 1 and len(tokens[i + 1]) == 1 and not token.isascii() \
                    and token not in _POSITIONAL:
                following = tokens[i + 1]
                joined = token + following
                if (joined in lex.positive or joined in lex.negative) and following not in _PARTICLES and not (
                        following in lex.positive or following in lex.negative):
                    out.append(joined)
                    i += 2
                    continue
            out.append(token)
            i += 1
        return out

    def _prefix_parts(self, head: str) -> list[str] | None:
        """`head` cut into negators and degree words ("不太" -> [不太], "不是很" -> [不是, 很]), or None."""
        if head in self.lexicon.negators or head in self._degree_prefixes:
            return [head]
        for cut in range(len(head) - 1, 0, -1):
            first = head[:cut]
            if first in self.lexicon.negators or first in self._degree_prefixes:
                rest = self._prefix_parts(head[cut:])
                if rest:
                    return [first, *rest]
        return None

    def _is_polarity_end(self, word: str, prefix: list[str]) -> bool:
        """`word` is a polarity word that may end a glued token after `prefix`. 好 (and 死) are read as
        degree words, so they end one only after a negator ("不太好", not "最好别买")."""
        lex = self.lexicon
        if not (word in lex.positive or word in lex.negative):
            return False
        return word not in lex.degree or any(part in lex.negators for part in prefix)

    def _split_glued(self, token: str, following: str | None) -> tuple[list[str], bool] | None:
        """The parts of a token that jieba glued from negators / degree words and a polarity word, and
        whether the next token was used: 很棒 -> 很|棒, 不太好 -> 不太|好, 不是很棒 -> 不是|很|棒, and with
        the next token 不难|吃 -> 不|难吃, 不太好|用 -> 不太|好用. None when the token is no such glue."""
        if len(token) < 2 or _A_NOT_A_RE.match(token):
            return None  # "好不好", "行不行": an A-not-A question
        special = token in self._special
        for cut in range(1, len(token)):
            prefix = self._prefix_parts(token[:cut])
            if not prefix:
                continue
            rest = token[cut:]
            # with the next token first: the longer word wins ("不太好|用" is 不太|好用); after a degree
            # word alone a particle does not count ("最好|的" stays, it is no "最 + 好的")
            if following is not None and self._is_polarity_end(rest + following, prefix) and (
                    prefix[0] in self._negator_chars if special else (
                        following not in _PARTICLES or any(p in self.lexicon.negators for p in prefix))):
                return [*prefix, rest + following], True
            # inside the token: only words no list knows as a whole ("很棒", not "不错" or "太好了"); a
            # one-character negator + polarity word ("不高兴") is read by word_features as it is
            if not special and self._is_polarity_end(rest, prefix) and not (
                    len(prefix) == 1 and prefix[0] in self._negator_chars):
                return [*prefix, rest], False
        return None

    def _split_glued_tokens(self, tokens: list[str]) -> list[str]:
        """jieba keeps "degree word + polarity word" and "negator + half a word" whole ("很棒", "太丑",
        "真不错", "不太好", "不难"|"吃"); the whole token is in no word list, so the POS/NEG, ¬ and DEG+
        features never fired and the clause rules missed "不是很棒", "不太好", "不难吃", "服务很棒[微笑]".
        Such a token is split into its parts (see `_split_glued`)."""
        out: list[str] = []
        i, n = 0, len(tokens)
        while i < n:
            parts = self._split_glued(tokens[i], tokens[i + 1] if i + 1 < n else None)
            if parts is None:
                out.append(tokens[i])
                i += 1
            else:
                out += parts[0]
                i += 2 if parts[1] else 1
        return out

    def word_features(self, prepared: Prepared, tokens: list[str]) -> list[str]:
        """Words, word bigrams, rule features and signals of one text (readable strings)."""
        lex = self.lexicon
        special = self._special
        negator_chars = self._negator_chars
        bigrams = self.word_bigrams
        feats: list[str] = []
        negated = 0  # tokens still inside a negation scope
        pending_degree = 0
        has_pos = has_neg = has_sarcasm = has_strong_sarcasm = has_question = False
        previous = ""
        for token in tokens:
            if token not in special and token[0] not in negator_chars:
                # fast path for the common case: a word no rule cares about
                feats.append(token)
                if bigrams and previous:
                    feats.append(previous + "|" + token)
                previous = token
                if negated:
                    feats.append("¬" + token)
                    negated -= 1
                if pending_degree:
                    pending_degree -= 1
                continue
            if token == CLAUSE_GAP:
                negated = 0
                pending_degree = 0
                previous = ""
                continue
            if token in _CLAUSE_END or (len(token) == 1 and token in _CLAUSE_END):
                negated = 0
                pending_degree = 0
                if token == "?" or token == "？":
                    has_question = True
                feats.append(token)
                previous = ""
                continue
            feats.append(token)
            if self.word_bigrams and previous:
                feats.append(previous + "|" + token)
            previous = token
            polarity = 0
            if token in lex.positive:
                polarity = 1
            elif token in lex.negative:
                polarity = -1
            elif len(token) > 1 and token[0] in lex.negators:
                # jieba often keeps "不高兴" / "没意思" as one word: negate the rest of it
                rest = token[1:]
                if rest in lex.positive:
                    polarity, negated = 1, max(negated, 1)
                elif rest in lex.negative:
                    polarity, negated = -1, max(negated, 1)
            if token in lex.negators:
                negated = 0 if negated else NEGATION_WINDOW  # a second negator flips back
                continue
            if token in lex.degree:
                pending_degree = 2
                continue
            if negated:
                feats.append("¬" + token)
            if polarity:
                name = "POS" if polarity > 0 else "NEG"
                if negated:
                    name = "¬" + name
                feats.append(name)
                if pending_degree:
                    feats.append("DEG+" + name)
                if name == "POS":
                    has_pos = True
                elif name in ("NEG", "¬POS"):
                    has_neg = True
            if token in lex.sarcasm_tokens:
                has_sarcasm = True
            if token in lex.sarcasm_strong:
                has_sarcasm = has_strong_sarcasm = True
            if token in lex.question_words:
                has_question = True
                if token in lex.rhetorical_words:
                    feats.append("QR")
            negated = max(0, negated - 1)
            pending_degree = max(0, pending_degree - 1)
        emoticon_class = lex.emoticon_class
        for signal in prepared.signals:
            feats.append(signal)
            if signal in emoticon_class:
                feats.append("EMO:" + emoticon_class[signal])
            if signal in lex.positive:
                feats.append("POS")
                has_pos = True
            elif signal in lex.negative:
                feats.append("NEG")
                has_neg = True
            if signal in lex.sarcasm_tokens:
                has_sarcasm = True
            if signal in lex.sarcasm_strong:
                has_sarcasm = has_strong_sarcasm = True
            if signal == "<?>":
                has_question = True
        if lex.sarcasm_patterns is not None and lex.sarcasm_patterns.search(prepared.text):
            has_sarcasm = True
        if lex.sarcasm_strong_patterns is not None and lex.sarcasm_strong_patterns.search(prepared.text):
            has_sarcasm = has_strong_sarcasm = True
        if has_sarcasm:
            feats.append("SARC")
            if has_pos:
                feats.append("SARC&POS")
        if has_strong_sarcasm:
            feats.append("SARC!")
            if has_pos:
                feats.append("SARC!&POS")
        if has_question:
            feats.append("Q")
        if has_pos and has_neg:
            feats.append("POS&NEG")
        if _CJK_RE.search(prepared.plain) and _LATIN_WORD_RE.search(prepared.plain):
            feats.append("MIX")
        if not feats and not prepared.plain:
            feats.append("<empty>")
        return feats

    def hash_word(self, feature: str) -> int:
        cache = self._hash_cache
        value = cache.get(feature)
        if value is None:
            if len(cache) >= HASH_CACHE_MAX:  # bounded: a feature-string cache, never a per-text cache
                cache.clear()
            value = zlib.crc32(feature.encode("utf-8", "surrogatepass")) & self.mask
            cache[feature] = value
        return value

    # -- batch ----------------------------------------------------------------------------------
    def featurize(self, texts: Sequence[str]) -> BatchFeatures:
        """Hashed features of every text, in order (see module docstring)."""
        prepared = [prepare(t) for t in texts]
        words: list[list[str]] = []
        word_idx: list[int] = []
        word_tid: list[int] = []
        slices: list[tuple[int, int]] = []
        rules: list[RuleHit | None] = []
        hash_word = self.hash_word
        lexicon = self.lexicon
        for tid, prep in enumerate(prepared):
            tokens = self.tokenize(prep.plain)
            feats = self.word_features(prep, tokens)
            rules.append(clause_rule(tokens, prep.signals, prep.text, lexicon))
            words.append(feats)
            start = len(word_idx)
            word_idx.extend(hash_word(f) for f in feats)
            word_tid.extend([tid] * len(feats))
            slices.append((start, len(word_idx)))
        char_idx, char_tid = self._char_ngrams([p.plain for p in prepared])
        indices = np.concatenate([np.asarray(word_idx, dtype=np.int64), char_idx])
        text_ids = np.concatenate([np.asarray(word_tid, dtype=np.int64), char_tid])
        counts = np.bincount(text_ids, minlength=len(texts)).astype(np.float64)
        return BatchFeatures(indices, text_ids, counts, words, slices, rules)

    def _char_ngrams(self, plains: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Hashed char n-grams of all texts in one numpy pass. Spaces separate texts and words:
        n-grams containing a space are dropped, so none crosses two texts."""
        joined = " ".join(plains)
        if not joined.strip():
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        if len(plains) == 1:  # one text per call is common (chat, webhooks): skip the bookkeeping
            owner = np.zeros(len(codes), dtype=np.int64)
        else:
            lengths = np.fromiter((len(p) + 1 for p in plains), dtype=np.int64, count=len(plains))
            owner = np.repeat(np.arange(len(plains), dtype=np.int64), lengths)[: len(codes)]
        is_space = codes == 32
        out_idx: list[np.ndarray] = []
        out_tid: list[np.ndarray] = []
        mask = np.uint64(self.mask)
        for n in self.char_ngrams:
            if len(codes) < n:
                continue
            m = len(codes) - n + 1
            h = _NGRAM_SEEDS[n - 1] + codes[:m] * _K1
            bad = is_space[:m].copy()
            for k in range(1, n):
                h = (h ^ (h >> np.uint64(31))) * _K2 + codes[k : k + m] * _K1
                bad |= is_space[k : k + m]
            h = (h ^ (h >> np.uint64(29))) * _K3
            h ^= h >> np.uint64(32)
            keep = ~bad
            out_idx.append((h[keep] & mask).astype(np.int64))
            out_tid.append(owner[:m][keep])
        if not out_idx:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(out_idx), np.concatenate(out_tid)
