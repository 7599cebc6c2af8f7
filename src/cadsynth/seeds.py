"""Seed pool import: data files, benchmark folders and text-only task descriptions become ``Seed`` records.

``load_seeds(config)`` reads the source named by ``config.source``:

- ``jsonl`` / ``json`` / ``parquet``: one object per row, read through the field mapping ``config.fields``.
  A ``json`` file holds a list of objects or an object of ``id -> object``.
- ``easyr1``: the EasyR1 layout (``images``, ``problem`` with ``<image>`` placeholders, ``answer``) in a
  ``.parquet``, ``.jsonl`` or ``.json`` file. Images may be paths or Hugging Face ``Image`` values
  (``{"bytes": ..., "path": ...}``); embedded bytes are written to ``image_cache``.
- ``mathv``: MATH-Vision's ``testmini.jsonl`` (``path`` is the dataset folder or the file itself).
- ``dynamath``: DynaMath's ``dataset.json`` (``path`` is the variant folder, e.g. ``trial1``, or the file).
- ``text``: text-only task descriptions, ``config.descriptions`` plus one per non-empty line of ``config.path``.

Source ``program`` is not read here: program seeds come from the task families (``cadsynth.tasks``), and
``load_seeds`` raises ``SeedError`` for it.

A broken seed (missing or unreadable image, empty question, unknown answer type, malformed row, duplicate id,
an MCQ answer that is not one of its choices) becomes a ``SeedProblem`` with its id and reason and is skipped;
the rest load. Only a configuration error (a file that does not exist, a format that cannot be read at all)
raises ``SeedError``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadsynth.config import FieldMap, SeedsConfig
from cadsynth.records import AnswerType, Seed, SeedProblem

log = logging.getLogger(__name__)

__all__ = [
    "SeedError",
    "SeedPool",
    "infer_answer_type",
    "load_seeds",
    "normalise_answer_type",
    "parse_choices",
]


class SeedError(ValueError):
    """The seed source cannot be read at all (a configuration error); the message says what to fix."""


@dataclass
class SeedPool:
    """The seeds that loaded, and the ones that were skipped with their reasons."""

    seeds: list[Seed] = field(default_factory=list)
    problems: list[SeedProblem] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- answer types

_INFER = "infer"
_TYPE_ALIASES: dict[str, str] = {
    **{t.value: t.value for t in AnswerType},
    # DynaMath
    "float": AnswerType.NUMBER.value,
    "int": AnswerType.INTEGER.value,
    "single answer": AnswerType.NUMBER.value,
    "multiple choice": AnswerType.MCQ.value,
    # common spellings
    "mc": AnswerType.MCQ.value,
    "choice": AnswerType.MCQ.value,
    "numeric": AnswerType.NUMBER.value,
    "numerical": AnswerType.NUMBER.value,
    "string": AnswerType.TEXT.value,
    "latex": AnswerType.EXPRESSION.value,
    "free form": _INFER,
    "freeform": _INFER,
    "open": _INFER,
    "open ended": _INFER,
}


def normalise_answer_type(value: Any) -> AnswerType | None:
    """Map a raw answer-type label to an ``AnswerType``; None means "infer from the answer".

    Raises ``ValueError("unknown answer type '...'")`` for a label that is neither a type nor a known alias.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    key = " ".join(re.split(r"[\s_\-]+", str(value).strip().lower()))
    found = _TYPE_ALIASES.get(key)
    if found is None:
        raise ValueError(f"unknown answer type '{value}'")
    return None if found == _INFER else AnswerType(found)


_INT = re.compile(r"[-+]?\d+")
_FLOAT = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?")
_LATEX = re.compile(r"[\\^√π$]")
_TUPLE = re.compile(r"[(\[].*,.*[)\]]", re.S)
_EXPR = re.compile(r"(?=.*\d)(?=.*[-+*/=])[\w\s.,+\-*/^()=]+")
_FUNCS = {"sqrt", "sin", "cos", "tan", "log", "ln", "exp", "pi", "arcsin", "arccos", "arctan"}
_LETTER = re.compile(r"\(?([A-Za-z])[).]?")


