"""A tiny LLaVA-architecture VLM (CLIP vision + Qwen2 text), trained from scratch on the CPU.

Recipe and sizes follow docs/NANO.md. The sequence is ``[<image>]*K + question + "\\n"`` followed by the
target ``answer + <|im_end|>``; padding is on the left with explicit ``position_ids`` in training and decoding.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from pydantic import BaseModel, ConfigDict, model_validator
from safetensors.torch import load_model, save_model
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    CLIPVisionConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

PAD, EOS, IMAGE = "<|endoftext|>", "<|im_end|>", "<image>"
_FILES = {
    "spec": "spec.json",
    "config": "config.json",
    "tokenizer": "tokenizer.json",
    "weights": "model.safetensors",
}
_IGNORE = -100


class VLMSpec(BaseModel):
    """Sizes and seed of a tiny VLM; the defaults are NANO's size S at 64 px / patch 16."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    image_size: int = 64
    patch_size: int = 16
    vision_hidden: int = 32
    vision_layers: int = 2
    text_hidden: int = 64
    text_layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    vocab_size: int = 400
    max_answer_tokens: int = 4
    seed: int = 0

    @model_validator(mode="after")
    def _check(self) -> VLMSpec:
        if self.image_size % self.patch_size:
            raise ValueError("image_size must be a multiple of patch_size")
        if self.vision_hidden % self.heads or self.text_hidden % self.heads or self.heads % self.kv_heads:
            raise ValueError("hidden sizes must divide by heads, and heads by kv_heads")
        if self.vocab_size < 260:
            raise ValueError("vocab_size must cover the 256 byte symbols and the special tokens")
        return self

    @property
    def image_tokens(self) -> int:
        """K, the number of `<image>` placeholders (one per patch; the CLS token is dropped)."""
        return (self.image_size // self.patch_size) ** 2


def to_pixels(image: Image.Image, size: int) -> np.ndarray:
    """RGB uint8 array of shape (size, size, 3); the one resize used at train and inference time."""
    image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.uint8)


def _train_tokenizer(corpus: Sequence[str], vocab_size: int) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS, IMAGE],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(corpus), trainer=trainer)
    return tokenizer


def _wrap_tokenizer(tokenizer: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD, eos_token=EOS)


def _model_config(spec: VLMSpec, tokenizer: PreTrainedTokenizerFast) -> LlavaConfig:
    vision = CLIPVisionConfig(
        hidden_size=spec.vision_hidden,
        intermediate_size=2 * spec.vision_hidden,
        num_hidden_layers=spec.vision_layers,
        num_attention_heads=spec.heads,
        image_size=spec.image_size,
        patch_size=spec.patch_size,
        num_channels=3,
    )
    text = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=spec.text_hidden,
        intermediate_size=2 * spec.text_hidden,
        num_hidden_layers=spec.text_layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.kv_heads,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    return LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE),
        image_seq_length=spec.image_tokens,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
        tie_word_embeddings=True,
    )


def _new_model(config: LlavaConfig) -> LlavaForConditionalGeneration:
    config._attn_implementation = "sdpa"
    return LlavaForConditionalGeneration(config).float()


def pixel_tensor(pixels: Sequence[np.ndarray] | torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
    """Float (B, 3, H, W) pixel_values in [-1, 1] from uint8 (H, W, 3) arrays: uint8 / 127.5 - 1.

    The uint8 batch moves to `device` first, so the float conversion runs (and the copy is 4x smaller) there.
    """
    batch = pixels if isinstance(pixels, torch.Tensor) else torch.from_numpy(np.stack(pixels))
    return batch.to(device).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """input_ids, attention_mask and position_ids (cumsum(mask) - 1) for left-padded rows."""
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max())
    mask = np.arange(width)[None, :] >= (width - lengths)[:, None]
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    ids[mask] = np.fromiter((t for row in rows for t in row), dtype=np.int64, count=int(lengths.sum()))
    mask_tensor = torch.from_numpy(mask.astype(np.int64))
    positions = (mask_tensor.cumsum(-1) - 1).clamp(min=0)
    return torch.from_numpy(ids), mask_tensor, positions


