"""The tiny local VLM as a TRL policy: a processor for ``GRPOTrainer`` and a loader for its checkpoints.

``GRPOTrainer`` treats a model as a VLM when its ``processing_class`` is a ``transformers.ProcessorMixin``; it then
asks the processor to render and tokenise chat prompts holding images (``apply_chat_template(..., tokenize=True,
return_dict=True)`` must return ``input_ids`` and ``pixel_values``), to encode prompt text with images for the
log-probability pass (``processor(images=..., text=...)``), to decode completions and to save itself into every
checkpoint. ``TinyVLM`` has no processor (its pixels come straight from PIL, since torchvision cannot be imported
here), so ``TinyVLMProcessor`` is that processor, written against ``TinyVLM``'s own conventions:

- a user turn renders as ``<image>`` x K per image, then its text, then ``"\\n"`` (exactly ``TinyVLM.prompt``);
  an assistant turn as its text then ``<|im_end|>``; a system turn as its text and ``"\\n"``;
- pixels are ``TinyVLM.pixels`` / ``pixel_tensor`` (uint8 / 127.5 - 1 at the spec's size).

Checkpoints written by the trainer hold the model in transformers' format (``config.json``,
``model.safetensors``) plus ``spec.json`` and ``tokenizer.json`` from this processor; ``load_tiny`` reads both that
and ``TinyVLM.save``'s format.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tokenizers import Tokenizer
from transformers import BatchFeature, LlavaForConditionalGeneration, ProcessorMixin

from cadsynth.local.vlm import EOS, IMAGE, TinyVLM, VLMSpec, _wrap_tokenizer, pixel_tensor

__all__ = ["TinyVLMProcessor", "is_tiny_dir", "load_tiny", "to_pil"]


def to_pil(image: Any) -> Image.Image:
    """A PIL image from PIL, a uint8 array, bytes, a path, or a Hugging Face ``{"bytes", "path"}`` value."""
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, np.ndarray):
        return Image.fromarray(image)
    if isinstance(image, bytes | bytearray):
        return Image.open(io.BytesIO(bytes(image)))
    if isinstance(image, dict):
        if image.get("bytes"):
            return to_pil(image["bytes"])
        if image.get("path"):
            return Image.open(image["path"])
    if isinstance(image, str | Path):
        return Image.open(image)
    raise TypeError(f"cannot read an image from {type(image).__name__}")


class TinyVLMProcessor(ProcessorMixin):
    """The processing class ``GRPOTrainer`` needs for a ``TinyVLM`` (see the module docstring)."""

    attributes: list[str] = []

    def __init__(self, vlm: TinyVLM):  # no ProcessorMixin.__init__: there are no sub-processors to check
        self.vlm = vlm
        self.tokenizer = vlm.tokenizer
        self.tokenizer.padding_side = "left"
        self.chat_template = None

    # -- rendering ---------------------------------------------------------------------------------------------
    def _parts(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        content = message.get("content")
        if content is None:
            return []
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        return list(content)

    def render(self, conversation: Sequence[dict[str, Any]], add_generation_prompt: bool = True) -> str:
        """The prompt text of one conversation in TinyVLM's sequence format."""
        out = []
        for message in conversation:
            for part in self._parts(message):
                if part.get("type") == "image":
                    out.append(IMAGE * self.vlm.spec.image_tokens)
                elif part.get("type") == "text":
                    out.append(part.get("text", ""))
            role = message.get("role")
            out.append(EOS if role == "assistant" else "\n")
        return "".join(out)

    def _images(self, conversation: Sequence[dict[str, Any]]) -> list[Any]:
        return [
            part["image"]
            for message in conversation
            for part in self._parts(message)
            if part.get("type") == "image" and part.get("image") is not None
        ]

    def _pixels(self, images: Sequence[Any]) -> torch.Tensor:
        return pixel_tensor([self.vlm.pixels(to_pil(image)) for image in images])

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer.backend_tokenizer.encode(text).ids

    # -- the ProcessorMixin surface GRPOTrainer uses -----------------------------------------------------------
    def apply_chat_template(
        self,
        conversation: Any,
        chat_template: str | None = None,
        tokenize: bool = False,
        return_dict: bool = False,
        add_generation_prompt: bool = True,
        **kwargs: Any,
    ) -> Any:
        batched = bool(conversation) and isinstance(conversation[0], list | tuple)
        conversations = list(conversation) if batched else [conversation]
        texts = [self.render(c, add_generation_prompt) for c in conversations]
        if not tokenize:
            return texts if batched else texts[0]
        ids = [self._ids(t) for t in texts]
        if not return_dict:
            return ids if batched else ids[0]
        out: dict[str, Any] = {"input_ids": ids, "attention_mask": [[1] * len(row) for row in ids]}
        images = [image for c in conversations for image in self._images(c)]
        if images:
            out["pixel_values"] = self._pixels(images)
        return out

    def __call__(
        self,
        images: Any = None,
        text: str | list[str] | None = None,
        padding: bool | str = True,
        return_tensors: str | None = "pt",
        **kwargs: Any,
    ) -> BatchFeature:
        texts = [text] if isinstance(text, str) else list(text or [])
        rows = [self._ids(t) for t in texts]
        width = max((len(r) for r in rows), default=0)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):  # left padding, as in TinyVLM
            if row:
                ids[i, width - len(row) :] = torch.tensor(row)
                mask[i, width - len(row) :] = 1
        data: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        flat: list[Any] = []
        for item in images or []:
            if isinstance(item, list | tuple):
                flat.extend(i for i in item if i is not None)
            elif item is not None:
                flat.append(item)
        if flat:
            data["pixel_values"] = self._pixels(flat)
        return BatchFeature(data)

    def batch_decode(self, *args: Any, **kwargs: Any) -> list[str]:
        return self.tokenizer.batch_decode(*args, **kwargs)

    def decode(self, *args: Any, **kwargs: Any) -> str:
        return self.tokenizer.decode(*args, **kwargs)

    def save_pretrained(self, save_directory: str | Path, **kwargs: Any) -> list[str]:
        """Write ``tokenizer.json`` and ``spec.json`` (with the trainer's ``config.json`` and weights, a checkpoint
        directory is then a complete tiny model for ``load_tiny``)."""
        path = Path(save_directory)
        path.mkdir(parents=True, exist_ok=True)
        self.tokenizer.backend_tokenizer.save(str(path / "tokenizer.json"))
        (path / "spec.json").write_text(self.vlm.spec.model_dump_json(indent=2) + "\n")
        return [str(path / "tokenizer.json"), str(path / "spec.json")]

    def to_dict(self) -> dict[str, Any]:
        return {"processor_class": type(self).__name__, "spec": self.vlm.spec.model_dump()}

    def __repr__(self) -> str:
        return f"TinyVLMProcessor(image_tokens={self.vlm.spec.image_tokens})"


def is_tiny_dir(directory: str | Path) -> bool:
    """Whether a directory holds a tiny VLM (``spec.json`` and ``tokenizer.json``)."""
    path = Path(directory)
    return (path / "spec.json").is_file() and (path / "tokenizer.json").is_file()


def load_tiny(directory: str | Path) -> TinyVLM:
    """A ``TinyVLM`` from ``TinyVLM.save``'s layout or from a GRPO checkpoint directory (transformers' layout)."""
    path = Path(directory)
    if not is_tiny_dir(path):
        raise FileNotFoundError(f"{path}: not a tiny VLM directory (no spec.json and tokenizer.json)")
    try:
        return TinyVLM.load(path)
    except (RuntimeError, KeyError, ValueError, json.JSONDecodeError):
        pass  # weights in transformers' layout (a trainer checkpoint)
    spec = VLMSpec.model_validate_json((path / "spec.json").read_text())
    tokenizer = _wrap_tokenizer(Tokenizer.from_file(str(path / "tokenizer.json")))
    model = LlavaForConditionalGeneration.from_pretrained(path, dtype=torch.float32, attn_implementation="sdpa")
    return TinyVLM(model.eval(), tokenizer, spec)
