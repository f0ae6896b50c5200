"""Training the default model (needs the `train` extra: scikit-learn, scipy).

Deterministic: files are read in the given order, exact duplicate texts keep their first label, the
solver (L-BFGS) has no randomness, and the hashed features do not depend on the process. Re-running
the same command on the same files reproduces the same model file byte for byte, on any x86-64 machine
when it runs pinned (one thread, portable CPU kernels: bot/sentiment/reproducible.py), as
`crisisbot sentiment train` does.
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import functools
import hashlib
import io
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.sentiment.features import DEFAULT_HASH_BITS, Featurizer
from bot.sentiment.model import CLASSES, FORMAT_VERSION, LinearModel
from bot.sentiment.rules import ALL_RULES

# Labels as `label_key` writes them: numbers as -1/0/1 (also when written 1.0, +1, full-width １), words
# lower-case; also the Chinese words (负面/中性/正面 as `/sentiment fix` takes them, and 消极/积极 ...).
LATIN_LABELS = {"0": "neg", "1": "pos", "neg": "neg", "neu": "neu", "pos": "pos",
                "negative": "neg", "neutral": "neu", "positive": "pos"}
CHINESE_LABELS = {"负面": "neg", "消极": "neg", "负向": "neg", "中性": "neu", "中立": "neu",
                  "正面": "pos", "积极": "pos", "正向": "pos"}
LABEL_ALIASES = {**LATIN_LABELS, **CHINESE_LABELS}
BINARY_LABELS = frozenset({"0", "1"})
# the other common 3-class scheme: with a -1 in the file, 0 means neutral, not negative
SIGNED_LABELS = {"-1": "neg", "0": "neu", "1": "pos"}
# header names other public corpora use for the two columns, tried after text / label
TEXT_COLUMNS = ("text", "review", "content", "comment", "sentence", "text_a", "文本", "评论", "内容")
LABEL_COLUMNS = ("label", "sentiment", "polarity", "标签", "情感")
# Chinese spreadsheets are often saved as GBK; UTF-8 (with or without BOM) is tried first
ENCODINGS = ("utf-8-sig", "gb18030")
MAX_FIELD_CHARS = 16 * 1024 * 1024


class DataError(ValueError):
    """A labeled file that cannot be used (missing columns, unknown label ...)."""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class LabeledFile:
    path: Path
    texts: list[str]
    labels: list[str]  # neg/neu/pos
    three_class: bool  # labels were written neg/neu/pos (else 0/1)
    sha256: str
    raw_labels: list[str] = field(default_factory=list)  # each kept row's label as written
    rejected: list[RejectedRow] = field(default_factory=list)  # rows left out, with the reason
    # how the file was read when that is worth saying (no header row, invalid bytes replaced), Chinese first
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_labeled_csv(path: Path | str) -> LabeledFile:
    """Read a `text,label` CSV (label 0/1, neg/neu/pos or -1/0/1). Raises DataError naming the file.

    Header names are matched without regard to case or surrounding spaces ("Text, Label"; also review /
    content / sentiment ... as other corpora name them); labels may also be written 0.0/1.0, +1, full-width,
    negative/neutral/positive or 负面/中性/正面; a file that is not UTF-8 is read as GB18030; a first line with
    tabs and no comma makes it tab-separated. A row with an unknown label is
    left out and listed in `rejected` with its line; the rest of the file is used.

    A file with a few invalid bytes (a lone surrogate, a stray byte) is read in the encoding that fits it
    best with those bytes replaced by U+FFFD; a file without a header row whose first row is a text and a
    label (or a label and a text) is read as such rows. Either is said in `notes`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}：文件不存在 / file not found")
    notes: list[str] = []
    rows = _read_rows(path, notes)
    if not rows:
        raise DataError(f"{path}：没有数据行 / no rows")
    written = {label_key(raw) for _, _, raw in rows}
    if "2" in written and written <= {"0", "1", "2"}:
        # 0/1/2 is neg/neu/pos in some corpora and other orders in others: read as 0/1, every "2" row was left
        # out and the file's neutral rows counted as positive, with nothing but per-row warnings to say so
        raise DataError(f"{path}：标签为 0/1/2，无法确定其含义，请改写为 neg/neu/pos（或 -1/0/1）/ labels 0/1/2 "
                        f"are ambiguous (which is neutral?): write them as neg/neu/pos (or -1/0/1)")
    if "-1" in written:  # -1/1 alone is a binary file written with signs
        aliases, three_class = SIGNED_LABELS, "0" in written
    else:
        binary = written & BINARY_LABELS
        if binary and written & (set(LABEL_ALIASES) - BINARY_LABELS):
            raise DataError(f"{path}：标签混用了 0/1 与 neg/neu/pos / mixes 0/1 and neg/neu/pos labels")
        # Written neg/pos with no neutral row at all is a binary file in words: judged as binary (a `neu`
        # prediction is "not negative"), not as a 3-class file every `neu` prediction would get wrong.
        aliases, three_class = LABEL_ALIASES, not binary and any(LABEL_ALIASES.get(w) == "neu" for w in written)
    texts: list[str] = []
    labels: list[str] = []
    raw_labels: list[str] = []
    rejected: list[RejectedRow] = []
    for line, text, raw in rows:
        label = aliases.get(label_key(raw))
        if label is None:
            rejected.append(RejectedRow(line, f"标签 {raw!r} 不是 0/1、neg/neu/pos 或 -1/0/1 之一 / label {raw!r} is not "
                                                 f"one of 0/1, neg/neu/pos or -1/0/1"))
            continue
        texts.append(text)
        labels.append(label)
        raw_labels.append(raw)
    if not texts:
        raise DataError(f"{path}：没有一行的标签可用 / no row has a usable label ({rejected[0]})")
    return LabeledFile(path, texts, labels, three_class=three_class, sha256=sha256_of(path),
                       raw_labels=raw_labels, rejected=rejected, notes=notes)


