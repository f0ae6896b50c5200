"""`/crisis start ... --var`: every value reaches the response statements, and a misspelt name is refused."""

from __future__ import annotations

from tests.integration.playbooks.helpers import CrisisDriver, flatten


def test_repeated_var_options_all_fill_the_templates(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start product-complaint 面霜过敏 --var brand=澜肌 --var product=修护面霜，contact_channel=抖音私信")
    variables = d.service.get(1).variables
    assert variables == {"brand": "澜肌", "product": "修护面霜", "contact_channel": "抖音私信"}
    text = "\n".join(flatten(m) for m in d.run("/crisis next"))
    assert "我是澜肌的客服" in text and "修护面霜问题" in text


def test_an_unknown_variable_is_refused_with_the_known_ones(bot):
    d = CrisisDriver(bot)
    (reply,) = d.run("/crisis start product-complaint 面霜过敏 --var brnd=澜肌")
    assert "brnd" in reply.text and "brand" in reply.text
    assert d.service.active_runs("console:lanji") == []


def test_the_brand_defaults_to_the_accounts_name(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start product-complaint 面霜过敏 --account douyin:lanji_official")
    text = "\n".join(flatten(m) for m in d.run("/crisis next"))
    assert "我是澜肌官方旗舰店的客服" in text and "我是我们的客服" not in text
    d.run("/crisis cancel 演练")
    d.run("/crisis start product-complaint 面霜过敏 --account douyin:lanji_official --var brand=澜肌")
    assert d.service.get(2).variables["brand"] == "澜肌"


def test_every_shipped_statement_passes_the_precheck(bot):
    """A response statement from a shipped playbook must be publishable through the reply queue as it is."""
    for playbook in bot.services.playbooks.playbooks.playbooks:
        for step in playbook.steps:
            for template in step.templates:
                result = bot.services.replies.precheck(template.text)
                assert not result.blocked, (playbook.id, step.id, [f.term for f in result.blocking])


def test_skip_and_cancel_answers_say_it_in_english_too(bot):
    d = CrisisDriver(bot)
    d.run("/crisis start rumor 网传停产")
    assert "skipped" in flatten(d.run("/crisis skip capture 已有截图")[0])
    assert "skipped" in flatten(d.press("crisis.skip", "1:spread", form={"reason": "未扩散"})[0])
    assert "done" in flatten(d.press("crisis.done", "1:holding")[0])
    assert "cancelled" in flatten(d.run("/crisis cancel 误报")[0])


def test_an_account_option_without_an_account_is_refused(bot):
    d = CrisisDriver(bot)
    (reply,) = d.run("/crisis start rumor 网传停产 --account")
    assert "--account" in reply.text and d.service.active_runs("console:lanji") == []
