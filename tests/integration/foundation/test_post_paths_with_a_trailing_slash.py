"""A request URL pasted with a trailing slash: Slack and Feishu do not follow the 307 redirect Starlette
answered with, so an endpoint saved as ".../slack/events/" never reached the bot (and nothing was logged).
Each POST endpoint now answers at both spellings; the answer is the endpoint's own."""

from __future__ import annotations

import httpx

from tests.integration.foundation.test_webhook import record

AUTH = {"Authorization": "Bearer test-ingest-token"}


def test_the_comment_webhook_answers_with_a_trailing_slash(base_url):
    response = httpx.post(f"{base_url}/api/v1/comments/", json=[record("s1")], headers=AUTH, follow_redirects=False)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    forged = httpx.post(f"{base_url}/api/v1/comments/", json=[record("s2")], follow_redirects=False)
    assert forged.status_code == 401  # the endpoint's own refusal, not a redirect around it


def test_other_methods_and_unknown_paths_are_unchanged(base_url):
    assert httpx.get(f"{base_url}/healthz", follow_redirects=False).status_code == 200
    assert httpx.get(f"{base_url}/api/v1/comments/", follow_redirects=False).status_code == 405
    assert httpx.post(f"{base_url}/api/v1/nothing/", json=[], headers=AUTH, follow_redirects=False).status_code == 404