def infer_answer_type(answer: Any, choices: dict[str, str] | None = None) -> AnswerType | None:
    """Guess how an answer is compared: mcq, integer, number, expression or text (None without an answer)."""
    if choices:
        return AnswerType.MCQ
    if answer is None:
        return None
    if isinstance(answer, bool):
        return AnswerType.TEXT
    if isinstance(answer, int):
        return AnswerType.INTEGER
    if isinstance(answer, float):
        return AnswerType.NUMBER
    if isinstance(answer, list | tuple):
        return AnswerType.EXPRESSION
    text = str(answer).strip()
    if _INT.fullmatch(text):
        return AnswerType.INTEGER
    if _FLOAT.fullmatch(text):
        return AnswerType.NUMBER
    if _LATEX.search(text) or _TUPLE.fullmatch(text):
        return AnswerType.EXPRESSION
    if _EXPR.fullmatch(text):
        words = re.findall(r"[A-Za-z]+", text)
        if all(len(w) == 1 or w.lower() in _FUNCS for w in words):
            return AnswerType.EXPRESSION
    return AnswerType.TEXT


# ---------------------------------------------------------------------------------------------- choices

_CHOICE_FORMS = (
    re.compile(r"(?<![\w(])\(([A-Z])\)"),  # (A) x (B) y
    re.compile(r"(?m)^[ \t]*([A-Z])[.:)](?=\s)"),  # A. x / A: [..] / A) x, each on its own line
    re.compile(r"(?<!\S)([A-Z])[.:](?=[ \t])"),  # A. x B. y on one line
)


def parse_choices(text: str) -> dict[str, str] | None:
    """Read lettered options from a question text: ``(A) x (B) y``, ``A. x B. y``, ``A: [..]`` lines.

    Returns letter -> option text (an option with no text, as when the options are drawn in the image, maps to
    its letter), or None when no run of at least two consecutive letters starting at A is found.
    """
    for form in _CHOICE_FORMS:
        markers = list(form.finditer(text))
        best: list[re.Match[str]] = []
        for i, start in enumerate(markers):
            if start.group(1) != "A":
                continue
            chain = [start]
            for marker in markers[i + 1 :]:
                if ord(marker.group(1)) == ord(chain[-1].group(1)) + 1:
                    chain.append(marker)
            if len(chain) >= len(best):  # the longest run; on a tie the later one (options come last)
                best = chain
        if len(best) < 2:
            continue
        choices: dict[str, str] = {}
        for k, marker in enumerate(best):
            line_end = text.find("\n", marker.end())
            line_end = len(text) if line_end < 0 else line_end
            if k + 1 < len(best):
                end = best[k + 1].start()
                if form is _CHOICE_FORMS[1]:
                    end = min(end, line_end)
            else:
                end = line_end
            option = " ".join(text[marker.end() : end].split()).strip(" ,;")
            choices[marker.group(1)] = option or marker.group(1)
        return choices
    return None


def _letters(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


def _read_choices(value: Any) -> tuple[dict[str, str] | None, str | None]:
    """Choices from a data field: a list (lettered A, B, ...), a mapping, a JSON string of either, or text."""
    if value is None:
        return None, None
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None, None
        if stripped[0] in "[{":
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError:
                pass
        if isinstance(value, str):
            parsed = parse_choices(value)
            return (parsed, None) if parsed else (None, f"cannot read choices from {_short(value)}")
    if isinstance(value, list | tuple):
        if not value:
            return None, None
        if len(value) > 26:
            return None, f"{len(value)} choices; at most 26 (A-Z) are supported"
        return {
            letter: _str(v) or letter for letter, v in zip(_letters(len(value)), value, strict=True)
        }, None
    if isinstance(value, dict):
        if not value:
            return None, None
        return {str(k).strip(): _str(v) or str(k).strip() for k, v in value.items()}, None
    return None, f"choices must be a list or a mapping, not {type(value).__name__}"


# ---------------------------------------------------------------------------------------------- small helpers


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value).strip()


