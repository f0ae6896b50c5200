"""The refusal when a permission names roles with nobody in them reads cleanly (it showed
"（（未配置成员 / nobody configured））"). config check refuses such a config now; a config that skipped the
check (built in code) still gets a plain answer."""

from __future__ import annotations

import copy

from bot.config import AppConfig
from tests.conftest import TEST_CONFIG
from tests.integration.playbooks.helpers import CrisisDriver


def test_a_start_permission_with_nobody_in_its_roles_says_so_plainly(db, settings, clock):
    from bot.app import build_app

    data = copy.deepcopy(TEST_CONFIG)
    data.update({"roles": {}, "playbooks": {"permissions": {"start": ["commander"]}}})
    bot = build_app(settings, AppConfig.model_validate(data), clock=clock, db=db, upgrade=False)
    try:
        (reply,) = CrisisDriver(bot).run("/crisis start rumor 网传停产")
    finally:
        bot.stop()
    assert "没有权限" in reply.text and "commander" in reply.text and reply.ephemeral
    assert "未配置成员" in reply.text and "nobody configured" in reply.text
    assert "（（" not in reply.text and "））" not in reply.text, reply.text
