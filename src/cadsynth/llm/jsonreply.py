"""Pull a JSON object out of a model's reply and validate it against a pydantic schema, with a reason on failure.

Tolerates code fences, text around the object and ``<think>`` blocks. Every object in the reply is a candidate,
in order: whole reply, fenced blocks, then each ``{`` that starts a decodable object; the first that validates wins.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cadsynth.llm.messages import Message

M = TypeVar("M", bound=BaseModel)

_THINK = re.compile(r"<think>.*?</think>", re.S)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)


def json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects in ``text``, in the order of preference above (duplicates kept once)."""
    text = _THINK.sub("", text).strip()
    found: list[dict[str, Any]] = []

    def add(value: Any) -> None:
        if isinstance(value, dict) and value not in found:
            found.append(value)

    for chunk in (text, *_FENCE.findall(text)):
        try:
            add(json.loads(chunk))
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            end = start + 1
        else:
            add(value)
        start = text.find("{", end)
    return found


def _first_decode_error(text: str) -> str:
    start = text.find("{")
    if start < 0:
        return "no JSON object in the reply"
    try:
        json.JSONDecoder().raw_decode(text, start)
    except ValueError as error:
        return str(error)
    return "no JSON object in the reply"


def schema_error(error: ValidationError) -> str:
    issues = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        issues.append(f"field {where}: {item['msg']}" if where else item["msg"])
    return "schema: " + "; ".join(issues)


def parse_reply(
    text: str, schema: type[M], finish_reason: str | None = None
) -> tuple[M | None, str | None]:
    """(value, None) for the first candidate that validates, else (None, reason)."""
    candidates = json_objects(text)
    if not candidates:
        reason = _first_decode_error(_THINK.sub("", text))
        cut = " (the reply was cut at max_tokens)" if finish_reason == "length" else ""
        return None, f"invalid_json: {reason}{cut}"
    first_error = None
    for candidate in candidates:
        try:
            return schema.model_validate(candidate), None
        except ValidationError as error:
            first_error = first_error or schema_error(error)
    return None, first_error


def schema_instruction(schema: type[BaseModel]) -> str:
    return (
        "Reply with one JSON object and nothing else. It must match this JSON schema:\n"
        + json.dumps(schema.model_json_schema(), separators=(",", ":"))
    )


def with_instruction(messages: list[Message], instruction: str) -> list[Message]:
    """The messages with ``instruction`` appended to a leading text system message, or in a new one."""
    if messages and messages[0]["role"] == "system" and isinstance(messages[0]["content"], str):
        head = {**messages[0], "content": messages[0]["content"] + "\n\n" + instruction}
        return [head, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]


def repair_request(error: str) -> str:
    return f"That reply could not be used ({error}). Reply with only the corrected JSON object."
