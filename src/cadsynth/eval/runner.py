"""Evaluation runs: prompts, resume, grading, breakdowns and bootstrap confidence intervals.

An evaluation directory holds::

    run.json            benchmark, model and prompt of this evaluation (a resume with other ones is refused)
    predictions.jsonl   one line per answered item: id, prompt hash, raw reply or error, seconds, usage
    results.json        accuracy with a 95% bootstrap CI, per subject and per level, every item graded, the
                        model, the prompt template, the matcher versions and the date

Each reply is appended as one line as soon as it arrives; a killed run leaves at most a torn last line, which is
cut off when the directory is opened again. A rerun skips the items that have a reply and asks again only for
the missing ones and those whose call failed. Grading is redone from the raw replies every time, with
``cadsynth.train.rewards`` (``final_answer`` + ``is_correct``: the code the RL reward runs).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cadsynth.eval.backends import Backend, Query, Reply
from cadsynth.eval.bench import Benchmark, Item
from cadsynth.records import AnswerType
from cadsynth.seeds import parse_choices
from cadsynth.store import atomic_write
from cadsynth.train import prompts
from cadsynth.train.rewards import final_answer, is_correct, matcher_info

__all__ = ["PROMPT_VERSION", "EvalConfigChanged", "bootstrap_ci", "build_prompt", "evaluate", "grade"]

PROMPT_VERSION = "1"  # how questions and options are laid out before the template is applied
RUN, PREDICTIONS, RESULTS = "run.json", "predictions.jsonl", "results.json"
BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED = 1000, 0


class EvalConfigChanged(ValueError):
    """The evaluation directory was made for another benchmark, model or prompt."""


def build_prompt(item: Item, template: str) -> str:
    """The prompt for an item: question, options (unless the question already lists them), letter instruction
    for multiple choice, all inside the template."""
    question = item.question.strip()
    if item.choices and parse_choices(question) is None:
        if all(text.strip() == key for key, text in item.choices.items()):  # options drawn in the image
            question += "\nChoices: " + ", ".join(item.choices)
        else:
            question += "\n" + "\n".join(f"({key}) {text}" for key, text in item.choices.items())
    if item.answer_type == AnswerType.MCQ.value:
        question += "\nAnswer with the option's letter."
    return prompts.render(template, question)


def bootstrap_ci(
    correct: Sequence[bool] | np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of 0/1 outcomes (fixed seed: reproducible)."""
    values = np.asarray(correct, dtype=float)
    if values.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (float(low), float(high))


def _summary(correct: list[bool], resamples: int, seed: int) -> dict[str, Any]:
    low, high = bootstrap_ci(correct, resamples, seed)
    return {"n": len(correct), "correct": int(sum(correct)), "accuracy": float(np.mean(correct)) if correct else None,
            "ci95": [low, high] if correct else None}


def grade(item: Item, response: str | None) -> tuple[str | None, bool]:
    """(extracted answer, correct) with the reward's code."""
    if response is None:
        return None, False
    extracted = final_answer(response)
    return extracted, is_correct(extracted, item.answer, item.answer_type, item.choices)


# ---------------------------------------------------------------------------------------------- storage


