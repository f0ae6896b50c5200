"""crisisbot: community and crisis operations for Chinese short-video and social accounts."""

__version__ = "0.1.0"
