"""`/watch remove` takes a term as it was added: a Weibo-style hashtag term (#澜肌翻车#) lost its leading
"#" (read as "watch number …") and could never be removed by its text; "#3" still removes watch 3."""

from __future__ import annotations


def test_a_hashtag_term_is_removed_by_its_own_text(bot, run_command):
    run_command("/watch add #澜肌翻车#")
    assert "#澜肌翻车#" in run_command("/watch list")[0].text
    assert "已取消 1 项" in run_command("/watch remove #澜肌翻车#")[0].text
    assert "暂无" in run_command("/watch list")[0].text


def test_a_watch_number_with_or_without_its_hash_still_removes_it(bot, run_command):
    for line in ("/watch remove #{}", "/watch remove {}", "/watch remove ＃{}"):
        added = run_command("/watch add 过敏")[0].text
        number = added.split("编号 #", 1)[1].split("。", 1)[0]
        assert "已取消 1 项" in run_command(line.format(number))[0].text
        assert "暂无" in run_command("/watch list")[0].text