class TinyVLM:
    """A LLaVA model, its byte-level BPE tokenizer and its spec."""

    def __init__(
        self, model: LlavaForConditionalGeneration, tokenizer: PreTrainedTokenizerFast, spec: VLMSpec
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.spec = spec
        self.image_id = tokenizer.convert_tokens_to_ids(IMAGE)
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id
        self._encoded: dict[str, tuple[int, ...]] = {}

    @classmethod
    def build(cls, spec: VLMSpec, corpus: Sequence[str]) -> TinyVLM:
        """Train the tokenizer on question/answer strings and randomly initialise the model from spec.seed."""
        tokenizer = _wrap_tokenizer(_train_tokenizer(corpus, spec.vocab_size))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed)
            model = _new_model(_model_config(spec, tokenizer))
        return cls(model.eval(), tokenizer, spec)

    def save(self, directory: str | Path) -> Path:
        """Write spec, model config, tokenizer and safetensors weights into directory."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        (path / _FILES["spec"]).write_text(self.spec.model_dump_json(indent=2) + "\n")
        (path / _FILES["config"]).write_text(
            json.dumps(self.model.config.to_dict(), indent=2, sort_keys=True) + "\n"
        )
        self.tokenizer.backend_tokenizer.save(str(path / _FILES["tokenizer"]))
        save_model(self.model, str(path / _FILES["weights"]))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> TinyVLM:
        """Read a directory written by `save`."""
        path = Path(directory)
        spec = VLMSpec.model_validate_json((path / _FILES["spec"]).read_text())
        tokenizer = _wrap_tokenizer(Tokenizer.from_file(str(path / _FILES["tokenizer"])))
        config = LlavaConfig.from_dict(json.loads((path / _FILES["config"]).read_text()))
        model = _new_model(config)
        load_model(model, str(path / _FILES["weights"]))
        return cls(model.eval(), tokenizer, spec)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def to(self, device: str | torch.device) -> TinyVLM:
        """Move the model (e.g. to "cuda" for training); inputs follow the model."""
        self.model.to(device)
        return self

    def parameter_count(self) -> int:
        """Number of distinct parameters (tied embeddings counted once)."""
        return sum(p.numel() for p in self.model.parameters())

    def pixels(self, image: Image.Image | np.ndarray) -> np.ndarray:
        """uint8 (size, size, 3) pixels for a PIL image or an array (arrays already at size pass through)."""
        size = self.spec.image_size
        if isinstance(image, np.ndarray):
            if image.shape == (size, size, 3) and image.dtype == np.uint8:
                return image
            image = Image.fromarray(image)
        return to_pixels(image, size)

    def encode(self, text: str) -> tuple[int, ...]:
        """Token ids of text (no special tokens added); memoised, since questions repeat."""
        ids = self._encoded.get(text)
        if ids is None:
            if len(self._encoded) > 200_000:
                self._encoded.clear()
            ids = self._encoded[text] = tuple(self.tokenizer.backend_tokenizer.encode(text).ids)
        return ids

    def prompt(self, question: str) -> list[int]:
        """Prompt ids: K image placeholders, then the question and a newline."""
        return [self.image_id] * self.spec.image_tokens + list(self.encode(question + "\n"))

    def target(self, answer: str) -> list[int]:
        """Target ids: the answer then `<|im_end|>`."""
        return list(self.encode(answer)) + [self.eos_id]

    def answer(
        self, images: Sequence[Image.Image | np.ndarray], questions: Sequence[str], batch_size: int = 64
    ) -> list[str]:
        """Greedy answers (decoded, stripped), batched; each answer is independent of its batch mates."""
        return [
            self.tokenizer.decode(ids, skip_special_tokens=True).strip()
            for ids in self.generate_ids(images, questions, batch_size)
        ]

    @torch.inference_mode()
    def generate_ids(
        self, images: Sequence[Image.Image | np.ndarray], questions: Sequence[str], batch_size: int = 64
    ) -> list[list[int]]:
        """Greedy answer token ids (eos excluded, at most spec.max_answer_tokens), left padding + KV cache."""
        if len(images) != len(questions):
            raise ValueError(f"{len(images)} images but {len(questions)} questions")
        self.model.eval()
        prompts = [self.prompt(q) for q in questions]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # similar lengths, less padding
        generated: list[list[int]] = [[] for _ in prompts]
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            pixels = pixel_tensor([self.pixels(images[i]) for i in chunk], self.device)
            for i, ids in zip(chunk, self._greedy([prompts[i] for i in chunk], pixels), strict=True):
                generated[i] = ids
        return generated

    def _greedy(self, prompts: list[list[int]], pixels: torch.Tensor) -> list[list[int]]:
        ids, mask, positions = (t.to(self.device) for t in _left_pad(prompts, self.pad_id))
        out = self.model(
            input_ids=ids,
            pixel_values=pixels,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
        )
        generated: list[list[int]] = [[] for _ in prompts]
        done = [False] * len(prompts)
        next_pos = positions[:, -1:] + 1
        for step in range(self.spec.max_answer_tokens):
            token = out.logits[:, -1].argmax(-1)
            for i, value in enumerate(token.tolist()):
                if not done[i]:
                    done[i] = value == self.eos_id
                    if not done[i]:
                        generated[i].append(value)
            if all(done) or step + 1 == self.spec.max_answer_tokens:
                break
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            out = self.model(
                input_ids=token[:, None],
                attention_mask=mask,
                position_ids=next_pos,
                cache=out.cache,
                use_cache=True,
            )
            next_pos = next_pos + 1
        return generated

    def collate(self, batch: Sequence[tuple[np.ndarray, str, str]]) -> dict[str, torch.Tensor]:
        """Training tensors for (pixels, question, answer) items: left-padded ids, labels only on the target."""
        rows, target_lengths = [], []
        for _, question, answer in batch:
            target = self.target(answer)
            rows.append(self.prompt(question) + target)
            target_lengths.append(len(target))
        ids, mask, positions = _left_pad(rows, self.pad_id)
        width = max(target_lengths)  # left padding right-aligns every target
        labels = ids[:, ids.shape[1] - width :].clone()
        outside = torch.arange(width)[None, :] < width - torch.tensor(target_lengths)[:, None]
        labels[outside] = _IGNORE
        pixels = torch.from_numpy(np.stack([self.pixels(p) for p, _, _ in batch]))
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "position_ids": positions,
            "pixels": pixels,
            "labels": labels,
        }

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean cross-entropy over target tokens (teacher forcing); logits only where targets are predicted."""
        batch = {key: value.to(self.device, non_blocking=True) for key, value in batch.items()}
        labels = batch["labels"]
        out = self.model(
            input_ids=batch["input_ids"],
            pixel_values=pixel_tensor(batch["pixels"], self.device),
            attention_mask=batch["attention_mask"],
            position_ids=batch["position_ids"],
            use_cache=False,
            logits_to_keep=labels.shape[1] + 1,
        )
        logits = out.logits[:, :-1]  # logits at position t predict token t + 1
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=_IGNORE)


