"""`crisisbot sentiment ...`: score, eval, train. Heavy imports happen inside the commands."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

app = typer.Typer(
    no_args_is_help=True,
    help="中文情感分析：打分、评估、训练 / Chinese sentiment: score, evaluate, train.",
)

BATCH = 1000
WIDE_TABLE_COLUMNS = 120  # below this `score` prints one block per text instead of a table
_BACKEND_HELP = "后端 / backend: default | snownlp"


# Line breaks to Python's str.splitlines() (and to JavaScript, for U+2028/U+2029) that json.dumps writes raw
# with ensure_ascii=False; the C0 ones (\x0b \x0c \x1c-\x1e) json.dumps escapes itself. Escaped, every JSON
# document stays on one line for any line splitter; Chinese stays readable.
_JSON_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _backend_name(value: str) -> str:
    """`--backend SnowNLP` (the library's own spelling) names the snownlp backend: names are matched in any case."""
    return value.strip().lower()


def _json_line(payload: dict) -> str:
    """One JSON document on one line, whatever line splitter reads it; Chinese unescaped."""
    return json.dumps(payload, ensure_ascii=False).translate(_JSON_LINE_BREAKS)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"错误 / error: {message}", err=True)
    raise typer.Exit(code)


def _progress(total: int, description: str):
    """A rich progress bar on stderr (stdout stays machine-readable); silent for short jobs."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, transient=True, disable=total < 2 * BATCH or not console.is_terminal,
    )
    return progress, description


def _configured_model_path(backend: str) -> Path | None:
    """`sentiment.model_path` of the config file the bot uses (CRISISBOT_CONFIG, else ./config/crisisbot.yaml),
    for the default backend: `score` and `eval` load the model the bot (and chat's `/sentiment score`) would,
    not always the shipped one. A relative path is read from the working directory, as the bot reads it. A
    config that cannot be read is `crisisbot config check`'s to explain: said on stderr, shipped model used."""
    if backend != "default":
        return None
    from bot.config import ConfigError, load_all

    try:
        _, config, _ = load_all()
    except ConfigError:
        typer.echo("警告：配置文件有问题（见 `crisisbot config check`），使用内置模型 / warning: the config has "
                   "problems (see `crisisbot config check`); using the shipped model", err=True)
        return None
    return Path(config.sentiment.model_path) if config.sentiment.model_path else None


def _model_note(model_path: Path, configured: bool) -> None:
    """Which model scores, on stderr, when it is not the shipped one (human output only)."""
    if configured:
        typer.echo(f"模型 / model: {model_path}（来自配置 sentiment.model_path / from the config's sentiment.model_path）",
                   err=True)
    else:
        typer.echo(f"模型 / model: {model_path}", err=True)


def _load_scorer(backend: str, model_path: Path | None, *, configured: bool = False):
    """The scorer, or exit 2 with a message naming the backend or the model file at fault: a file that is no
    model (a CSV, an empty or truncated file, another .npz) used to end in a traceback, "Aborted." or numpy's
    pickle advice. `configured`: the model file was named by the config's sentiment.model_path."""
    from bot.sentiment import BACKENDS, get_scorer
    from bot.sentiment.model import ModelFileError

    if backend not in BACKENDS:
        _fail(f"未知的后端 {backend!r}，可选：{'、'.join(BACKENDS)} / unknown backend {backend!r}; "
              f"choose one of {', '.join(BACKENDS)}")
    if backend != "default" and model_path is not None:  # it was silently ignored by `score`
        _fail("--model 只用于 default 后端 / --model applies to the default backend only")
    where = "（配置 sentiment.model_path / the config's sentiment.model_path）" if configured else ""
    if model_path is not None and not model_path.is_file():
        _fail(f"找不到模型文件 / model file not found: {model_path}{where}（用 `crisisbot sentiment train` 训练一个 / "
              f"train one with `crisisbot sentiment train`）")
    try:
        return get_scorer(backend, model_path=model_path)
    except FileNotFoundError as exc:  # the default model file itself is missing
        _fail(f"找不到模型文件 / {exc}")
    except ModelFileError as exc:  # our own text: numpy's (which advises allow_pickle for a CSV) is left out
        _fail(f"{exc}{where}")
    except Exception as exc:  # noqa: BLE001 - any failure to read a file the user named is about that file
        if model_path is None:
            raise
        _fail(f"不是有效的 crisisbot 情感模型文件 / not a crisisbot sentiment model file: {model_path}{where} "
              f"({type(exc).__name__})")


def _result_dict(text: str, result) -> dict:
    out = {
        "text": text,
        "label": result.label,
        "score": round(result.score, 6),
        "reasons": list(result.reasons),
        "risk_flags": [{"term": f.term, "category": f.category} for f in result.risk_flags],
        # P(neg): why a text with score 0.5 can still be `neg`. Always present, whatever the backend (a machine
        # reader must not see the keys change with --backend): null only from a scorer that does not know it.
        "neg_score": None if result.neg_score is None else round(result.neg_score, 6),
    }
    return out


class _DashTextsCommand(TyperCommand):
    """`score`'s arguments with only the command's own option names taken as options: any other argument
    starting with "-" is a text. Emoticons such as "-_-" and "-.-" are common in comments, and click took
    them for unknown options ("No such option: -_"), or a text such as "-hi" for `-h` plus more. The texts
    keep their order; `--json`, `--backend NAME`, `--backend=NAME`, `-h`/`--help` work anywhere, and after
    `--` everything is a text (`score -- --json` scores the text "--json")."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _options_then_texts(self, ctx, args))


def _options_then_texts(command, ctx, args: list[str]) -> list[str]:
    flags: set[str] = set()
    valued: set[str] = set()
    for param in command.get_params(ctx):
        if getattr(param, "param_type_name", None) != "option":
            continue
        names = [*param.opts, *param.secondary_opts]
        (flags if param.is_flag or param.count else valued).update(names)
    options: list[str] = []
    texts: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            texts.extend(rest)
            break
        if arg in flags:
            options.append(arg)
        elif arg in valued:
            options.append(arg)
            following = next(rest, None)  # the option's value, whatever it starts with
            if following is not None:
                options.append(following)
        elif arg.startswith("--") and arg.split("=", 1)[0] in valued:
            options.append(arg)
        else:
            texts.append(arg)
    # no text: let click say the argument is missing, as before
    return [*options, "--", *texts] if texts else options


def _argv_text(text: str) -> str:
    """A text from the command line as proper text: bytes that are not UTF-8 reach Python's argv as
    surrogate escapes, which went out raw (`score --json $'ab\\x80cd'` wrote the byte 0x80, an invalid UTF-8
    JSON line). They become U+FFFD, as in texts read from standard input."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = os.fsencode(text)  # the bytes the shell passed
    except UnicodeEncodeError:  # a lone surrogate that is no escape (not from a real argv)
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", errors="replace")


@app.command("score", cls=_DashTextsCommand)
def score_command(
    texts: Annotated[list[str], typer.Argument(help="要打分的文本；- 表示从标准输入逐行读取 / texts to score; - reads one per line from stdin")],
    as_json: Annotated[bool, typer.Option("--json", help="每行一个 JSON 对象 / one JSON object per line")] = False,
    backend: Annotated[str, typer.Option("--backend", help=_BACKEND_HELP, callback=_backend_name)] = "default",
    model: Annotated[Path | None, typer.Option("--model", help="模型文件 / model file (default backend)")] = None,
) -> None:
    """给文本打分：标签、分数 P(正面)、P(负面)、理由、风险词 / label, score P(pos), P(neg), reasons, risk flags.

    模型在 P(负面) ≥ 0.30 时就标 neg（不漏负面），所以 P(正面) 更高的文本也可能是 neg /
    the model says neg from P(neg) >= 0.30 on, so a text with a higher P(pos) can still be neg."""
    configured = model is None and backend == "default"
    if configured:
        model = _configured_model_path(backend)
        configured = model is not None
    scorer = _load_scorer(backend, model, configured=configured)
    if model is not None and not as_json:
        _model_note(model, configured)
    if texts == ["-"]:  # one comment per line from a pipe or a file: `crisisbot sentiment score - < comments.txt`
        texts = _piped_lines(sys.stdin.buffer.read())
    else:
        texts = [_argv_text(text) for text in texts]
    results, _ = _evaluate(scorer, texts, "打分 / scoring")
    if as_json:
        for text, result in zip(texts, results, strict=True):
            typer.echo(_json_line(_result_dict(text, result)))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if console.width < WIDE_TABLE_COLUMNS:  # six columns in a narrow terminal would cut each text to a word
        from bot.sentiment.explain import explain_lines

        for number, (text, result) in enumerate(zip(texts, results, strict=True)):
            typer.echo(("\n" if number else "") + "\n".join(explain_lines(text, result)))
        return
    table = Table("文本 / text", "标签 / label", "P(正面) / score", "P(负面) / neg", "理由 / reasons",
                  "风险 / risk flags")
    for text, result in zip(texts, results, strict=True):
        flags = ", ".join(f"{f.term}({f.category})" for f in result.risk_flags)
        neg = "—" if result.neg_score is None else f"{result.neg_score:.3f}"
        # Text, not markup: comments are full of "[doge]", "[/doge]" (a traceback) and "[b]", which rich took
        # for its own style tags (dropped from the text and the reasons, or a MarkupError)
        table.add_row(Text(text[:60]), result.label, f"{result.score:.3f}", neg, Text("; ".join(result.reasons)),
                      Text(flags))
    console.print(table)


def _piped_lines(data: bytes) -> list[str]:
    """One text per input line, blank lines included (scored as the empty text): a reader pairing output
    line N with input line N must not lose its place. The newline ending the last line opens no extra line."""
    text = _decode_piped(data)
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _decode_piped(data: bytes) -> str:
    """Piped comments, read as `crisisbot ingest` reads files: UTF-8 (with or without BOM), else GB18030,
    else UTF-8 with the damaged bytes replaced. Text with a UTF-16 or UTF-32 byte-order mark (PowerShell's
    `>` and Excel's "Unicode text" write UTF-16) is read in that encoding: it was scored as garbage, one
    text per half-character. Line ends: \\n, \\r\\n, and a bare \\r (old Mac files) alike."""
    import codecs

    from bot.feeds.files import decode_lines

    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                if encoding == "utf-32":  # FF FE 00 00 is also UTF-16 LE: a BOM, then U+0000
                    continue
                text = data.decode(encoding, errors="replace")
            break
    else:
        text = decode_lines(data).text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _evaluate(scorer, texts: list[str], label: str) -> tuple[list, float]:
    progress, description = _progress(len(texts), label)
    results = []
    elapsed = 0.0
    with progress:
        task = progress.add_task(description, total=len(texts))
        for start in range(0, len(texts), BATCH):
            chunk = texts[start : start + BATCH]
            began = time.perf_counter()
            results.extend(scorer.score_batch(chunk))
            elapsed += time.perf_counter() - began
            progress.advance(task, len(chunk))
    return results, elapsed


@app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="CSV: text,label (0/1、neg/neu/pos 或 -1/0/1)")],
    backend: Annotated[str, typer.Option("--backend", help=_BACKEND_HELP, callback=_backend_name)] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="最后一行输出 JSON / last line is one JSON object")] = False,
    predictions: Annotated[
        Path | None, typer.Option("--predictions", help="写出 text,label,pred,score，- 表示标准输出（多个 --model 时为最后一个模型的）/ "
                                           "write predictions CSV, - for standard output (with several --model, "
                                           "the last model's)")
    ] = None,
    models: Annotated[
        list[Path] | None,
        typer.Option("--model", help="模型文件，可重复以比较前后 / model file; repeat to compare before/after"),
    ] = None,
) -> None:
    """在带标签的 CSV 上评估 / evaluate on a labeled CSV (accuracy, macro-F1, neg precision/recall).

    标签 0/1（或只有 neg/pos）为二分类，neu 预测计为非负面；含 neu 为三分类，另报 neutral_as_negative /
    labels 0/1 (or neg/pos only) make a binary file, where a neu prediction counts as not negative; with neu
    rows it is 3-class and neutral_as_negative is reported too.

    --json：标准输出最后一行为一个 JSON 对象（n, accuracy, macro_f1, neg_precision, neg_recall, texts_per_s
    仅计打分时间）/ the last stdout line is one JSON object (texts_per_s: scoring time only)."""
    from bot.sentiment.metrics import compute_metrics, confusion

    if backend != "default" and models:
        _fail("--model 只用于 default 后端 / --model applies to the default backend only")
    model_list: list[Path | None] = list(models) if models else [_configured_model_path(backend)]
    configured = not models and model_list[0] is not None
    to_stdout = predictions is not None and str(predictions) == "-"
    if predictions is not None and not to_stdout:
        # the model files are inputs too: `--model m.npz --predictions m.npz` replaced the model with the CSV
        from bot.sentiment.model import default_model_path

        used = [m or default_model_path() for m in model_list] if backend == "default" else []
        _check_output_file(predictions, inputs=[file, *used], option="--predictions")
    data = _read_labeled(file)
    _warn_rejected(data)
    if configured and not as_json:
        _model_note(model_list[0], configured)
    runs = []
    for model_path in model_list:
        scorer = _load_scorer(backend, model_path, configured=configured)
        name = str(model_path) if model_path else scorer.name
        results, elapsed = _evaluate(scorer, data.texts, f"评估 / scoring ({name})")
        preds = [r.label for r in results]
        metrics = compute_metrics(data.labels, preds, three_class=data.three_class)
        metrics["texts_per_s"] = round(len(results) / elapsed, 1) if elapsed > 0 else 0.0
        runs.append((name, results, metrics))
    name, results, metrics = runs[-1]
    if to_stdout:  # `--predictions -`: the CSV on standard output (it wrote a file named "-"), the table on
        # standard error so that the CSV stays clean; with --json, its line still comes last
        _write_predictions(sys.stdout, data, results, lineterminator="\n")
        sys.stdout.flush()
    elif predictions is not None:
        try:
            predictions.parent.mkdir(parents=True, exist_ok=True)
            with predictions.open("w", encoding="utf-8", newline="") as fh:
                _write_predictions(fh, data, results)
        except OSError as exc:  # checked before scoring, so only a full disk or a race gets here
            _fail(f"无法写入 / cannot write {str(predictions)!r}: {exc.strerror or exc}")
    _print_eval_table(file, data, runs, stream=sys.stderr if to_stdout else sys.stdout)
    if as_json:
        payload = dict(metrics)
        payload["backend"] = backend
        payload["rejected"] = len(data.rejected)  # rows left out (unknown label), listed on stderr
        payload["confusion"] = confusion(data.labels, [r.label for r in results])  # gold -> predicted -> rows
        if len(runs) > 1:
            payload["models"] = [{"model": n, **m} for n, _, m in runs]
        typer.echo(_json_line(payload))


