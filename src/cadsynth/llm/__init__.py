"""The model client: one OpenAI-compatible client (chat, completions, images, structured JSON), or LiteLLM."""

from cadsynth.llm.access import check_ready
from cadsynth.llm.client import ModelClient
from cadsynth.llm.messages import Message, assistant, system, user
from cadsynth.llm.results import Completion, GeneratedImage, Structured

__all__ = [
    "Completion",
    "GeneratedImage",
    "Message",
    "ModelClient",
    "Structured",
    "assistant",
    "check_ready",
    "system",
    "user",
]
