"""What every REST route handler deals in: the call it is given (:class:`_Call`), the result
it returns (:class:`_Result`), the Discord-shaped errors it raises (:class:`_ApiError`,
:func:`_field_error`), and route templates (:class:`_Route`); plus the compact JSON encoding
the gateway uses too."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.e2e.standin.constants import Json, JsonDict
from tests.e2e.standin.records import RecordedFile


def _dumps(payload: Json) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _truthy_query(value: str | None) -> bool:
    return value is not None and value.lower() in {"1", "true"}


@dataclass
class _Result:
    status: int
    body: Json = None
    headers: dict[str, str] = field(default_factory=dict)


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: JsonDict | None = None):
        super().__init__(f"{status} {code} {message}")
        body: JsonDict = {"message": message, "code": code}
        if errors is not None:
            body["errors"] = errors
        self.result = _Result(status, body)

    @classmethod
    def of(cls, error: tuple[int, int, str]) -> _ApiError:
        return cls(*error)

    @classmethod
    def form(cls, errors: JsonDict) -> _ApiError:
        return cls(400, 50035, "Invalid Form Body", errors)


def _field_error(code: str, message: str) -> JsonDict:
    return {"_errors": [{"code": code, "message": message}]}


@dataclass
class _Call:
    method: str
    path: str
    route: str
    params: dict[str, str]
    query: dict[str, str]
    json: Json
    files: tuple[RecordedFile, ...]
    authorization: str | None


_Handler = Callable[[_Call], Awaitable[_Result]]


@dataclass
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: _Handler
    requires_auth: bool

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


def _compile_template(template: str) -> re.Pattern[str]:
    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "message_id":
            return rf"(?P<{name}>\d+|@original)"
        if name.endswith("_id"):
            return rf"(?P<{name}>\d+)"
        return rf"(?P<{name}>[^/]+)"

    return re.compile(
        re.sub(r"\{(\w+)\}", group, re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
    )
