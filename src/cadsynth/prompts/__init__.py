"""Versioned prompt templates for every model call of paper mode, one file each: `<name>.v<N>.md`.

A file holds the instruction (with `$fields`) and, after a `--- example ---` line, an example reply. Chat models
get the instruction; base models (text completions) get it followed by the example, as a one-shot prompt.
A member may name a folder whose files replace the shipped ones; the manifest records which versions ran.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SHIPPED = Path(__file__).parent
SEPARATOR = "--- example ---"
_FILE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<version>\d+)\.md$")


@dataclass(frozen=True)
class Template:
    name: str
    version: int
    instruction: str
    example: str
    sha256: str

    @property
    def id(self) -> str:
        return f"{self.name}@v{self.version}"

    def fill(self, **fields: object) -> str:
        """The instruction with its fields filled (a missing field is a bug: it raises KeyError)."""
        return string.Template(self.instruction).substitute({k: str(v) for k, v in fields.items()}).strip()

    def one_shot(self, **fields: object) -> str:
        """A completion-style prompt for base models: the instruction, the example reply, then the cue."""
        return f"{self.fill(**fields)}\n\nExample reply:\n{self.example}\n\nReply:\n"


def _read(path: Path) -> Template:
    found = _FILE.match(path.name)
    if not found:
        raise ValueError(f"{path}: template files are named <name>.v<N>.md")
    text = path.read_text()
    instruction, _, example = text.partition(SEPARATOR)
    return Template(found["name"], int(found["version"]), instruction.strip(), example.strip(),
                    hashlib.sha256(text.encode()).hexdigest()[:16])


@cache
def _folder(folder: Path) -> dict[str, Template]:
    """The newest version of each template in a folder."""
    newest: dict[str, Template] = {}
    for path in sorted(folder.glob("*.md")):
        if _FILE.match(path.name):
            template = _read(path)
            if template.name not in newest or template.version > newest[template.name].version:
                newest[template.name] = template
    return newest


def load(name: str, override: Path | None = None) -> Template:
    """Template `name`: from the override folder when it has one, else the shipped one."""
    if override is not None:
        if not override.is_dir():
            raise FileNotFoundError(f"templates folder not found: {override}")
        if name in _folder(override.resolve()):
            return _folder(override.resolve())[name]
    try:
        return _folder(SHIPPED)[name]
    except KeyError:
        raise KeyError(f"no prompt template '{name}' (shipped: {', '.join(sorted(_folder(SHIPPED)))})") from None