def _short(value: Any, n: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 3] + "..."


def _answer_value(value: Any) -> Any:
    """Unwrap one-element lists and blank strings; keep the type for inference."""
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _answer_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False, default=str)
    return _str(value)


_PLACEHOLDER = re.compile(r"<image\d*>")


def strip_image_placeholders(text: str) -> str:
    """Remove ``<image>``/``<image1>`` placeholders; lines left empty go, spacing around them is mended."""
    if not _PLACEHOLDER.search(text):
        return text
    lines = []
    for line in text.split("\n"):
        if not _PLACEHOLDER.search(line):
            lines.append(line)
            continue
        line = re.sub(r"[ \t]*<image\d*>[ \t]*", " ", line).strip()
        line = re.sub(r" ([.,;:?!)])", r"\1", line)
        if line:
            lines.append(line)
    return "\n".join(lines).strip()


_SCALARS = (str, int, float, bool, type(None))


def _extras(obj: dict[str, Any], used: set[str]) -> dict[str, Any]:
    return {str(k): v for k, v in obj.items() if k not in used and isinstance(v, _SCALARS)}


# ---------------------------------------------------------------------------------------------- rows


@dataclass
class _Row:
    """One source row, before validation."""

    id: str
    question: Any
    answer: Any = None
    answer_type: Any = None
    choices: Any = None
    solution: Any = None
    image: Any = None
    domain: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    question_field: str | None = None  # set when the question field is absent from the row
    parse_choices: bool = True  # look for lettered options in the question when an MCQ has none


@dataclass
class _Bad:
    id: str
    reason: str


# Raw rows: (default id, object, where) or a row that could not even be read.
_Raw = tuple[str, Any, str] | _Bad


def _jsonl_rows(path: Path) -> Iterator[_Raw]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from None
    for index, raw in enumerate(data.split(b"\n")):
        if not raw.strip():
            continue
        where = f"line {index + 1}"
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            yield _Bad(str(index), f"{where}: not UTF-8 text ({exc.reason})")
            continue
        except json.JSONDecodeError as exc:
            yield _Bad(str(index), f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        yield str(index), obj, where


def _json_rows(path: Path) -> Iterator[_Raw]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SeedError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        hint = "; if it holds one object per line, use seeds.source: jsonl" if exc.msg == "Extra data" else ""
        raise SeedError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}){hint}"
        ) from None
    if isinstance(data, list):
        for index, obj in enumerate(data):
            yield str(index), obj, f"item {index}"
    elif isinstance(data, dict):
        if data and not any(isinstance(v, dict) for v in data.values()):
            raise SeedError(
                f"{path}: the top level is an object whose values are not objects; "
                "a json seed file holds a list of seed objects or an object of id -> seed object"
            )
        for key, obj in data.items():
            yield str(key), obj, f"entry '{key}'"
    else:
        raise SeedError(
            f"{path}: the top level is {type(data).__name__}; "
            "a json seed file holds a list of seed objects or an object of id -> seed object"
        )


def _parquet_rows(path: Path) -> Iterator[_Raw]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise SeedError(f"{path}: not a readable parquet file ({exc})") from None
    index = 0
    for batch in reader.iter_batches(batch_size=256):
        for obj in batch.to_pylist():
            yield str(index), obj, f"row {index}"
            index += 1


def _file_rows(path: Path, kind: str) -> Iterator[_Raw]:
    if kind == "jsonl":
        return _jsonl_rows(path)
    if kind == "json":
        return _json_rows(path)
    return _parquet_rows(path)


def _mapped(default_id: str, obj: dict[str, Any], fields: FieldMap) -> _Row:
    def get(name: str | None) -> Any:
        return obj.get(name) if name else None

    ident = _str(get(fields.id)) or default_id
    used = {n for n in fields.model_dump().values() if n}
    return _Row(
        id=ident,
        question=obj.get(fields.question),
        answer=get(fields.answer),
        answer_type=get(fields.answer_type),
        choices=get(fields.choices),
        solution=get(fields.solution),
        image=get(fields.image),
        domain=get(fields.domain),
        meta=_extras(obj, used),
        question_field=None if fields.question in obj else fields.question,
    )


