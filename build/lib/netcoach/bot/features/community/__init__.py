"""Communities: scheduled tips in a channel, private coaching of intro posts, tips on demand."""

from .feature import Community, CommunitySettings
from .model import Community as CommunityRow
from .repository import CommunityRepository
from .tips import next_slot

__all__ = ["Community", "CommunityRepository", "CommunityRow", "CommunitySettings", "next_slot"]
