"""What the client sends and reads: chat with image parts, completions, images (b64 and URL), JSON mode."""

import asyncio
import base64

import pytest
from scripted_server import Reply, ScriptedServer, chat_completion, image_generation, text_completion

from cadsynth.config import ConfigError
from cadsynth.executor import Retryable
from cadsynth.llm import system, user

CHAT = "/v1/chat/completions"
MODEL = "scripted-model"  # the default of the make_client fixture


def decode_data_url(url: str) -> tuple[str, bytes]:
    head, data = url.split(",", 1)
    assert head.startswith("data:") and head.endswith(";base64")
    return head[5:-7], base64.b64decode(data)


def test_chat_sends_text_and_image_parts(make_client, image_bytes, api_key):
    png, jpeg = image_bytes("PNG"), image_bytes("JPEG")
    server = ScriptedServer({CHAT: [chat_completion("a red square", model="served-name")]})

    async def main():
        async with make_client(url) as client:
            return await client.chat([system("Be brief."), user("What is it?", [png, jpeg])], max_tokens=50,
                                     temperature=0)

    with server as url:
        reply = asyncio.run(main())
    request = server.requests[0]
    assert request.method == "POST" and request.path == CHAT
    assert request.headers["Authorization"] == f"Bearer {api_key}"
    body = request.json()
    assert body["model"] == MODEL and body["max_tokens"] == 50 and body["temperature"] == 0
    assert "response_format" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    first, second, text = body["messages"][1]["content"]
    assert decode_data_url(first["image_url"]["url"]) == ("image/png", png)
    assert decode_data_url(second["image_url"]["url"]) == ("image/jpeg", jpeg)
    assert text == {"type": "text", "text": "What is it?"}

    assert reply.text == "a red square" and reply.finish_reason == "stop" and reply.model == "served-name"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.calls) == (10, 5, 1)
    assert reply.original_usage == reply.usage
    assert not reply.cached and not reply.estimated


def test_defaults_json_mode_and_extra_body(make_client):
    server = ScriptedServer({CHAT: [chat_completion("{}"), chat_completion("{}")]})

    async def main():
        async with make_client(url, max_tokens=77, temperature=0.3) as plain:
            await plain.chat([user("hi")], json_mode=True)
        async with make_client(url, extra_body={"top_p": 0.9, "response_format": None}) as tuned:
            await tuned.chat([user("hi")], json_mode=True)

    with server as url:
        asyncio.run(main())
    first, second = (r.json() for r in server.requests)
    assert first["max_tokens"] == 77 and first["temperature"] == 0.3
    assert first["response_format"] == {"type": "json_object"}
    assert second["top_p"] == 0.9 and "response_format" not in second  # a null in extra_body removes a field


def test_missing_usage_is_estimated(make_client):
    server = ScriptedServer({CHAT: [chat_completion("x" * 40, prompt_tokens=None)]})

    async def main():
        async with make_client(url, model="gpt-4o") as client:
            return await client.chat([user("y" * 400)])

    with server as url:
        reply = asyncio.run(main())
    assert reply.estimated
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (100, 10)
    assert reply.usage.cost_usd == pytest.approx((100 * 2.5 + 10 * 10.0) / 1e6)


def test_complete_posts_a_prompt(make_client):
    server = ScriptedServer({"/v1/completions": [text_completion(" 42", prompt_tokens=3, completion_tokens=1)]})

    async def main():
        async with make_client(url, api="completions") as client:
            return await client.complete("6 * 7 =", max_tokens=4, stop=["\n"])

    with server as url:
        reply = asyncio.run(main())
    body = server.requests[0].json()
    assert body == {"model": MODEL, "prompt": "6 * 7 =", "max_tokens": 4, "temperature": 0.7, "stop": ["\n"]}
    assert reply.text == " 42" and (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (3, 1)


def test_image_from_b64(make_client, image_bytes):
    png = image_bytes("PNG", (32, 16))
    reply = image_generation(b64_png=base64.b64encode(png).decode())
    server = ScriptedServer({"/v1/images/generations": [reply]})

    async def main():
        async with make_client(url, api="images", model="dall-e-3") as client:
            return await client.image("a red bar chart", size="512x512")

    with server as url:
        image = asyncio.run(main())
    assert server.requests[0].json() == {"model": "dall-e-3", "prompt": "a red bar chart", "size": "512x512", "n": 1}
    assert image.png == png and (image.width, image.height) == (32, 16)
    assert image.revised_prompt == "scripted" and image.usage.cost_usd == pytest.approx(0.04) and image.priced


def test_image_from_url_is_fetched_without_the_key_and_converted(make_client, image_bytes):
    jpeg = image_bytes("JPEG", (20, 10))
    server = ScriptedServer({"/files/img.jpg": [Reply(200, jpeg, {"Content-Type": "image/jpeg"})]})

    async def main():
        server.script("/v1/images/generations", [image_generation(url=f"{url}/files/img.jpg", usage=(20, 1000))])
        async with make_client(url, api="images", model="gpt-image-1") as client:
            return await client.image("a chart")

    with server as url:
        image = asyncio.run(main())
    fetch = server.requests[1]
    assert fetch.method == "GET" and fetch.path == "/files/img.jpg"
    assert "Authorization" not in fetch.headers
    assert image.png.startswith(b"\x89PNG") and (image.width, image.height) == (20, 10)
    assert image.usage.cost_usd == pytest.approx((20 * 5.0 + 1000 * 40.0) / 1e6)


def test_unreadable_image_is_retried_then_fails(make_client):
    garbage = base64.b64encode(b"not an image").decode()
    server = ScriptedServer(default=image_generation(b64_png=garbage))

    async def main():
        async with make_client(url, api="images") as client:
            await client.image("x")

    with server as url, pytest.raises(Retryable, match="not a readable image"):
        asyncio.run(main())
    assert server.count("/v1/images/generations") == 3  # 1 + max_retries


def test_method_must_fit_the_api_and_vision(make_client, image_bytes):
    async def main(**fields):
        async with make_client("http://127.0.0.1:9", **fields) as client:
            await client.chat([user("look", [image_bytes()])])

    with pytest.raises(ConfigError, match="chat\\(\\) needs api: chat or litellm"):
        asyncio.run(main(api="images"))
    with pytest.raises(ValueError, match="text-only"):
        asyncio.run(main(vision=False))
    with pytest.raises(ValueError, match="PNG or JPEG"):
        user("x", [b"GIF89a..."])