def _easyr1(default_id: str, obj: dict[str, Any], fields: FieldMap) -> _Row:
    question = obj.get("problem")
    if isinstance(question, str):
        question = strip_image_placeholders(question)
    ident = _str(obj.get(fields.id)) if fields.id else ""
    return _Row(
        id=ident or default_id,
        question=question,
        answer=obj.get("answer"),
        image=obj.get("images"),
        meta=_extras(obj, {"problem", "answer", "images", fields.id or "id"}),
        question_field=None if "problem" in obj else "problem",
    )


def _mathv(default_id: str, obj: dict[str, Any], fields: FieldMap) -> _Row:
    question = obj.get("question")
    if isinstance(question, str):
        question = strip_image_placeholders(question)
    meta = {k: obj[k] for k in ("subject", "level") if obj.get(k) is not None}
    return _Row(
        id=_str(obj.get("id")) or default_id,
        question=question,
        answer=obj.get("answer"),
        choices=obj.get("options") or None,
        solution=obj.get("solution"),
        image=obj.get("image"),
        domain="math",
        meta=meta,
        question_field=None if "question" in obj else "question",
        parse_choices=False,
    )


def _dynamath(default_id: str, obj: dict[str, Any], fields: FieldMap) -> _Row:
    meta: dict[str, Any] = {}
    if obj.get("subject") is not None:
        meta["subject"] = " ".join(str(obj["subject"]).split())
    if obj.get("level") is not None:
        meta["level"] = obj["level"]
    if obj.get("answer_type") is not None:
        meta["raw_answer_type"] = obj["answer_type"]
    return _Row(
        id=_str(obj.get("id")) or default_id,
        question=obj.get("question"),
        answer=obj.get("answer"),
        answer_type=obj.get("answer_type"),
        image=obj.get("image"),
        domain="math",
        meta=meta,
        question_field=None if "question" in obj else "question",
    )


# ---------------------------------------------------------------------------------------------- validation


