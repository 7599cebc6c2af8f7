"""Pinned prompt templates, shared by training (``cadsynth train``, the EasyR1 config) and ``cadsynth eval``.

A template holds ``{question}`` where the question text goes (replaced literally, so ``\\boxed{}`` needs no
escaping). ``r1`` is EasyR1's math prompt, the R1-style instruction the paper's recipe trains with; ``plain`` is
the bare question, the only thing the tiny local VLMs were trained to read.
"""

from __future__ import annotations

import hashlib

R1_INSTRUCTION = (
    "You FIRST think about the reasoning process as an internal monologue and then provide the final answer. "
    "The reasoning process MUST BE enclosed within <think> </think> tags. The final answer MUST BE put in \\boxed{}."
)

TEMPLATES: dict[str, str] = {
    "r1": "{question} " + R1_INSTRUCTION,
    "plain": "{question}",
}


def render(template: str, question: str) -> str:
    """The prompt text for a question: a template name from TEMPLATES or a literal template with {question}."""
    text = TEMPLATES.get(template, template)
    if "{question}" not in text:
        raise ValueError(f"prompt template {template!r} has no {{question}} placeholder")
    return text.replace("{question}", question.strip())


def template_text(template: str) -> str:
    return TEMPLATES.get(template, template)


def template_hash(template: str) -> str:
    return hashlib.sha256(template_text(template).encode()).hexdigest()[:16]


def easyr1_jinja(template: str = "r1") -> str:
    """The template as an EasyR1 ``data.format_prompt`` Jinja file (EasyR1 renders it with ``content``)."""
    return template_text(template).replace("{question}", "{{ content | trim }}") + "\n"
