"""Two installs of one Feishu app (two databases) never share a message `uuid`: Feishu keeps one message
per uuid for an hour per app, and the outbox keys ("crisis:1:card") repeat in every new database."""

from __future__ import annotations

import pytest

from bot.adapters.feishu.port import feishu_uuid
from bot.app import build_app
from bot.messages import Message
from bot.storage.db import Database
from tests.fakes.feishu_api import FakeFeishuApi
from tests.integration.feishu.support import feishu_settings


@pytest.fixture
def fake():
    with FakeFeishuApi() as api:
        yield api


@pytest.fixture
def second_db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'second.db'}")
    database.upgrade()
    yield database
    database.dispose()


def test_each_database_has_its_own_stable_install_id(db, second_db):
    assert db.install_id() == db.install_id()
    assert len(db.install_id()) == 32
    assert db.install_id() != second_db.install_id()


def test_the_same_outbox_key_from_two_installs_makes_two_cards(db, second_db, app_config, clock, fake):
    settings = feishu_settings(fake)  # one app, two databases: a staging copy beside production
    for database, title in ((db, "生产"), (second_db, "预发")):
        app = build_app(settings, app_config, clock=clock, db=database, upgrade=False)
        try:
            app.services.outbox.send(channel="feishu:oc_team", message=Message(title=title, text=title),
                                     key="crisis:1:card")
            app.services.outbox.drain()
        finally:
            app.stop()
    sent = fake.sent()
    assert len(sent) == 2, "the second install's card was swallowed as a duplicate of the first"
    assert {m.chat_id for m in sent} == {"oc_team"}
    assert len({m.uuid for m in sent}) == 2


def test_salted_uuids_fit_feishu_and_stay_stable_across_retries():
    assert feishu_uuid("crisis:1:card", "a" * 32) == feishu_uuid("crisis:1:card", "a" * 32)
    assert feishu_uuid("crisis:1:card", "a" * 32) != feishu_uuid("crisis:1:card", "b" * 32)
    assert len(feishu_uuid("x" * 300, "a" * 32)) <= 50


def test_a_missing_install_row_is_made_once_and_read_back(db):
    from sqlalchemy import delete

    from bot.storage.models import InstallIdentity

    with db.session() as session:
        session.execute(delete(InstallIdentity))
    made = db.install_id()
    assert len(made) == 32 and db.install_id() == made
