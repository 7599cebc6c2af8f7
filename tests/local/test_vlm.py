"""Real tests of the tiny VLM: a model is trained on a toy counting task drawn with PIL (about 15 s on one core)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from cadsynth.local.vlm import TinyVLM, VLMSpec, lr_factor, pixel_tensor, to_pixels, train

SIZE = 64
HOW_MANY = "How many circles are there?"
MORE = "Are there more than one circle?"
DESCRIBE = "Describe the picture."
QUESTIONS = (HOW_MANY, MORE, DESCRIBE)
WHITE = np.full((SIZE, SIZE, 3), 255, dtype=np.uint8)


def draw_circles(rng: random.Random, n: int) -> np.ndarray:
    """n big black non-overlapping circles on white."""
    image = Image.new("RGB", (SIZE, SIZE), "white")
    draw = ImageDraw.Draw(image)
    r = SIZE // 8
    centres: list[tuple[int, int]] = []
    while len(centres) < n:
        x, y = rng.randint(r, SIZE - r - 1), rng.randint(r, SIZE - r - 1)
        if all((x - a) ** 2 + (y - b) ** 2 > (2 * r + 2) ** 2 for a, b in centres):
            centres.append((x, y))
            draw.ellipse([x - r, y - r, x + r, y + r], fill="black")
    return np.asarray(image, dtype=np.uint8)


def toy_sample(rng: random.Random) -> tuple[np.ndarray, str, str]:
    n = rng.randint(1, 3)
    question = rng.choice(QUESTIONS)
    answer = {HOW_MANY: str(n), MORE: "yes" if n > 1 else "no", DESCRIBE: f"{n} circle" + "s" * (n > 1)}[
        question
    ]
    return draw_circles(rng, n), question, answer


def toy_batches(seed: int, size: int = 32) -> Iterator[list[tuple[np.ndarray, str, str]]]:
    rng = random.Random(seed)
    while True:
        yield [toy_sample(rng) for _ in range(size)]


def mixed_items(seed: int, n: int) -> tuple[list[np.ndarray], list[str]]:
    """Toy images with questions of many lengths (prefixes, truncations) to exercise padding."""
    rng = random.Random(seed)
    words = "please look and tell me the exact number of round black circles now".split()
    images, questions = [], []
    for _ in range(n):
        pixels, question, _ = toy_sample(rng)
        prefix = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        question = f"{prefix} {question}" if prefix else question[: rng.randint(1, len(question))]
        images.append(pixels)
        questions.append(question)
    return images, questions


@pytest.fixture(scope="module")
def trained() -> Iterator[tuple[TinyVLM, dict[str, float]]]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        corpus = [*QUESTIONS, "1", "2", "3", "yes", "no", "1 circle", "2 circles", "3 circles"]
        vlm = TinyVLM.build(VLMSpec(seed=0), corpus)
        stats = train(vlm, toy_batches(100), steps=300)
        yield vlm, stats
    finally:
        torch.set_num_threads(threads)


def test_to_pixels_is_rgb_uint8_at_size():
    image = Image.new("L", (200, 100), 0)
    pixels = to_pixels(image, SIZE)
    assert pixels.shape == (SIZE, SIZE, 3) and pixels.dtype == np.uint8
    assert to_pixels(Image.fromarray(WHITE), SIZE).tolist() == WHITE.tolist()


def test_lr_schedule_warms_up_then_decays_to_ten_percent():
    assert lr_factor(0, 100, 10) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10) == pytest.approx(1.0)
    assert lr_factor(10, 100, 10) == pytest.approx(1.0)
    assert lr_factor(99, 100, 10) == pytest.approx(0.1)


def test_build_matches_nano_size_s():
    vlm = TinyVLM.build(VLMSpec(), [*QUESTIONS, "1", "2", "3"])
    assert vlm.spec.image_tokens == 16
    assert vlm.model.config.image_seq_length == 16
    # NANO's S at 64 px / patch 16 has 144,768 parameters with a 341-token vocabulary; only the embedding varies.
    assert vlm.parameter_count() == 144_768 - (341 - len(vlm.tokenizer)) * 64


def test_collate_puts_loss_only_on_answer_tokens():
    vlm = TinyVLM.build(VLMSpec(), [*QUESTIONS, "1", "2 circles"])
    batch = vlm.collate([(WHITE, HOW_MANY, "1"), (WHITE, "Describe it, please.", "2 circles")])
    ids, labels = batch["input_ids"], batch["labels"]
    assert (
        batch["attention_mask"][0, 0] == 0
        and batch["position_ids"][0, -1] == batch["attention_mask"][0].sum() - 1
    )
    for row, answer in enumerate(("1", "2 circles")):
        target = vlm.target(answer)
        assert ids[row, -len(target) :].tolist() == target
        assert [t for t in labels[row].tolist() if t != -100] == target
    assert batch["pixels"].shape == (2, SIZE, SIZE, 3) and batch["pixels"].dtype == torch.uint8
    pixel_values = pixel_tensor(batch["pixels"])
    assert pixel_values.shape == (2, 3, SIZE, SIZE) and pixel_values.max() == 1.0 and pixel_values.min() == 1.0


def test_save_load_round_trip(trained, tmp_path):
    vlm, _ = trained
    images, questions = mixed_items(1, 30)
    before = vlm.generate_ids(images, questions)
    vlm.save(tmp_path / "judge")
    files = sorted(p.name for p in (tmp_path / "judge").iterdir())
    assert files == ["config.json", "model.safetensors", "spec.json", "tokenizer.json"]
    assert sum(p.stat().st_size for p in (tmp_path / "judge").iterdir()) < 2_000_000
    loaded = TinyVLM.load(tmp_path / "judge")
    assert loaded.spec == vlm.spec
    assert loaded.generate_ids(images, questions) == before
    for name, tensor in vlm.model.state_dict().items():
        assert torch.equal(tensor, loaded.model.state_dict()[name]), name


def test_batched_answers_equal_one_by_one(trained):
    vlm, _ = trained
    images, questions = mixed_items(2, 40)
    batched = vlm.generate_ids(images, questions, batch_size=64)
    assert batched == vlm.generate_ids(images, questions, batch_size=7)
    assert batched == [vlm.generate_ids([im], [q])[0] for im, q in zip(images, questions, strict=True)]
    assert any(len(ids) > 1 for ids in batched)  # the cached multi-step path is exercised


def test_cached_decoding_matches_naive_recompute():
    vlm = TinyVLM.build(VLMSpec(seed=1), [*QUESTIONS, "1", "2", "3"])
    train(vlm, toy_batches(7, size=8), steps=20, warmup=5)  # a little training so outputs are not constant
    images, questions = mixed_items(3, 8)

    def naive(image: np.ndarray, question: str) -> list[int]:
        ids, out = vlm.prompt(question), []
        with torch.no_grad():
            for _ in range(vlm.spec.max_answer_tokens):
                logits = vlm.model(input_ids=torch.tensor([ids]), pixel_values=pixel_tensor([image])).logits
                token = int(logits[0, -1].argmax())
                if token == vlm.eos_id:
                    break
                out.append(token)
                ids = [*ids, token]
        return out

    assert vlm.generate_ids(images, questions) == [
        naive(im, q) for im, q in zip(images, questions, strict=True)
    ]


def test_learns_to_count_circles(trained):
    vlm, stats = trained
    assert stats["final_loss"] < 0.5
    rng = random.Random(12345)  # a stream separate from training
    held_out = [toy_sample(rng) for _ in range(150)]
    images = [pixels for pixels, _, _ in held_out]
    questions = [question for _, question, _ in held_out]
    truth = [answer for _, _, answer in held_out]
    answers = vlm.answer(images, questions)
    blind = vlm.answer([WHITE] * len(questions), questions)
    accuracy = np.mean([a == t for a, t in zip(answers, truth, strict=True)])
    blind_accuracy = np.mean([a == t for a, t in zip(blind, truth, strict=True)])
    assert accuracy >= 0.8, (accuracy, answers[:10])
    assert accuracy >= blind_accuracy + 0.3, (accuracy, blind_accuracy)
    count = [a == t for a, t, q in zip(answers, truth, questions, strict=True) if q == HOW_MANY]
    assert np.mean(count) >= 0.6  # chance is 0.33


def test_training_for_a_wall_clock_budget_reports_its_steps():
    vlm = TinyVLM.build(VLMSpec(seed=1), [*QUESTIONS, "1", "2", "3"])
    stats = train(vlm, toy_batches(3, size=4), seconds=1.0, warmup=2)
    assert stats["steps"] > 2 and 1.0 <= stats["seconds"] < 5.0 and stats["samples"] == 4 * stats["steps"]
    with pytest.raises(ValueError, match="exactly one of steps and seconds"):
        train(vlm, toy_batches(3), steps=3, seconds=1.0)