def _write_predictions(fh, data, results, *, lineterminator: str = "\r\n") -> None:
    """`text,label,pred,score`: one row per scored input row, in input order (label as written)."""
    import csv

    writer = csv.writer(fh, lineterminator=lineterminator)
    writer.writerow(["text", "label", "pred", "score"])
    for text, raw, result in zip(data.texts, data.raw_labels, results, strict=True):
        writer.writerow([text, raw, result.label, f"{result.score:.6f}"])


def _check_output_file(path: Path, *, inputs: list[Path], option: str) -> None:
    """Refuse, before any work, an output path that would overwrite an input file (the labeled data was
    silently replaced by the predictions) or that cannot be a file (a folder, or under a file): these used
    to end in a traceback after the whole file had been scored."""
    for source in inputs:
        try:
            same = path.exists() and source.exists() and path.samefile(source)
        except OSError:
            same = False
        if same:
            _fail(f"{option} 不能是输入文件本身，否则会覆盖它 / {option} must not be the input file {str(source)!r}: "
                  f"it would be overwritten")
    if path.is_dir():
        _fail(f"{option} 应为文件路径，{str(path)!r} 是目录 / {option} must be a file path; {str(path)!r} is a folder")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                _fail(f"无法在 {str(parent)!r} 下创建文件：它不是目录 / cannot create {str(path)!r}: "
                      f"{str(parent)!r} is not a folder")
            break