class _Builder:
    """Validates rows into seeds, collecting problems, until the limit is reached."""

    def __init__(self, source: str, base: Path, image_cache: Path | None, limit: int | None):
        self.source = source
        self.base = base
        self.image_cache = image_cache
        self.limit = limit
        self.pool = SeedPool()
        self.ids: set[str] = set()

    @property
    def full(self) -> bool:
        return self.limit is not None and len(self.pool.seeds) >= self.limit

    def bad(self, seed_id: str, reason: str) -> None:
        log.info("seed %s (%s) skipped: %s", seed_id, self.source, reason)
        self.pool.problems.append(SeedProblem(seed_id=seed_id, source=self.source, reason=reason))

    def add(self, row: _Row) -> None:
        if row.id in self.ids:
            self.bad(row.id, "duplicate id")
            return
        reasons: list[str] = []

        question = _str(row.question) if isinstance(row.question, str | int | float) else ""
        if row.question is not None and not isinstance(row.question, str | int | float):
            reasons.append(f"question is {type(row.question).__name__}, not text")
        elif not question:
            reasons.append(
                "empty question" + (f" (no field '{row.question_field}')" if row.question_field else "")
            )

        answer_value = _answer_value(row.answer)
        answer = _answer_text(answer_value)

        explicit: AnswerType | None = None
        try:
            explicit = normalise_answer_type(row.answer_type)
        except ValueError as exc:
            reasons.append(str(exc))

        choices, error = _read_choices(row.choices)
        if error:
            reasons.append(error)
        given = choices is not None
        meta = dict(row.meta)

        answer_type = explicit or infer_answer_type(answer_value, choices)
        letter = _letter(answer)
        if not given and row.parse_choices and question and letter and explicit in (None, AnswerType.MCQ):
            if explicit is AnswerType.MCQ or letter in "ABCDE":
                parsed = parse_choices(question)
                if parsed and letter in parsed:  # a parse that misses the answer's letter is no parse
                    choices, answer_type = parsed, AnswerType.MCQ
        if answer_type is AnswerType.MCQ and answer is not None:
            if choices:
                if letter in choices:
                    answer = letter
                else:
                    by_text = [k for k, v in choices.items() if v.casefold() == answer.casefold()]
                    if len(by_text) == 1:
                        meta["answer_text"] = answer
                        answer = by_text[0]
                    else:
                        reasons.append(
                            f"mcq answer {answer!r} is not one of the choices {', '.join(choices)}"
                        )
            elif letter:
                answer = letter
            else:
                reasons.append(f"mcq answer {answer!r} is not a choice letter and no choices were found")

        image, error = self._image(row.image)
        if error:
            reasons.append(error)

        if reasons:
            self.bad(row.id, "; ".join(reasons))
            return
        self.ids.add(row.id)
        self.pool.seeds.append(
            Seed(
                id=row.id,
                source=self.source,
                question=question,
                answer=answer,
                answer_type=answer_type,
                choices=choices if answer_type is AnswerType.MCQ else None,
                solution=_str(row.solution) or None,
                image=image,
                domain=_str(row.domain) or None,
                meta=meta,
            )
        )

    def _image(self, value: Any) -> tuple[str | None, str | None]:
        if value is None or (isinstance(value, str | list | tuple | dict) and not value):
            return None, None
        if isinstance(value, list | tuple):
            if len(value) > 1:
                return None, f"{len(value)} images; a seed holds one image"
            return self._image(value[0])
        if isinstance(value, dict):
            data, path = value.get("bytes"), value.get("path")
            if data:
                return self._image(bytes(data))
            return self._image(path) if path else (None, None)
        if isinstance(value, bytes | bytearray):
            return self._cache(bytes(value))
        if isinstance(value, str | os.PathLike):
            path = Path(value).expanduser()
            path = Path(os.path.abspath(path if path.is_absolute() else self.base / path))
            if not path.is_file():
                return None, f"image not found: {path}"
            error = _verify(path)
            return (None, f"unreadable image {path}: {error}") if error else (str(path), None)
        return None, f"image field holds {type(value).__name__}, not a path or image bytes"

    def _cache(self, data: bytes) -> tuple[str | None, str | None]:
        if self.image_cache is None:
            return (
                None,
                "image given as embedded bytes, but load_seeds got no image_cache folder to write it to",
            )
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as im:
                fmt = (im.format or "png").lower()
                im.verify()
        except Exception as exc:  # noqa: BLE001 - any decoder error means the same: unusable
            return None, f"unreadable image <embedded bytes>: {type(exc).__name__}: {exc}"
        ext = {"jpeg": "jpg", "tiff": "tif"}.get(fmt, fmt)
        target = Path(os.path.abspath(self.image_cache / f"{hashlib.sha256(data).hexdigest()[:24]}.{ext}"))
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
        return str(target), None


def _letter(answer: str | None) -> str | None:
    if answer is None:
        return None
    match = _LETTER.fullmatch(answer.strip())
    return match.group(1).upper() if match else None


def _verify(path: Path) -> str | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.verify()
    except Exception as exc:  # noqa: BLE001 - any decoder error means the same: unusable
        return f"{type(exc).__name__}: {exc}"
    return None


# ---------------------------------------------------------------------------------------------- entry point


def _existing(path: Path | None, what: str) -> Path:
    if path is None:
        raise SeedError(f"seeds.path is needed for {what}")
    path = Path(os.path.abspath(Path(path).expanduser()))
    if not path.exists():
        raise SeedError(f"seeds.path not found: {path} (set seeds.path to {what})")
    return path


def _data_file(config: SeedsConfig, what: str) -> Path:
    path = _existing(config.path, what)
    if not path.is_file():
        raise SeedError(f"seeds.path {path} is a folder; seeds.source '{config.source}' needs {what}")
    return path


