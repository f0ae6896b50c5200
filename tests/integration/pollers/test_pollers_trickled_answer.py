"""An answer trickled a few bytes at a time, each within the source's `timeout`, is a timeout once it is
still arriving well past that timeout: the read timeout alone let a poll (and the source's lease) run for as
long as the server liked, the source looking healthy all the while."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler

from tests.fakes.loopback import LoopbackHttpServer

PAGE = json.dumps({"items": [], "has_more": False}).encode() + b" " * 40  # 72 bytes


class TrickleServer(LoopbackHttpServer):
    """Answers /export with an empty page, one byte every `pause` seconds."""

    def __init__(self, pause: float) -> None:
        self.pause = pause

    def start(self) -> TrickleServer:
        pause = self.pause

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                try:
                    for byte in PAGE:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(pause)
                except OSError:
                    pass  # the poller hung up: what it should do

        self._serve(Handler, poll_interval=0.05)
        return self


def _source(url: str) -> dict:
    return {"id": "slow", "type": "generic_json", "account": {"platform": "kuaishou", "account_id": "ks_brand"},
            "targets": "recent", "base_url": url, "timeout": 0.25,
            "settings": {"path": "/export", "list_path": "items", "fields": {"id": "cid", "text": "body", "time": "ts"}}}


def test_an_answer_still_arriving_long_past_the_timeout_is_a_timeout(make_bot):
    # each byte 0.05 s after the last, well within the 0.25 s timeout of a read: the whole answer takes over
    # 3 s, past ANSWER_TIME_FACTOR (4) times the timeout
    with TrickleServer(pause=0.05) as server:
        outcome = make_bot(lambda sources: sources.append(_source(server.url))).services.sources.poll("slow")
    assert outcome.status == "failed", outcome
    assert outcome.reason.startswith("transient: timeout") and "still arriving after 1 s" in outcome.reason