def _read_labeled(path: Path):
    """A labeled CSV, or exit 2 saying in Chinese first what is wrong with it (the reader's details are
    English: "/tmp: file not found" for a folder, "no rows", ...)."""
    from bot.sentiment.train import DataError, read_labeled_csv

    if path.is_dir():
        _fail(f"{path} 是目录，不是 CSV 文件 / {path} is a folder, not a CSV file")
    if not path.is_file():
        _fail(f"找不到文件 / file not found: {path}")
    try:
        return read_labeled_csv(path)
    except DataError as exc:
        _fail(f"无法使用带标签的文件（需要 text,label 两列的 CSV）/ cannot use the labeled file: {exc}")


def _warn_rejected(data, shown: int = 5) -> None:
    """How a labeled file was read, on stderr: its notes (no header row, bytes replaced), then the rows left
    out, the first few with line and reason, then the count."""
    for note in data.notes:  # Chinese first already
        typer.echo(note, err=True)
    if not data.rejected:
        return
    for row in data.rejected[:shown]:
        # the reason is Chinese first already ("标签 '2' 不是 … / label '2' is not …")
        typer.echo(f"警告：{data.path} 第 {row.line} 行已跳过 / warning: line {row.line} skipped：{row.reason}", err=True)
    if len(data.rejected) > shown:
        typer.echo(f"警告 / warning: {data.path}: 另有 {len(data.rejected) - shown} 行被跳过 / "
                   f"{len(data.rejected) - shown} more rows skipped", err=True)


