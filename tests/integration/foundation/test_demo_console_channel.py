"""`make run`: the console prompt opens where the demo's crisis alert is posted, so the `/press …` shown
under it works as typed (it opened in #general, where the alert's buttons answer "not allowed")."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.app import build_app
from bot.config import parse_config
from bot.serve import console_start_channel, load_sample_feed

SHIPPED_CONFIG = Path(__file__).resolve().parents[3] / "config" / "crisisbot.yaml"


def test_the_demo_prompt_opens_in_the_channel_of_the_sample_crisis(db, settings, clock):
    config = parse_config(yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8")), source="shipped")
    app = build_app(settings, config, clock=clock, db=db, upgrade=False)
    try:
        assert console_start_channel(app, load_sample_feed()) == "console:lanji"
        assert console_start_channel(app, []) == "general"  # no demo: the usual start
    finally:
        app.stop()


def test_without_a_config_the_demo_prompt_opens_in_the_default_channel(db, settings, clock):
    app = build_app(settings, parse_config({}, source="none"), clock=clock, db=db, upgrade=False)
    try:
        assert console_start_channel(app, load_sample_feed()) == "console:general"
    finally:
        app.stop()
