"""Fixtures shared by integration tests of several features."""

from __future__ import annotations

import pytest

from bot.feeds.ingest import IngestService


@pytest.fixture
def batches(monkeypatch) -> list[list[str]]:
    """The positions of each batch the import hands to the ingestion service (a spy: the real service runs)."""
    seen: list[list[str]] = []
    real = IngestService.ingest_records

    def spy(self, records, *, source, positions=None, rejections=()):
        seen.append(list(positions or []))
        return real(self, records, source=source, positions=positions, rejections=rejections)

    monkeypatch.setattr(IngestService, "ingest_records", spy)
    return seen