def _column_names(runs) -> list[str]:
    """The table's name for each model. Several models are numbered and named by file name ("1 before.npz"),
    their full paths listed above the table: full paths as column headers were cut at the end in a narrow
    terminal, where "…/models/model-2026-1…" could head both columns of a before/after comparison."""
    names = [name for name, _, _ in runs]
    if len(runs) < 2:
        return names
    return [f"{number} {Path(name).name or name}" for number, name in enumerate(names, start=1)]


def _change(before, after) -> str:
    """After minus before, signed, to read which way a metric moved ("" when either is not a number)."""
    if not isinstance(before, int | float) or not isinstance(after, int | float):
        return ""
    delta = round(after - before, 4)
    return "0" if delta == 0 else f"{delta:+}"


def _print_eval_table(file: Path, data, runs, stream=None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    rows = len(data.texts)
    if data.three_class:
        title = f"{file.name}：{rows} 行，三分类 / {rows} rows, 3-class"
    else:
        title = f"{file.name}：{rows} 行，二分类（neu 计为非负面）/ {rows} rows, binary (neu counts as not-negative)"
    names = _column_names(runs)
    keys = ["accuracy", "macro_f1", "neg_precision", "neg_recall"]
    if data.three_class:
        keys.append("neutral_as_negative")
    keys.append("texts_per_s")
    compare = len(runs) >= 2
    rows_of_cells = []
    for key in keys:  # the JSON carries the exact values; the table, 4 decimals to read
        cells = [str(round(m[key], 4)) if isinstance(m.get(key), float) else str(m.get(key)) for _, _, m in runs]
        if compare:  # before/after: which way each metric moved, the last model against the first; the speed
            # of two runs differs by chance, so none is shown for it
            cells.append("" if key == "texts_per_s" else _change(runs[0][2].get(key), runs[-1][2].get(key)))
        rows_of_cells.append((key, cells))
    table = Table()
    table.add_column("指标 / metric", no_wrap=True, min_width=max(map(len, keys)))
    for column, name in enumerate(names):  # numbers are never cut; a long header folds
        # a model's path as Text: "[red]m.npz" was read as a style tag and shown as "m.npz"
        table.add_column(Text(name), overflow="fold", min_width=max(len(cells[column]) for _, cells in rows_of_cells))
    if compare:
        table.add_column(f"变化\nchange\n{len(runs)}−1", justify="right", no_wrap=True)
    for key, cells in rows_of_cells:
        table.add_row(key, *cells)
    console = Console(file=stream or sys.stdout)
    # one header line, not the table's title: a title wraps to the table's width, mid-phrase
    console.print(title, markup=False, highlight=False, soft_wrap=True)
    if compare:
        for column, (name, _, _) in zip(names, runs, strict=True):
            number = column.split(" ", 1)[0]
            console.print(f"模型 {number} / model {number}: {name}", markup=False, highlight=False, soft_wrap=True)
    console.print(table)
    console.print(_confusion_table(data, runs[-1], names[-1]))


def _confusion_table(data, run, name: str):
    """Where the errors are: gold rows x predicted columns for the last model (raw neg/neu/pos)."""
    from rich.table import Table
    from rich.text import Text

    from bot.sentiment.metrics import confusion

    _, results, _ = run
    counts = confusion(data.labels, [r.label for r in results])
    table = Table(title=Text(f"混淆矩阵 / confusion: {name}"))  # Text: a model path is no markup
    table.add_column("标注 gold ↓ / 预测 pred →")
    for label in ("neg", "neu", "pos"):
        table.add_column(label, justify="right")
    for gold, row in counts.items():
        table.add_row(gold, *[str(row[label]) for label in ("neg", "neu", "pos")])
    return table


def _corrections(database_url: str | None) -> tuple[list[tuple[str, str]], str]:
    """The chat corrections for `train --include-corrections` and the database they came from (redacted), or
    exit 2 naming the database: run outside the bot's folder this used to create an empty ./var/crisisbot.db
    and end in a "no such table" traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

    from bot.sentiment.corrections import load_corrections_for_training
    from bot.storage.db import redact_url

    if database_url is None:
        from bot.config import database_url as configured_url
        from bot.config import load_all

        settings, config, _ = load_all()
        database_url = configured_url(settings, config)
    try:
        url = make_url(database_url)
    except ArgumentError:
        url = None  # Database() below says what is wrong with it
    if (url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
            and not Path(url.database).is_file()):
        _fail(f"找不到机器人的数据库 {url.database}：请在运行机器人的目录里执行，或用 --database-url 指定 / "
              f"the bot's database {url.database} does not exist: run this where the bot runs, or give --database-url")
    try:
        return load_corrections_for_training(database_url), redact_url(database_url)
    except (OperationalError, ProgrammingError) as exc:
        if "sentiment_correction" not in str(exc):
            raise
        _fail(f"数据库 {redact_url(database_url)} 里没有更正记录（机器人没有在这个数据库上运行过）/ "
              f"no corrections table in {redact_url(database_url)}: the bot has not run on this database")
    raise AssertionError  # not reached: _fail exits


def _say_corrections(corrections: list[tuple[str, str]], labeled, database: str) -> None:
    """On stderr, before training: how many corrections go in, of which labels, with what weight, and which
    of them replace rows of the training files. It said only "corrections: 3"."""
    from collections import Counter

    from bot.sentiment.train import CORRECTION_WEIGHT

    if not corrections:
        typer.echo(f"更正 / corrections: 数据库 {database} 中没有更正，只用训练文件训练 / no corrections in {database}: "
                   "the model learns from the training files only", err=True)
        return
    # as training takes them: one row per text, the latest correction of it
    by_text = dict(corrections)
    counts = Counter(by_text.values())
    classes = "、".join(f"{label} {counts[label]}" for label in ("neg", "neu", "pos") if counts[label])
    weight = f"{CORRECTION_WEIGHT:g}"
    typer.echo(f"更正 / corrections: 加入 {len(by_text)} 条（{classes}；每条评论取最新一次更正），每条权重 {weight}"
               f"（训练文件一行为 1）/ {len(by_text)} added ({classes.replace('、', ', ')}; the latest correction of "
               f"each comment), weight {weight} each (a training-file row weighs 1); from {database}", err=True)
    if len(by_text) < len(corrections):
        merged = len(corrections) - len(by_text)
        typer.echo(f"  另有 {merged} 条与另一条更正过的评论文本相同，同一文本只用最新的一条更正 / {merged} more had the text "
                   "of another corrected comment: one row per text, with the latest correction", err=True)
    file_labels: dict[str, str] = {}
    for labeled_file in labeled:
        for text, label in zip(labeled_file.texts, labeled_file.labels, strict=True):
            file_labels.setdefault(text, label)  # training keeps a text's first row
    shared = [text for text in by_text if text in file_labels]
    if shared:
        differ = sum(1 for text in shared if file_labels[text] != by_text[text])
        typer.echo(f"  其中 {len(shared)} 条的文本也在训练文件中（{differ} 条标签不同），以更正为准 / {len(shared)} of them "
                   f"also appear in the training files ({differ} labelled differently there): the correction replaces "
                   "those rows", err=True)
    if counts["neu"] and not any(labeled_file.three_class for labeled_file in labeled):
        # the neutral heads learn from neg/neu/pos rows only: here, from the corrections alone, or not at all
        if len(by_text) == counts["neu"]:
            typer.echo(f"警告：训练文件都没有中性（neu）行，{counts['neu']} 条中性更正不会起作用，模型不会判出中性；请同时用一个 "
                       f"neg/neu/pos 三分类文件训练 / warning: the training files have no neutral rows, so the "
                       f"{counts['neu']} neutral corrections have no effect and the model calls nothing neutral; "
                       "train with a neg/neu/pos file too", err=True)
        else:
            typer.echo(f"警告：训练文件都没有中性（neu）行，中性判断只从这 {len(by_text)} 条更正学习，很不可靠；请同时用一个 "
                       f"neg/neu/pos 三分类文件训练 / warning: the training files have no neutral rows, so the "
                       f"model learns what is neutral from these {len(by_text)} corrections alone (unreliable); "
                       "train with a neg/neu/pos file too", err=True)


def _options_as_given(ctx: typer.Context) -> list[str]:
    """The command's options back as arguments, from its own parameter list (so a new option is passed on
    to the pinned child without being listed here)."""
    args: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or value is False or not param.opts:
            continue
        if getattr(param, "is_flag", False):
            args.append(param.opts[0])
            continue
        for item in value if getattr(param, "multiple", False) else [value]:
            args += [param.opts[0], str(item)]
    return args


#: fewer rows than this of a class make a model that has learnt the examples, not the class
FEW_ROWS_PER_CLASS = 50


def _warn_few_rows(labeled, corrections: list[tuple[str, str]]) -> None:
    """On stderr, before training: the classes with very few rows (a 7-row file trained without a word).
    Counted as training takes the rows (build_training_set: empty texts and repeats of a text left out): a
    file of two empty texts was said to have "neg 1, pos 1" rows, then refused for having fewer than two
    labels."""
    from collections import Counter

    from bot.sentiment.train import TrainOptions, build_training_set

    given = Counter(label for lf in labeled for label in lf.labels) + Counter(label for _, label in corrections)
    used = Counter(build_training_set(labeled, TrainOptions(), corrections).labels)
    few = {label: used[label] for label in sorted(given) if used[label] < FEW_ROWS_PER_CLASS}
    if few:
        listed = ", ".join(f"{label} {n}" for label, n in few.items())
        dropped = sum(given.values()) > sum(used.values())
        typer.echo(f"警告：训练数据很少（{listed} 行{'，空文本和重复文本不计' if dropped else ''}；每类建议至少 "
                   f"{FEW_ROWS_PER_CLASS} 行，通常需要上千行），模型会很不可靠 / warning: very little training data "
                   f"({listed} rows{', empty and repeated texts not counted' if dropped else ''}; at least "
                   f"{FEW_ROWS_PER_CLASS} per class, usually thousands, make a usable model)", err=True)


def _backup(path: Path) -> Path:
    """A copy of `path` beside it under a name no earlier backup has: `model.npz.bak` the first time, then
    `model.<UTC time>.npz.bak` (`-2`, `-3` … within the same second). An existing backup is never
    overwritten: the one of the real shipped model stays, whatever was trained after it (each run used to
    replace `model.npz.bak` with a copy of the model the run before had trained)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    candidates = [path.with_name(path.name + ".bak")]
    candidates += [path.with_name(f"{path.stem}.{stamp}{'' if n == 1 else f'-{n}'}{path.suffix}.bak")
                   for n in range(1, 1000)]
    for candidate in candidates:
        try:
            target = candidate.open("xb")  # "x": never over another file
        except FileExistsError:
            continue
        except OSError as exc:
            _fail(f"无法备份原模型，未替换 / cannot back up the old model, not replaced: {candidate}: "
                  f"{exc.strerror or exc}")
        try:
            with target, path.open("rb") as source:
                shutil.copyfileobj(source, target)
            shutil.copystat(path, candidate)
        except OSError as exc:  # a full disk: no half copy left looking like a backup
            candidate.unlink(missing_ok=True)
            _fail(f"无法备份原模型，未替换 / cannot back up the old model, not replaced: {candidate}: "
                  f"{exc.strerror or exc}")
        return candidate
    _fail(f"{path} 旁的备份太多，请先清理 / too many backups beside {path}: remove some first")
    raise AssertionError  # not reached: _fail exits