def lr_factor(step: int, steps: int, warmup: int, floor: float = 0.1) -> float:
    """Linear warmup to 1, then cosine decay to `floor` at the last step."""
    return _lr_factor(step, warmup, (step - warmup) / max(1, steps - warmup - 1), floor)


def _lr_factor(step: int, warmup: int, progress: float, floor: float = 0.1) -> float:
    """Linear warmup over `warmup` steps, then cosine decay to `floor` as `progress` goes from 0 to 1."""
    if step < warmup:
        return (step + 1) / warmup
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, progress))))


def train(
    vlm: TinyVLM,
    batches: Iterator[list[tuple[np.ndarray, str, str]]],
    steps: int | None = None,
    lr: float = 1e-3,
    warmup: int = 50,
    log_every: int = 100,
    log: Callable[[str], None] | None = None,
    seconds: float | None = None,
) -> dict[str, float]:
    """AdamW training on (pixels, question, answer) batches for `steps`, or for `seconds` of wall clock.

    With `seconds` the cosine schedule follows elapsed time (as in docs/NANO.md) and the steps taken are reported,
    so a run can be repeated step for step with `steps`. The model trains on its device (see `TinyVLM.to`);
    CPU threads are the caller's choice (`torch.set_num_threads`); the NANO figures are for one thread.
    """
    if (steps is None) == (seconds is None):
        raise ValueError("give exactly one of steps and seconds")
    model = vlm.model
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.01)
    samples, step, started = 0, 0, time.perf_counter()
    window = max(1, log_every)
    window_loss, window_steps, final = torch.zeros((), device=vlm.device), 0, float("nan")

    def progress() -> float:
        if seconds is not None:
            return (time.perf_counter() - started) / seconds
        return (step - warmup) / max(1, steps - warmup - 1)

    while (step < steps) if steps is not None else (time.perf_counter() - started < seconds):
        for group in optimizer.param_groups:
            group["lr"] = lr * _lr_factor(step, warmup, progress())
        items = next(batches)
        loss = vlm.loss(vlm.collate(items))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        samples += len(items)
        window_loss += loss.detach()
        window_steps += 1
        if window_steps == window:  # the loss is read (a device sync) once per window, not every step
            final, window_loss, window_steps = (window_loss / window).item(), window_loss.zero_(), 0
            if log is not None and log_every > 0:
                rate = samples / (time.perf_counter() - started)
                log(f"step {step} loss {final:.4f} lr {optimizer.param_groups[0]['lr']:.2e} {rate:.0f} samples/s")
    if window_steps:
        final = (window_loss / window_steps).item()
    model.eval()
    elapsed = time.perf_counter() - started
    return {
        "steps": float(step),
        "samples": float(samples),
        "seconds": elapsed,
        "samples_per_s": samples / elapsed if elapsed > 0 else 0.0,
        "final_loss": final,
    }
