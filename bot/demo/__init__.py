"""Bundled demo data: the sample comment feed replayed by `crisisbot serve --demo`."""