def _find(folder: Path, names: tuple[str, ...], source: str) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise SeedError(
        f"seeds.path {folder}: no {' or '.join(names)} in it; point seeds.path at the {source} folder or file"
    )


def load_seeds(config: SeedsConfig, image_cache: Path | None = None) -> SeedPool:
    """Read the seed pool described by ``config``; broken seeds are reported in ``SeedPool.problems``.

    ``image_cache`` is the folder where images embedded as bytes (parquet / Hugging Face ``Image`` values) are
    written; without it such seeds are reported as problems. Raises ``SeedError`` only when the source cannot be
    read at all. Source ``program`` is not handled here (program seeds come from ``cadsynth.tasks``).
    """
    source = config.source
    image_dir = None
    if config.image_dir is not None:
        image_dir = Path(os.path.abspath(Path(config.image_dir).expanduser()))
        if not image_dir.is_dir():
            raise SeedError(f"seeds.image_dir not found or not a folder: {image_dir}")

    if source == "text":
        return _load_text(config)
    if source in ("jsonl", "json", "parquet"):
        path = _data_file(config, f"a .{source} seed file")
        rows, mapper, base = _file_rows(path, source), _mapped, path.parent
    elif source == "easyr1":
        path = _data_file(config, "an EasyR1 .parquet, .jsonl or .json file")
        kinds = {".parquet": "parquet", ".jsonl": "jsonl", ".json": "json"}
        if path.suffix.lower() not in kinds:
            raise SeedError(f"seeds.path {path}: an easyr1 seed file ends in .parquet, .jsonl or .json")
        rows, mapper, base = _file_rows(path, kinds[path.suffix.lower()]), _easyr1, path.parent
    elif source == "mathv":
        path = _existing(config.path, "the MATH-V folder (holding data/testmini.jsonl) or the jsonl file")
        if path.is_dir():
            base = path
            path = _find(
                path, ("data/testmini.jsonl", "testmini.jsonl", "data/test.jsonl", "test.jsonl"), source
            )
        else:
            base = path.parent.parent if path.parent.name == "data" else path.parent
        rows, mapper = _jsonl_rows(path), _mathv
    elif source == "dynamath":
        path = _existing(config.path, "the DynaMath variant folder (holding dataset.json) or the json file")
        if path.is_dir():
            path = _find(path, ("dataset.json",), source)
        rows, mapper, base = _json_rows(path), _dynamath, path.parent
    elif source == "program":
        raise SeedError("seeds.source 'program': program seeds come from cadsynth.tasks, not from load_seeds")
    else:
        raise SeedError(f"seeds.source '{source}' is not a seed file reader")

    builder = _Builder(source, image_dir or base, image_cache, config.limit)
    for raw in rows:
        if builder.full:
            break
        if isinstance(raw, _Bad):
            builder.bad(raw.id, raw.reason)
            continue
        default_id, obj, where = raw
        if not isinstance(obj, dict):
            builder.bad(default_id, f"{where}: not an object but {type(obj).__name__}")
            continue
        builder.add(mapper(default_id, obj, config.fields))
    return builder.pool


def _load_text(config: SeedsConfig) -> SeedPool:
    descriptions = [d.strip() for d in config.descriptions]
    if config.path is not None:
        path = _data_file(config, "a text file with one task description a line")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SeedError(f"cannot read task descriptions from {path}: {exc}") from None
        descriptions += [line.strip() for line in text.splitlines() if line.strip()]
    builder = _Builder("text", Path.cwd(), None, config.limit)
    first: dict[str, str] = {}
    for index, description in enumerate(descriptions):
        if builder.full:
            break
        seed_id = f"text-{index}"
        if not description:
            builder.bad(seed_id, "empty question")
        elif description in first:
            builder.bad(seed_id, f"duplicate description (same as {first[description]})")
        else:
            first[description] = seed_id
            builder.add(_Row(id=seed_id, question=description, parse_choices=False))
    return builder.pool
