"""Bundled demo data: the sample comment feed replayed by `crisisbot serve --demo`."""

#: when the sample feed's crisis begins (its first complaint; CRISIS_START in scripts/make_sample_feed.py):
#: what the demo's "the alert appears in about …" line counts to
SAMPLE_CRISIS_STARTS = "2026-11-22T20:06:13+08:00"