@app.command(
    "train",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": False},
)
def train_command(
    ctx: typer.Context,
    data: Annotated[list[Path], typer.Option("--data", help="带标签的 CSV（可多个）/ labeled CSV files")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="模型输出路径；省略时训练成功后替换内置模型（旧文件另存为 .bak，不覆盖已有备份）/ output model "
                      "path; without it the shipped model is replaced once training succeeds (the old file kept "
                      "as a .bak, never over an earlier backup)")] = None,
    include_corrections: Annotated[
        bool, typer.Option("--include-corrections", help=(
            "加入聊天中的更正（/sentiment fix）：每条评论取最新一次更正，每条权重 5，训练文件中同一文本的行以更正为准 / "
            "add the corrections made in chat (/sentiment fix): the latest per comment, weight 5 each, replacing "
            "a training-file row with the same text"))
    ] = False,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help=(
            "更正所在的数据库（默认：机器人配置的数据库）；需与 --include-corrections 同用 / the database holding the "
            "corrections (default: the bot's configured one); with --include-corrections"))
    ] = None,
) -> None:
    """训练默认模型（确定性）/ train the default model (deterministic).

    需要训练依赖 scikit-learn 与 scipy（make install 已安装）/ needs the training dependencies scikit-learn and
    scipy (make install installs them).

    同样的命令在任何 x86-64 机器上得到逐字节相同的模型文件（单线程、固定 CPU 指令集，在子进程中训练）/
    the same command gives a byte-identical model file on any x86-64 machine (one thread and fixed CPU
    kernels, trained in a child process)."""
    files = list(data) + [Path(extra) for extra in ctx.args]
    if database_url is not None and not include_corrections:
        # the corrections the person named a database for would silently be left out of a long training
        _fail("--database-url 只与 --include-corrections 一起使用（它指定更正所在的数据库）/ --database-url goes with "
              "--include-corrections (it names the database holding the corrections)")
    if out is not None:  # before the (long) training, not when the model is saved
        _check_output_file(out, inputs=files, option="--out")
    from bot.sentiment import reproducible

    if not reproducible.in_pinned_process():
        args = ["sentiment", "train", *_options_as_given(ctx), *[arg for f in ctx.args for arg in ("--data", f)]]
        raise typer.Exit(reproducible.run_pinned("bot.cli", args))
    try:
        import sklearn  # noqa: F401
    except ImportError:
        _fail("训练需要 scikit-learn：pip install 'crisisbot[train]' / training needs the train extra")
    from bot.sentiment.model import default_model_path
    from bot.sentiment.train import DataError, train_model

    labeled = [_read_labeled(f) for f in files]
    for labeled_file in labeled:
        _warn_rejected(labeled_file)
    corrections: list[tuple[str, str]] = []
    if include_corrections:
        corrections, database = _corrections(database_url)
        _say_corrections(corrections, labeled, database)
    _warn_few_rows(labeled, corrections)
    replacing = out is None
    if replacing:
        # the shipped model, which serve and every command load: said before it happens; the file it replaces
        # is kept beside it once the new one is trained (a 7-row file trained by mistake must not cost the
        # real model)
        out = default_model_path()
        typer.echo(f"未指定 --out：训练成功后将替换内置模型 {out}（原文件另存备份）/ no --out: the shipped model {out} "
                   f"will be replaced once training succeeds (the old one kept as a backup)", err=True)
    command = "crisisbot sentiment train --data " + " ".join(f.name for f in files)
    if include_corrections:
        command += " --include-corrections"
    total = sum(len(lf.texts) for lf in labeled) + len(corrections)
    progress, description = _progress(total, "特征 / featurising")
    with progress:
        task = progress.add_task(description, total=total)
        try:
            model = train_model(labeled, corrections=corrections, command=command,
                                progress=lambda n: progress.advance(task, n))
        except DataError as exc:  # one label only, no neg or no pos: a traceback before
            _fail(f"无法用这些数据训练 / cannot train on this data: {exc}")
    if replacing and out.exists():
        backup = _backup(out)
        typer.echo(f"被替换的模型已备份为 / the replaced model is kept as: {backup}", err=True)
    try:
        model.save(out)
    except OSError as exc:  # checked before training, so only a full disk or a race gets here
        _fail(f"无法写入 / cannot write {str(out)!r}: {exc.strerror or exc}")
    size = out.stat().st_size / 1e6
    typer.echo(f"已保存 / saved {out} ({size:.1f} MB, {model.meta['training']['rows']} rows)")


if __name__ == "__main__":  # pragma: no cover
    app()
