"""A scripted paper-mode committee: a responder for `ScriptedServer` that plays every model of paper mode.

It reads each request's prompt (the shipped templates), answers the way a model would, and remembers the
problems it constructed, so its judges can be right or wrong on purpose:
- `judge-a` is always right, `judge-b` right on about half the questions, `judge-r1` (text-only) right on two
  thirds, and only when its prompt carries a caption;
- every seventh construction request is not JSON (and so is its repair), and every fifth drawing is hostile
  code that the sandbox must stop (counted in arrival order, so every run has some of each).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading

from PIL import Image, ImageDraw
from scripted_server import Reply, chat_completion, image_generation, text_completion

JUDGES = ("judge-a", "judge-b", "judge-r1")


def _h(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _png(values: list[int]) -> str:
    image = Image.new("RGB", (256, 256), "white")
    draw = ImageDraw.Draw(image)
    for i, v in enumerate(values):
        draw.rectangle((20 + 50 * i, 240 - 2 * v, 50 + 50 * i, 240), fill=(0, 114, 178))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


class Committee:
    def __init__(self) -> None:
        self.problems: dict[str, dict] = {}  # question -> {"answer", "choices"}
        self.lock = threading.Lock()
        self.arrivals: dict[str, int] = {"construction": 0, "drawing": 0}

    def _nth(self, kind: str, every: int) -> bool:
        with self.lock:
            self.arrivals[kind] += 1
            return self.arrivals[kind] % every == 0

    def __call__(self, path: str, body: bytes) -> Reply | None:
        payload = json.loads(body)
        model = payload.get("model", "")
        if path.endswith("/images/generations"):
            return image_generation(b64_png=_png([10 + _h(payload["prompt"]) % 90, 50, 70]), usage=(20, 0))
        if path.endswith("/completions") and "messages" not in payload:
            return text_completion(self.reply(model, payload["prompt"], False))
        last = payload["messages"][-1]["content"]
        parts = last if isinstance(last, list) else [{"type": "text", "text": last}]
        text = "\n".join(p.get("text", "") for p in parts)
        images = sum(p.get("type") == "image_url" for p in parts)
        repair = len(payload["messages"]) > 2
        return chat_completion(self.reply(model, text, images > 0, repair), model=model, prompt_tokens=100 + 50 * images,
                               completion_tokens=40)

    def reply(self, model: str, prompt: str, sees_image: bool, repair: bool = False) -> str:
        if "rationale analysis" in prompt:
            return json.dumps({"domain": "chart reading", "core_concepts": ["bar heights"],
                               "constraints": ["values on gridlines"], "solution_rationale": "Read the tallest bar."})
        if "Create the idea for ONE new problem" in prompt:
            chosen = re.search(r"Use the meta-strategy: (\w+)", prompt)
            strategy = chosen.group(1) if chosen else "auxiliary_extension"
            return json.dumps({"strategy": strategy, "idea": f"A bar chart problem, variant {_h(prompt) % 10_000}."})
        if "Turn this problem idea" in prompt:
            return self.construction(prompt, repair)
        if "Write Python code with matplotlib" in prompt:
            return self.drawing(prompt)
        if "Describe this image completely" in prompt:
            return "A bar chart with blue bars on gridlines every 10." if sees_image else "I see no image."
        if "Final answer:" in prompt:
            return self.judge(model, prompt)
        if "generation context" in prompt:
            return json.dumps({"guidance": "Prefer questions that combine two readings of the chart. Keep every "
                                           "value on a gridline.", "rationale": "the judges split on two-step cases"})
        if "candidate answer means the same" in prompt:
            return json.dumps({"equivalent": False})
        return "unexpected prompt"

    def construction(self, prompt: str, repair: bool) -> str:
        key = _h(prompt)
        if repair or self._nth("construction", 7):
            return "Sorry, here is the problem: a bar chart" + (" (still not JSON)" if repair else "")
        values = [10 * (1 + (key >> s) % 9) for s in (0, 4, 8, 12)]
        answer = max(values)
        question = f"Problem {key % 100_000}: what is the value of the tallest bar in the chart?"
        visual = f"Four bars with values {values}"
        if "multiple choice" in prompt:
            options = [str(answer), str(answer + 10), str(answer - 5), str(answer + 20)]
            order = [options[(i + key) % 4] for i in range(4)]
            choices = dict(zip("ABCD", order, strict=True))
            letter = next(k for k, v in choices.items() if v == str(answer))
            with self.lock:
                self.problems[question] = {"answer": letter, "choices": choices}
            return json.dumps({"question": question, "task_type": "mcq", "options": choices, "answer": letter,
                               "solution": f"The tallest bar is {answer}.", "visual": visual})
        with self.lock:
            self.problems[question] = {"answer": str(answer), "choices": None}
        return json.dumps({"question": question, "task_type": "open", "options": None, "answer": str(answer),
                           "solution": f"The tallest bar is {answer}.", "visual": visual})

    def drawing(self, prompt: str) -> str:
        values = re.search(r"values \[([\d, ]+)\]", prompt)
        numbers = values.group(1) if values else "10, 20"
        if self._nth("drawing", 5):
            return "```python\nprint(open('/etc/passwd').read())\n```"
        return ("```python\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4.48, 4.48), dpi=100)\n"
                f"ax.bar(['A', 'B', 'C', 'D'], [{numbers}], color='#0072B2')\nax.grid(axis='y')\n```")

    def judge(self, model: str, prompt: str) -> str:
        found = re.search(r"Question: (.*)", prompt)
        problem = self.problems.get(found.group(1).strip() if found else "")
        if problem is None:
            return "I do not know this problem.\nFinal answer: 0"
        key = _h(problem["answer"] + (found.group(1) if found else ""))
        right = {"judge-a": True, "judge-b": key % 2 == 0,
                 "judge-r1": key % 3 != 0 and "precise description" in prompt}.get(model, False)
        answer = problem["answer"]
        if "image is not available" in prompt:  # asked blind: a guess
            right = False
        if not right:
            answer = ("B" if answer == "A" else "A") if problem["choices"] else str(int(answer) + 10)
        return f"Reading the chart carefully.\nFinal answer: {answer}"
