"""Opt-in profiles and shared bonds: what two people have in common, rarest first."""

from .feature import Profiles
from .repository import ProfileRepository
from .tags import Tags

__all__ = ["ProfileRepository", "Profiles", "Tags"]
