"""What an outside acceptance run of the quick start and the CLI found, each as the user met it:

- a compressed export (`feed.jsonl.gz`) was read as a CSV and refused for a header of binary garbage;
- `ingest --dead-letters` printed a rejected record's control characters raw: an ESC sequence in a record
  drove the terminal of whoever listed it, a CR overwrote the line;
- a JSON file wrapping its comments in an object (`{"comments": [...]}`, an API response saved as it came)
  was refused for the six fields it lacks as a comment; the webhook says how to send the list, now so does
  `ingest`;
- `ingest --help` named JSONL and CSV only, though a JSON array file is read too;
- `secrets rotate` without a key had a half-width comma inside its Chinese;
- `serve --console` fed from a pipe answered `quit` with "已退出" and went on serving (on a terminal quit
  stops it; the banner says "quit 退出").
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from tests.e2e.test_cli_ingest_bad_files import env, ingest, row, squashed, stored  # noqa: F401 - env: fixture
from tests.e2e.test_serve_real_setup import environment


@pytest.mark.parametrize("pack, name", [(gzip.compress, "gzip"), (bz2.compress, "bzip2"), (lzma.compress, "xz")])
def test_a_compressed_export_says_to_decompress_it_and_stores_nothing(env, tmp_path, pack, name):  # noqa: F811
    path = tmp_path / "feed.jsonl.gz"
    path.write_bytes(pack((json.dumps(row("c1"), ensure_ascii=False) + "\n").encode()))
    code, out = ingest(env, path)
    assert code == 2, out
    assert f"这是{name}压缩文件，请先解压" in squashed(out) and f"thisfileiscompressed({name})" in squashed(out), out
    assert "CSV" not in out  # it was "CSV 表头缺少必需列 … columns found: \x1f\x8b…"
    assert not (tmp_path / "bot.db").exists()


def test_a_file_wrapping_its_comments_in_an_object_says_how_to_give_the_list(env, tmp_path):  # noqa: F811
    wrapped = tmp_path / "api-response.json"
    wrapped.write_text(json.dumps({"comments": [row("c1"), row("c2")], "cursor": 2}, ensure_ascii=False, indent=2),
                       encoding="utf-8")
    lines = tmp_path / "mixed.jsonl"
    lines.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in
                               (row("c3"), {"data": [row("c4")]}, row("c5", tags=["a"]))) + "\n", encoding="utf-8")
    code, out = ingest(env, wrapped, lines)
    assert code == 0, out
    text = squashed(out)
    assert (f"{wrapped}:1:platform,account_id,content_id,comment_id,text,created_at:缺少必填字段/missingrequiredfields;"
            "这是一个对象，评论列表在其'comments'字段中：请每行写一条评论（JSONL），或让整个文件是一个JSON数组" in text), out
    assert "thisisoneobjectwiththecommentsinits'comments'field:writeonecommentaline(JSONL)" in text, out
    assert f"{lines}:2:platform,account_id,content_id,comment_id,text,created_at:缺少必填字段" in text, out
    assert "评论列表在其'data'字段中" in text, out
    comments, reasons = stored(env)
    assert comments == ["c3", "c5"]  # a comment carrying a list of its own is still that comment
    assert len(reasons) == 2 and all("; 这是一个对象，评论列表在其" in r for r in reasons)


class _Terminal(io.StringIO):
    """Standard output as a terminal (the listing draws a table there)."""

    def isatty(self) -> bool:
        return True


def test_dead_letters_show_control_characters_as_escapes_on_a_pipe_and_a_terminal(env, tmp_path,  # noqa: F811
                                                                                     monkeypatch):
    hostile = "\x1b]0;pwned\x07\x1b[2J\rnot json\u202e"
    (tmp_path / "feed.jsonl").write_text(json.dumps(row("ok"), ensure_ascii=False) + "\n" + hostile + "\n",
                                         encoding="utf-8")
    assert ingest(env, tmp_path / "feed.jsonl")[0] == 0
    assert stored(env)[0] == ["ok"]

    piped = CliRunner().invoke(cli, ["ingest", "--dead-letters"], env=env)
    assert piped.exit_code == 0, piped.output
    assert r"原文 raw: \x1b]0;pwned\x07\x1b[2J\rnot json\u202e" in piped.output, piped.output
    assert not any(ch in piped.output for ch in "\x1b\x07\r\u202e")

    from bot.config import load_all
    from bot.importer import show_dead_letters

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "400")  # each cell on one line
    settings, config, _ = load_all()
    terminal = _Terminal()
    assert show_dead_letters(settings, config, out=terminal) == 0
    table = terminal.getvalue()
    assert r"\x1b]0;pwned\x07\x1b[2J\rnot json\u202e" in table, table
    assert not any(ch in table for ch in "\x07\r\u202e")
    assert "\x1b]0;" not in table and "\x1b[2J" not in table  # rich's own colours may use ESC; the record's may not

    as_json = CliRunner().invoke(cli, ["ingest", "--dead-letters", "--json"], env=env)
    assert json.loads(as_json.output)[0]["raw"] == hostile  # the JSON keeps the record exactly


def test_ingest_help_names_json_array_files():
    out = squashed(CliRunner().invoke(cli, ["ingest", "--help"], env={"COLUMNS": "200"}).output)
    assert "JSONL、JSON数组或CSV文件" in out and "JSONL,JSONarrayorCSVfiles" in out, out
    assert "(JSONL,JSONarray,CSV)" in out, out


def test_secrets_rotate_without_a_key_reads_as_chinese(env, monkeypatch):  # noqa: F811
    monkeypatch.delenv("CRISISBOT_SECRET_KEY", raising=False)
    result = CliRunner().invoke(cli, ["secrets", "rotate"], env=env)
    assert result.exit_code == 2
    assert "未设置 CRISISBOT_SECRET_KEY，无法加密 / " in result.output, result.output


def test_quit_in_a_piped_console_stops_serve(tmp_path):
    """Before, serve went on after the quit, printing and serving until killed (this run hit its timeout)."""
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--console", "--port", "0"], cwd=tmp_path,
        env=environment(CRISISBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}"), input="/help\nquit\n/help\n",
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "已退出：输入中 quit 之后的 1 行未执行" in result.stdout
    assert result.stdout.rstrip().endswith("crisisbot 已停止 / stopped"), result.stdout
    assert result.stdout.count("crisisbot 命令 / Commands") == 1  # the line after quit did not run
