"""Schema-validated JSON: extraction from messy replies, one repair, then a recorded failure."""

import asyncio

import pytest
from pydantic import BaseModel
from scripted_server import ScriptedServer, chat_completion, text_completion

from cadsynth.llm import system
from cadsynth.llm.jsonreply import json_objects, parse_reply

CHAT = "/v1/chat/completions"


class Answer(BaseModel):
    answer: int
    reason: str


@pytest.mark.parametrize(
    "text",
    [
        '{"answer": 3, "reason": "r"}',
        'Sure!\n```json\n{"answer": 3, "reason": "r"}\n```\nAnything else?',
        '```\n{"answer": 3, "reason": "r"}\n```',
        'The result is {"answer": 3, "reason": "r"} as asked.',
        '<think>maybe {"answer": 2}</think>{"answer": 3, "reason": "r"}',
        '{"draft": {"answer": 1}} then {"answer": 3, "reason": "r"}',
    ],
)
def test_extraction_tolerates_fences_and_text(text):
    value, error = parse_reply(text, Answer)
    assert error is None and value == Answer(answer=3, reason="r")


def test_extraction_failures_have_reasons():
    assert json_objects('a {"x": {"y": 1}} b {"z": 2}') == [{"x": {"y": 1}}, {"z": 2}]  # top-level objects only
    assert parse_reply("no json here", Answer) == (None, "invalid_json: no JSON object in the reply")
    value, error = parse_reply('{"answer": 3, "reason": ', Answer, "length")
    assert value is None and error.startswith("invalid_json: Expecting value")
    assert error.endswith("(the reply was cut at max_tokens)")
    _, error = parse_reply('{"answer": "three"}', Answer)
    assert error == (
        "schema: field answer: Input should be a valid integer, unable to parse string as an integer; "
        "field reason: Field required"
    )


def structured(make_client, url, request, **options):
    async def main():
        async with make_client(url, **options) as client:
            return await client.structured(request, Answer, max_tokens=64)

    return asyncio.run(main())


def test_valid_json_takes_one_request_with_the_schema_and_json_mode(make_client):
    server = ScriptedServer({CHAT: [chat_completion('```json\n{"answer": 7, "reason": "sum"}\n```')]})
    with server as url:
        result = structured(make_client, url, [system("You are exact."), {"role": "user", "content": "3+4?"}])
    assert result.value == Answer(answer=7, reason="sum") and result.error is None and result.attempts == 1
    body = server.requests[0].json()
    assert body["response_format"] == {"type": "json_object"} and body["max_tokens"] == 64
    head = body["messages"][0]["content"]
    assert head.startswith("You are exact.\n\nReply with one JSON object") and '"answer"' in head


def test_invalid_then_repaired(make_client):
    replies = [chat_completion('{"answer": "seven"}'), chat_completion('{"answer": 7, "reason": "fixed"}')]
    server = ScriptedServer({CHAT: replies})
    with server as url:
        result = structured(make_client, url, "3+4?")
    assert result.value == Answer(answer=7, reason="fixed") and result.attempts == 2
    repair = server.requests[1].json()["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"answer": "seven"}'}
    assert repair[-1]["role"] == "user" and "schema: field answer" in repair[-1]["content"]
    assert result.usage.calls == 2 and result.usage.prompt_tokens == 20


@pytest.mark.parametrize(
    ("replies", "reason"),
    [(["not json", "still not"], "invalid_json: "), (['{"answer": 1}', '{"reason": "x"}'], "schema: field answer")],
)
def test_invalid_twice_is_a_recorded_failure(make_client, replies, reason):
    server = ScriptedServer({CHAT: [chat_completion(text) for text in replies]})
    with server as url:
        result = structured(make_client, url, "3+4?")
    assert result.value is None and result.error.startswith(reason) and result.attempts == 2
    assert result.text == replies[1] and server.count(CHAT) == 2


def test_structured_on_a_completions_endpoint(make_client):
    path = "/v1/completions"
    server = ScriptedServer({path: [text_completion(' {"answer": 7'), text_completion('{"answer": 7, "reason": "b"}')]})
    with server as url:
        result = structured(make_client, url, 'Q: 3+4\nJSON:', api="completions")
    assert result.value == Answer(answer=7, reason="b")
    first, second = (r.json()["prompt"] for r in server.requests)
    assert first == "Q: 3+4\nJSON:"  # sent as it is
    assert second.startswith('Q: 3+4\nJSON: {"answer": 7\n\nThat reply could not be used (invalid_json')