def _read_rows(path: Path, notes: list[str]) -> list[tuple[int, str, str]]:
    """(line, text, label as written) of every non-blank row; a malformed file is a DataError. How the file
    was read, when worth saying, is appended to `notes`."""
    try:  # a UTF-8 file, the usual case, is read as a stream
        return _csv_rows(path, path.open(encoding=ENCODINGS[0], newline=""), notes)
    except UnicodeDecodeError:
        pass
    from bot.feeds.files import why_not_text  # the files people pick by mistake, as `crisisbot ingest` says

    data = path.read_bytes()
    if (why := why_not_text(data)) is not None:  # read with replacements, a header of garbage would be refused
        raise DataError(f"{path}：{why}")
    text, note, replaced = _decode(path, data)
    try:
        rows = _csv_rows(path, io.StringIO(text, newline=""), notes)
    except DataError:
        if replaced * 20 > len(data):  # mostly invalid bytes: the header of garbage is not the news
            raise DataError(f"{path}：不是 UTF-8 或 GB18030 文本（{replaced} 个字节无效）/ not UTF-8 or GB18030 text "
                            f"({replaced} bytes invalid)") from None
        raise
    if note:
        notes.insert(0, note)
    return rows


def _csv_rows(path: Path, fh, notes: list[str]) -> list[tuple[int, str, str]]:
    out: list[tuple[int, str, str]] = []
    # the csv module's default field limit (131,072 characters) would make one very long post fail the whole
    # file; raised for this reader only (the limit is process-wide, so it is restored)
    previous_limit = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        with fh:
            # tab-separated (a .tsv, as ChnSentiCorp's "label<TAB>text_a" and spreadsheets' text exports come):
            # a first line with tabs and no comma; it was refused as a header "text\tlabel"
            first_line = fh.readline()
            tabs = "\t" in first_line and "," not in first_line
            reader = csv.reader(itertools.chain([first_line], fh) if first_line else fh,
                                delimiter="\t" if tabs else ",")
            try:
                note = _collect_rows(reader, path, out)
            except csv.Error as exc:
                raise DataError(f"{path}:{reader.line_num}：无法按 CSV 读取 / not readable as CSV ({exc})") from exc
    finally:
        csv.field_size_limit(previous_limit)
    if note:
        notes.append(note)
    return out


_REPLACED_RUN = re.compile("\ufffd+")


