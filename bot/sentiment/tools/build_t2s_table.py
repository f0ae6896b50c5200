"""Regenerate `bot/sentiment/data/t2s_chars.txt`, the character-level traditional -> simplified table.

Why a table and not a runtime converter: scoring only needs character folding (str.translate in C is
far faster than any phrase-level converter, and it adds no dependency). The table is derived from
OpenCC's own `t2s` conversion (https://github.com/BYVoid/OpenCC, Apache-2.0) by converting every CJK
code point one at a time. Run with the `opencc` package installed:

    python -m bot.sentiment.tools.build_t2s_table
"""

from __future__ import annotations

from pathlib import Path

CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF))
OUT = Path(__file__).resolve().parent.parent / "data" / "t2s_chars.txt"


def main() -> None:
    import opencc

    converter = opencc.OpenCC("t2s")
    pairs = []
    for start, end in CJK_RANGES:
        for code in range(start, end + 1):
            char = chr(code)
            simplified = converter.convert(char)
            if simplified != char and len(simplified) == 1:
                pairs.append(f"{char}\t{simplified}")
    header = f"# traditional<TAB>simplified, generated from OpenCC {getattr(opencc, '__version__', '?')} t2s (Apache-2.0)\n"
    OUT.write_text(header + "\n".join(pairs) + "\n", encoding="utf-8")
    print(f"wrote {len(pairs)} pairs to {OUT}")


if __name__ == "__main__":
    main()
