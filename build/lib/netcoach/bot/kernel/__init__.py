"""The contract between the core and the adapters; it imports nothing else of netcoach.

Neutral types and markup, commands with typed params, the Feature base class, the router
(Coach), the Platform an adapter hands each request, and the errors that cross the line.
"""

from .commands import Action, Command, Completer, Grammar, Handler, Param, ParamKind, choices
from .errors import DeliveryError, UserError
from .feature import Feature
from .markup import Markup, Segment, bold, code, italic, mark, plain, split_markup, split_text
from .platform import ALONE, OFFLINE, Adapter, Alone, Offline, Platform, Where, Workers
from .router import Coach
from .types import (
    Attachment,
    Button,
    ParamValue,
    PlaceKind,
    PlaceRef,
    Receipt,
    Reply,
    Request,
    UserRef,
    answer_privately,
)

__all__ = [
    "ALONE",
    "OFFLINE",
    "Action",
    "Adapter",
    "Alone",
    "Attachment",
    "Button",
    "Coach",
    "Command",
    "Completer",
    "DeliveryError",
    "Feature",
    "Grammar",
    "Handler",
    "Markup",
    "Offline",
    "Param",
    "ParamKind",
    "ParamValue",
    "PlaceKind",
    "PlaceRef",
    "Platform",
    "Receipt",
    "Reply",
    "Request",
    "Segment",
    "UserError",
    "UserRef",
    "Where",
    "Workers",
    "answer_privately",
    "bold",
    "choices",
    "code",
    "italic",
    "mark",
    "plain",
    "split_markup",
    "split_text",
]