@functools.cache
def _common_characters() -> re.Pattern[str]:
    """Runs of the characters of real East Asian text: the 3,755 most common Chinese characters (GB2312 level
    1, lead bytes B0-D7), Chinese punctuation (U+3000-303F, full-width forms U+FF01-FF5E) and kana."""
    hanzi = []
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                hanzi.append(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:  # D7FA-D7FE are unassigned
                continue
    return re.compile("[\u3000-\u30ff\uff01-\uff5e" + re.escape("".join(hanzi)) + "]+")


def _common(text: str) -> int:
    """How many common characters `text` has: how well an encoding fits a file's bytes. Real text is mostly
    common characters; UTF-8 bytes read as GB18030, or GBK bytes read as UTF-8, give rare characters, other
    scripts and U+FFFD instead."""
    return len(text) - len(_common_characters().sub("", text))


def _damaged(text: str, data: bytes, encoding: str) -> int:
    """Damaged places in `text` decoded from `data` with errors="replace": a run of U+FFFD is one (UTF-8
    replaces a lone surrogate's 3 bytes one by one); a U+FFFD written in the file is none."""
    return len(_REPLACED_RUN.findall(text)) - data.count("\ufffd".encode(encoding))


def _decode(path: Path, data: bytes) -> tuple[str, str | None, int]:
    """The text of a file that is not clean UTF-8, a note when bytes were replaced, and how many were.

    GB18030 when it decodes cleanly (a GBK spreadsheet), unless UTF-8 with its few bad bytes replaced reads
    as more common characters: "太差了" + a stray 0x80 is valid GB18030, "澶樊浜唨". When neither decodes
    cleanly, the one that reads as more common characters (then: with fewer damaged places; then UTF-8) is
    used with its bad bytes replaced by U+FFFD: one bad byte (a lone surrogate, a stray byte) used to cost
    the whole file."""
    utf8 = data.removeprefix(codecs.BOM_UTF8)
    as_utf8 = utf8.decode("utf-8", errors="replace")
    utf8_common = _common(as_utf8)
    try:
        # GB18030 has its own byte-order mark (84 31 95 33), decoded as U+FEFF: it would glue itself to the
        # first column name
        text = data.decode("gb18030").removeprefix("\ufeff")
    except UnicodeDecodeError:
        as_gb = data.decode("gb18030", errors="replace")
        gb_common = _common(as_gb)
        if gb_common > utf8_common or (gb_common == utf8_common and
                                       _damaged(as_gb, data, "gb18030") < _damaged(as_utf8, utf8, "utf-8")):
            return _decode_replacing(path, data, "gb18030", "GB18030")
    else:
        if _common(text) >= utf8_common:
            return text, None, 0
    return _decode_replacing(path, utf8, "utf-8", "UTF-8")


def _decode_replacing(path: Path, data: bytes, encoding: str, name: str) -> tuple[str, str, int]:
    counted = _ReplacedBytes()
    token = _REPLACING.set(counted)
    try:
        text = data.decode(encoding, errors=_COUNTING_REPLACE)
    finally:
        _REPLACING.reset(token)
    if encoding == "gb18030":
        text = text.removeprefix("\ufeff")
    line = data.count(b"\n", 0, counted.first) + 1
    plural = "" if counted.bytes == 1 else "s"
    return text, (f"警告：{path} 有 {counted.bytes} 个字节不是有效的 {name} 文本，已替换为 U+FFFD（第一处在第 {line} 行）/ "
                  f"warning: {counted.bytes} byte{plural} of {path} not valid {name}, replaced with U+FFFD "
                  f"(the first on line {line})"), counted.bytes


@dataclass
class _ReplacedBytes:
    bytes: int = 0  # how many bytes were replaced
    first: int = 0  # the offset of the first


_REPLACING: ContextVar[_ReplacedBytes | None] = ContextVar("crisisbot_sentiment_replacing", default=None)


def _count_and_replace(exc: UnicodeError) -> tuple[str, int]:
    """errors="replace", counting the bytes replaced into the decoding's _ReplacedBytes."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    counted = _REPLACING.get()
    if counted is not None:
        if not counted.bytes:
            counted.first = exc.start
        counted.bytes += exc.end - exc.start
    return "\ufffd", exc.end


_COUNTING_REPLACE = "crisisbot.sentiment.count_and_replace"
codecs.register_error(_COUNTING_REPLACE, _count_and_replace)


def label_key(raw: str) -> str:
    """A label cell as LABEL_ALIASES / SIGNED_LABELS spell it: full-width forms made plain (NFKC: "１", "ＮＥＧ"),
    spaces dropped, lower case; a number equal to -1, 0, 1 or 2 as that integer ("1.0" as pandas writes it,
    "+1" of the -1/+1 scheme, "-1.00"; 2 so that a 0/1/2 file is told as one). "+1" used to be rejected row by row, leaving a -1/+1 file's
    positives out of the evaluation."""
    key = unicodedata.normalize("NFKC", raw).strip().lower()
    try:
        number = float(key)
    except ValueError:
        return key
    return str(int(number)) if number in (-1.0, 0.0, 1.0, 2.0) else key


def _label_value(cell: str) -> bool:
    """Whether a cell of a file's first row is a label, telling a file without a header row and its column
    order. The Chinese label words are left out: they are also short texts ("积极,1" is a text and a label)."""
    key = label_key(cell)
    return key in LATIN_LABELS or key in SIGNED_LABELS


_CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f]")  # C0 controls but tab and line breaks


def _mostly_control(row: list[str]) -> bool:
    """A first row with control characters (other than tab and line breaks) in more than 1 character of 20:
    no text file's. A stray one (a NUL in a field) is no reason to call a file binary."""
    joined = ",".join(row)
    controls = len(_CONTROL_CHARS.findall(joined))
    return controls >= 2 and controls * 20 > len(joined)


def _collect_rows(reader, path: Path, out: list[tuple[int, str, str]]) -> str | None:
    """Append (line, text, label as written) of every non-blank row after the header. A file without a
    header row, whose first row is a text and a label (or a label and a text), is read from its first row;
    the note returned says so."""
    first = next(reader, [])
    if not any(cell.strip() for cell in first) and not any(any(cell.strip() for cell in row) for row in reader):
        # nothing but blank lines and spaces: said as such, not as a header lacking text,label ("got None")
        raise DataError(f"{path}：文件是空的（没有任何内容）/ the file is empty" if not first and reader.line_num == 0
                        else f"{path}：文件只有空白，没有内容 / the file holds only whitespace")
    header = [name.strip().lower() for name in first]
    text_name = next((name for name in TEXT_COLUMNS if name in header), None)
    label_name = next((name for name in LABEL_COLUMNS if name in header), None)
    note = None
    if text_name is not None and label_name is not None:
        text_at, label_at = header.index(text_name), header.index(label_name)
    elif len(first) == 2 and not set(header) & {*TEXT_COLUMNS, *LABEL_COLUMNS} and any(map(_label_value, first)):
        # no header: "太差了,0" (or "0,太差了"); a row naming a known column ("text,positive") is a header
        text_at, label_at = (0, 1) if _label_value(first[1]) else (1, 0)
        order = "text,label" if text_at == 0 else "label,text"
        note = (f"注意：{path} 没有表头，已按 {order} 两列读取第一行起的所有行 / note: no header row in {path}; "
                f"the columns were taken as {order}, from the first row on")
        out.append((reader.line_num, first[text_at], first[label_at]))
    elif _mostly_control(first):
        # a binary file (bytes(range(256)), an executable) read as text: its "header" is control characters
        raise DataError(f"{path}：不是文本文件（含有大量控制字符）/ not a text file (it is full of control characters)")
    else:
        raise DataError(f"{path}：表头应包含 text,label 两列 / expected a header with columns text,label "
                        f"(got {header or None})")
    needed = max(text_at, label_at) + 1
    end = reader.line_num  # the physical line each row ends on: a quoted field may span several
    unclosed = None
    for row in reader:
        start, end = end + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # a blank line, or one of empty cells only (",")
        # short of a column and spanning lines: an unclosed quote, if nothing follows (checked below)
        unclosed = (start, end) if len(row) < needed and any("\n" in c for c in row) else None
        text = row[text_at] if text_at < len(row) else ""
        raw = row[label_at] if label_at < len(row) else ""
        out.append((reader.line_num, text, raw))
    if unclosed is not None:
        # `"太差了` with no closing quote: the csv reader reads every line after it into one field, and the
        # row was reported as "label ''" on the file's last line
        start, end = unclosed
        after = (f"，其后第 {start + 1}–{end} 行都被读进了同一个字段", f": lines {start + 1}-{end} were read into the "
                 "same field") if end > start else ("", "")
        raise DataError(f"{path}:{start}：第 {start} 行的引号没有闭合{after[0]} / the quote opened on line {start} is "
                        f"never closed{after[1]}")
    return note


@dataclass
class TrainOptions:
    """Hyper-parameters; the defaults are the ones that trained the shipped model (see MODEL_CARD.md)."""

    hash_bits: int = DEFAULT_HASH_BITS
    c: float = 10.0  # inverse L2 strength of the polarity logistic regression
    c_neutral: float = 8.0  # same for the neutral-vs-rest regression
    c_neutral_neg: float = 8.0  # same for the neutral-vs-negative regression (the neutral gate)
    file_cap: int = 20_000  # at most ~this many rows per file (every k-th row of bigger files) ...
    cap_three_class_files: bool = False  # ... except neg/neu/pos files: every neutral row counts
    binary_file_weight: float = 1.0  # extra factor on files that only have neg/pos (no neutral)
    # Row weight by file name (first matching glob wins, else 1). Shop/hotel/food reviews teach review
    # vocabulary, not social comments: they weigh 1/5 (held-out social AUC +0.01-0.04, MODEL_CARD.md).
    # Douyin's GPT-3.5 silver labels weighed 1/2 until model v4; at full weight held-out Douyin polarity
    # AUC rose 0.915 -> 0.920 and Bilibili accuracy with it (MODEL_CARD.md).
    file_weights: tuple[tuple[str, float], ...] = (
        ("waimai*", 0.2), ("online_shopping*", 0.2), ("chnsenticorp*", 0.2),
    )
    # NB-LR: each model's features are scaled by (1 - nb) + nb x |log-count ratio| of its own training
    # rows before the fit (Wang & Manning 2012, interpolated); the weights are mapped back, so the model
    # stays one linear layer over the same hashed features. 0 disables.
    nb_interpolation: float = 0.5
    nb_alpha: float = 1.0  # smoothing of the log-count ratio
    max_iter: int = 200
    neg_threshold: float = 0.30  # neg when P(neg) >= this (tuned on held-out rows, see MODEL_CARD.md) ...
    neg_over_neutral: float = 1.1  # ... and P(neg) >= this x P(neu) (the neutral gate)
    pos_threshold: float = 0.40  # else pos when P(pos) >= this, else neu
    # clause rules applied on top of the model at scoring time (bot/sentiment/rules.py, MODEL_CARD.md)
    rules: tuple[str, ...] = ALL_RULES
    hmm: bool = False
    char_ngrams: tuple[int, ...] = (1, 2, 3)
    word_bigrams: bool = True


#: Row weight of a chat correction (`train --include-corrections`): a person's label on a comment of the
#: team's own feed counts as five training-file rows.
CORRECTION_WEIGHT = 5.0


@dataclass
class TrainingSet:
    texts: list[str]
    labels: list[str]
    weights: list[float]
    sources: list[dict[str, Any]] = field(default_factory=list)
    three_class: list[bool] = field(default_factory=list)  # row came from a neg/neu/pos file


def build_training_set(
    files: Sequence[LabeledFile],
    options: TrainOptions,
    corrections: Iterable[tuple[str, str]] = (),
    correction_weight: float = CORRECTION_WEIGHT,
) -> TrainingSet:
    """Merge files (first occurrence of a text wins) with per-file weights; corrections override."""
    seen: set[str] = set()
    out = TrainingSet([], [], [])
    fixed = {text: label for text, label in corrections}
    for lf in files:
        # a file larger than the cap is thinned to every k-th row (deterministic) so big review sets
        # neither dominate nor slow training down
        step = max(1, -(-len(lf.texts) // options.file_cap))
        if lf.three_class and not options.cap_three_class_files:
            # the neutral detector learns only from these files; thinning them cost ~2 points of
            # macro-F1 on held-out Douyin rows (MODEL_CARD.md)
            step = 1
        weight = (1.0 if lf.three_class else options.binary_file_weight) * file_weight(lf.name, options)
        kept = 0
        for text, label in list(zip(lf.texts, lf.labels, strict=True))[::step]:
            if text in seen or text in fixed or not text.strip():
                continue
            seen.add(text)
            out.texts.append(text)
            out.labels.append(label)
            out.weights.append(weight)
            out.three_class.append(lf.three_class)
            kept += 1
        source = {"file": lf.name, "sha256": lf.sha256, "rows": len(lf.texts), "every_nth_row": step,
                  "used": kept, "row_weight": round(weight, 6), "three_class": lf.three_class}
        if lf.rejected:  # rows with an unknown label (absent from clean files, whose model card stays as it was)
            source["rejected_rows"] = len(lf.rejected)
        out.sources.append(source)
    if fixed:
        for text, label in fixed.items():
            out.texts.append(text)
            out.labels.append(label)
            out.weights.append(correction_weight)
            out.three_class.append(True)  # a human chose among neg/neu/pos
        out.sources.append({"file": "corrections", "rows": len(fixed), "used": len(fixed),
                            "row_weight": correction_weight})
    return out


def file_weight(name: str, options: TrainOptions) -> float:
    """Row weight of a training file from `options.file_weights` (first matching glob), else 1."""
    for pattern, weight in options.file_weights:
        if fnmatch.fnmatchcase(name, pattern):
            return float(weight)
    return 1.0


def feature_matrix(featurizer: Featurizer, texts: Sequence[str], batch: int = 2000,
                   progress: Callable[[int], None] | None = None):
    """CSR matrix of the same values the scorer uses (1/sqrt(n) per occurrence, summed per bucket)."""
    from scipy import sparse

    blocks = []
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        feats = featurizer.featurize(chunk)
        scale = 1.0 / np.sqrt(np.maximum(feats.counts, 1.0))
        values = scale[feats.text_ids]
        block = sparse.csr_matrix(
            (values, (feats.text_ids, feats.indices)), shape=(len(chunk), 1 << featurizer.hash_bits)
        )
        block.sum_duplicates()
        blocks.append(block)
        if progress:
            progress(len(chunk))
    return sparse.vstack(blocks, format="csr")


def _nb_scale(matrix, y: np.ndarray, nb: float, alpha: float) -> np.ndarray:
    """Per-feature scale (1 - nb) + nb x |log-count ratio| over binarised features of the rows given."""
    present = matrix.copy()
    present.data[:] = 1.0
    p = np.asarray(present[y == 1].sum(axis=0)).ravel() + alpha
    q = np.asarray(present[y == 0].sum(axis=0)).ravel() + alpha
    ratio = np.log((p / p.sum()) / (q / q.sum()))
    return (1.0 - nb) + nb * np.abs(ratio)


def _fit_binary(matrix, y: np.ndarray, weights: np.ndarray, c: float, options: TrainOptions) -> tuple[np.ndarray, float]:
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    scale = None
    if options.nb_interpolation:
        scale = _nb_scale(matrix, y, options.nb_interpolation, options.nb_alpha)
        matrix = matrix @ sparse.diags(scale)
    clf = LogisticRegression(C=c, max_iter=options.max_iter, tol=1e-4)
    clf.fit(matrix, y, sample_weight=weights)
    coef = clf.coef_[0]
    if scale is not None:
        coef = coef * scale  # back to the unscaled features the scorer computes
    return coef, float(clf.intercept_[0])


def fit(matrix, labels: Sequence[str], weights: Sequence[float], options: TrainOptions,
        three_class_rows: Sequence[bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Three logistic regressions (L-BFGS, L2, deterministic) over the same features.

    - polarity: pos vs neg on every neg/pos row (binary and 3-class files alike);
    - neutral: neu vs not-neu on rows of 3-class files only. Binary files never say whether a text is
      neutral (they had the neutral texts removed), so they must not teach the model that nothing is;
    - neutral-vs-negative: neu vs neg on the neu/neg rows of 3-class files: the neutral gate. Trained on
      exactly the boundary it decides, it separates held-out neutral from negative comments better than
      the neutral-vs-rest model (AUC +0.04 on smp2020 and Douyin, MODEL_CARD.md).
    Returns weights (dim, 3) float32 = [polarity, neutral, neutral-vs-negative] and bias (3,).
    """
    y = np.array(labels)
    w = np.asarray(weights, dtype=np.float64)
    if three_class_rows is None:
        three_class_rows = [True] * len(labels)
    from_three = np.asarray(three_class_rows, dtype=bool)
    polar = y != "neu"
    out = np.zeros((matrix.shape[1], 3), dtype=np.float64)
    bias = np.array([0.0, -30.0, -30.0])  # without 3-class data nothing is called neutral by the model
    if len(set(y[polar].tolist())) == 2:
        out[:, 0], bias[0] = _fit_binary(matrix[polar], (y[polar] == "pos").astype(int), w[polar], options.c,
                                         options)
    else:
        raise DataError("训练数据需要同时有负面和正面样本 / training data needs both neg and pos examples")
    neu_rows = from_three
    if neu_rows.any() and len(set((y[neu_rows] == "neu").tolist())) == 2:
        out[:, 1], bias[1] = _fit_binary(matrix[neu_rows], (y[neu_rows] == "neu").astype(int), w[neu_rows],
                                         options.c_neutral, options)
    gate_rows = from_three & (y != "pos")
    if gate_rows.any() and len(set((y[gate_rows] == "neu").tolist())) == 2:
        out[:, 2], bias[2] = _fit_binary(matrix[gate_rows], (y[gate_rows] == "neu").astype(int), w[gate_rows],
                                         options.c_neutral_neg, options)
    return out.astype(np.float32), bias


def featurizer_for(options: TrainOptions) -> Featurizer:
    """The featurizer a model trained with `options` scores with (the same settings go into its meta)."""
    return Featurizer(hash_bits=options.hash_bits, hmm=options.hmm, char_ngrams=options.char_ngrams,
                      word_bigrams=options.word_bigrams)


def model_meta(options: TrainOptions) -> dict[str, Any]:
    """The scoring part of a model file's metadata (kind, hashing, thresholds, featurizer)."""
    return {
        "format": FORMAT_VERSION,
        "kind": "gated",
        "classes": list(CLASSES),
        "hash_bits": options.hash_bits,
        "thresholds": {"neg": options.neg_threshold, "pos": options.pos_threshold,
                       "neg_over_neu": options.neg_over_neutral},
        "rules": list(options.rules),
        "featurizer": {"hmm": options.hmm, "char_ngrams": list(options.char_ngrams),
                       "word_bigrams": options.word_bigrams},
    }


def train_model(
    files: Sequence[LabeledFile],
    options: TrainOptions | None = None,
    *,
    corrections: Iterable[tuple[str, str]] = (),
    featurizer: Featurizer | None = None,
    progress: Callable[[int], None] | None = None,
    command: str = "",
) -> LinearModel:
    """Train the default model from labeled files (and optional chat corrections)."""
    options = options or TrainOptions()
    featurizer = featurizer or featurizer_for(options)
    data = build_training_set(files, options, corrections)
    if len(set(data.labels)) < 2:
        raise DataError("训练数据至少需要两种不同的标签 / training data needs at least two different labels")
    matrix = feature_matrix(featurizer, data.texts, progress=progress)
    weights, bias = fit(matrix, data.labels, data.weights, options, data.three_class)
    meta = model_meta(options)
    meta["training"] = {
        "method": "three logistic regressions (scikit-learn, L-BFGS, L2) over NB-scaled features, weights "
                  "mapped back: polarity pos-vs-neg on all neg/pos rows; neutral-vs-rest on rows of 3-class "
                  "files; neutral-vs-negative on neu/neg rows of 3-class files (the neutral gate)",
        "C": options.c, "C_neutral": options.c_neutral, "C_neutral_neg": options.c_neutral_neg,
        "file_cap": options.file_cap, "cap_three_class_files": options.cap_three_class_files,
        "binary_file_weight": options.binary_file_weight,
        "file_weights": [[pattern, weight] for pattern, weight in options.file_weights],
        "nb_interpolation": options.nb_interpolation, "nb_alpha": options.nb_alpha,
        "max_iter": options.max_iter, "rows": len(data.texts), "sources": data.sources,
        "command": command,
    }
    return LinearModel(weights=weights, bias=bias, meta=meta)