def _read_predictions(path: Path) -> dict[str, dict[str, Any]]:
    """The latest line per item id; a torn tail (from a killed run) is cut off the file first."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep != len(data):
        with open(path, "r+b") as handle:
            handle.truncate(keep)
            os.fsync(handle.fileno())
    found: dict[str, dict[str, Any]] = {}
    for line in data[:keep].decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "id" in record:
            found[str(record["id"])] = record
    return found


class _Appender:
    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: dict[str, Any]) -> None:
        os.write(self.fd, (json.dumps(record, ensure_ascii=False) + "\n").encode())  # one write: a whole line

    def sync(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)


def _check_run(out: Path, run: dict[str, Any], fresh: bool) -> None:
    path = out / RUN
    if fresh:
        for name in (RUN, PREDICTIONS, RESULTS):
            (out / name).unlink(missing_ok=True)
    elif path.exists():
        before = json.loads(path.read_text())
        changed = [key for key in ("model", "prompt") if before.get(key) != run.get(key)]
        bench_before, bench_now = before.get("benchmark", {}), run["benchmark"]
        if (bench_before.get("name"), bench_before.get("path")) != (bench_now["name"], bench_now["path"]):
            changed.insert(0, "benchmark")
        if changed:
            raise EvalConfigChanged(
                f"{out} holds an evaluation with another {', '.join(changed)}; use a new --out or --fresh"
            )
    # the same benchmark may grow (a larger --limit): its answered items are kept
    atomic_write(path, json.dumps(run, indent=1, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------------------------- running


def evaluate(
    benchmark: Benchmark,
    backend: Backend,
    out: str | Path,
    template: str = "r1",
    fresh: bool = False,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Evaluate ``backend`` on ``benchmark`` into ``out`` (resuming what is there); returns the results."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prompt_info = {
        "template": template if template in prompts.TEMPLATES else "custom",
        "text": prompts.template_text(template),
        "hash": prompts.template_hash(template),
        "layout_version": PROMPT_VERSION,
    }
    run = {"benchmark": benchmark.describe(), "model": backend.describe(), "prompt": prompt_info}
    _check_run(out, run, fresh)

    done = _read_predictions(out / PREDICTIONS)
    todo = [item for item in benchmark.items if done.get(item.id, {}).get("error", "missing") is not None]
    started = time.perf_counter()
    asked = 0
    if todo:
        if log:
            log(f"{len(benchmark.items) - len(todo)} of {len(benchmark.items)} items already answered; "
                f"asking {len(todo)}")
        asked = asyncio.run(_ask(todo, backend, out / PREDICTIONS, template, prompt_info["hash"], log))
    seconds = time.perf_counter() - started

    predictions = _read_predictions(out / PREDICTIONS)
    results = _results(benchmark, predictions, run, resamples, seed)
    results["timing"] = {
        "asked": asked,
        "seconds": round(seconds, 3),
        "items_per_s": round(asked / seconds, 3) if asked and seconds > 0 else None,
    }
    atomic_write(out / RESULTS, json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return results


async def _ask(
    todo: list[Item],
    backend: Backend,
    path: Path,
    template: str,
    prompt_hash: str,
    log: Callable[[str], None] | None,
) -> int:
    appender = _Appender(path)
    answered = 0
    try:
        for start in range(0, len(todo), backend.chunk_size):
            chunk = todo[start : start + backend.chunk_size]
            queries = [Query(build_prompt(item, template), item.image) for item in chunk]

            def record(index: int, reply: Reply, chunk: list[Item] = chunk) -> None:
                appender.write(
                    {
                        "id": chunk[index].id,
                        "prompt_hash": prompt_hash,
                        "response": reply.text,
                        "error": reply.error,
                        "seconds": round(reply.seconds, 4),
                        "usage": reply.usage,
                    }
                )

            await backend.answer_many(queries, record)
            appender.sync()
            answered += len(chunk)
            if log:
                log(f"{answered}/{len(todo)} answered")
    finally:
        appender.close()
        aclose = getattr(backend, "aclose", None)
        if aclose is not None:
            await aclose()
    return answered


def _results(
    benchmark: Benchmark, predictions: dict[str, dict[str, Any]], run: dict[str, Any], resamples: int, seed: int
) -> dict[str, Any]:
    rows, graded = [], []
    by_subject: dict[str, list[bool]] = defaultdict(list)
    by_level: dict[str, list[bool]] = defaultdict(list)
    errors = missing = 0
    for item in benchmark.items:
        record = predictions.get(item.id)
        row: dict[str, Any] = {
            "id": item.id,
            "subject": item.subject,
            "level": item.level,
            "answer": item.answer,
            "answer_type": item.answer_type,
        }
        if record is None:
            missing += 1
            row.update({"response": None, "extracted": None, "correct": None, "error": "not answered"})
        elif record.get("error") is not None:
            errors += 1
            row.update({"response": None, "extracted": None, "correct": None, "error": record["error"]})
        else:
            extracted, correct = grade(item, record.get("response"))
            row.update({"response": record.get("response"), "extracted": extracted, "correct": correct,
                        "error": None})
            graded.append(correct)
            by_subject[item.subject or "-"].append(correct)
            by_level[item.level or "-"].append(correct)
        rows.append(row)
    overall = _summary(graded, resamples, seed)
    return {
        **run,
        "matcher": matcher_info(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "n_items": len(benchmark.items),
        "n_graded": len(graded),
        "n_errors": errors,
        "n_missing": missing,
        "accuracy": overall["accuracy"],
        "ci95": overall["ci95"],
        "bootstrap": {"method": "percentile", "resamples": resamples, "seed": seed, "level": 0.95,
                      "over": "graded items (errors excluded)"},
        "by_subject": {k: _summary(v, resamples, seed) for k, v in sorted(by_subject.items())},
        "by_level": {k: _summary(v, resamples, seed) for k, v in sorted(by_level.items())},
        "items": rows,
    }
