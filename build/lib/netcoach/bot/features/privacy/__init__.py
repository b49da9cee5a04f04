"""/mydata and /forget: everything stored about a person, found from the schema itself."""

from .feature import Privacy
from .repository import NOT_PERSONAL, PERSONAL_COLUMN, PrivacyRepository

__all__ = ["NOT_PERSONAL", "PERSONAL_COLUMN", "Privacy", "PrivacyRepository"]
