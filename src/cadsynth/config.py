"""The run configuration: one YAML file validated by pydantic; every field has a default.

Unknown keys are rejected with their path and the closest known key. Secrets are never fields: a config names
the environment variable that holds a key (``api_key_env``), and the value is read only when a call is made.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cadsynth.records import Strategy


class ConfigError(ValueError):
    """A configuration problem, with a message that says what to fix."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class FieldMap(Section):
    """Which source field holds each part of a seed (for jsonl/json/parquet seed files)."""

    id: str | None = "id"
    question: str = "question"
    answer: str | None = "answer"
    image: str | None = "image"
    choices: str | None = "choices"
    answer_type: str | None = "answer_type"
    solution: str | None = "solution"
    domain: str | None = "domain"


class SeedsConfig(Section):
    """Where the seed pool comes from."""

    source: Literal["program", "jsonl", "json", "parquet", "easyr1", "mathv", "dynamath", "text"] = "program"
    path: Path | None = None  # file (or, for mathv/dynamath, the dataset folder)
    image_dir: Path | None = None  # where relative image paths resolve; defaults to the file's folder
    fields: FieldMap = Field(default_factory=FieldMap)
    limit: int | None = Field(default=None, ge=1)
    # program seeds: parent instances drawn from the built-in task families
    families: list[str] = Field(default_factory=lambda: ["bars", "grid", "shapes"])
    per_family: int = Field(default=8, ge=1)
    # text-only task descriptions (source: text), e.g. "bar charts with 4-6 bars, percent change"
    descriptions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _path_needed(self) -> SeedsConfig:
        if self.source not in ("program", "text") and self.path is None:
            raise ValueError(f"seeds.source '{self.source}' needs seeds.path (a file or dataset folder)")
        if self.source == "text" and not self.descriptions and self.path is None:
            raise ValueError("seeds.source 'text' needs seeds.descriptions or seeds.path (one description a line)")
        return self


class ModelEndpoint(Section):
    """One model behind an OpenAI-compatible API (a gateway, vLLM, SGLang, llama.cpp, Ollama), or via LiteLLM.

    The base URL and key come from the environment variables named here, read when a call is made, so neither
    lands in a config file, a log or a run manifest. Calls are pooled per `model` (see `executor.endpoints`).
    """

    model: str
    api: Literal["chat", "completions", "images", "litellm"] = Field(
        default="chat", description="chat completions; text completions for base models; images generations"
    )
    base_url: str | None = Field(default=None, description="e.g. http://127.0.0.1:8000/v1; else base_url_env")
    base_url_env: str | None = "OPENAI_BASE_URL"
    api_key_env: str | None = Field(default="OPENAI_API_KEY", description="None: no key (local servers)")
    vision: bool = Field(default=True, description="accepts image parts (False: text-only, gets captions)")
    max_tokens: int = Field(default=2048, ge=1)
    temperature: float = Field(default=0.7, ge=0)
    price_in_per_mtok: float | None = Field(default=None, ge=0, description="USD per 1M prompt tokens")
    price_out_per_mtok: float | None = Field(default=None, ge=0, description="USD per 1M completion tokens")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="provider-specific request fields")


class ProgramMemberConfig(Section):
    """A generator member made of the built-in task programs."""

    kind: Literal["program"] = "program"
    name: str = "program"
    candidates: int = Field(default=4, ge=1, description="candidates per seed per round")
    mcq_share: float = Field(default=0.25, ge=0, le=1, description="share of candidates in multiple-choice form")


GeneratorConfig = ProgramMemberConfig  # LLM members join this union (discriminated by `kind`)


class LocalJudgeConfig(Section):
    """A small vision-language model run in-process on the CPU."""

    kind: Literal["local"] = "local"
    name: str
    weights: str  # "builtin:<name>" or a directory written by `cadsynth local train`


JudgeConfig = LocalJudgeConfig  # endpoint judges join this union (discriminated by `kind`)


def _default_judges() -> list[LocalJudgeConfig]:
    return [LocalJudgeConfig(name=n, weights=f"builtin:{n}") for n in ("judge-a", "judge-b", "judge-c")]


class LoopConfig(Section):
    """When rounds happen and when the run stops."""

    max_rounds: int = Field(default=10, ge=1, description="rounds per seed (the paper: up to 10)")
    target_kept: int | None = Field(default=200, ge=1, description="stop once this many samples are kept")
    budget_usd: float | None = Field(default=None, ge=0, description="stop once this much is spent")
    strategy_assignment: Literal["context", "round_robin"] = "context"
    allowed_strategies: list[Strategy] = Field(default_factory=lambda: list(Strategy))


class ContextConfig(Section):
    """Adversarial context optimisation for program members: a distribution over family, strategy, difficulty."""

    learning_rate: float = Field(default=8.0, gt=0, description="step size of the multiplicative update")
    floor: float = Field(default=0.04, ge=0, lt=0.25, description="minimum probability of any option")
    scope: Literal["per_seed", "global"] = Field(
        default="per_seed", description="one context per seed as in the paper, or one for the whole run"
    )


class ChecksConfig(Section):
    """Checks beyond consensus: what to do with a sample that fails one (discard it, keep it flagged, or skip)."""

    image_needed: Literal["discard", "flag", "off"] = Field(
        default="flag", description="judges also answer without the image; solvable blind = image not needed"
    )
    image_needed_share: float = Field(default=0.5, gt=0, le=1, description="share of blind voters that must be right")
    reference_disputed: Literal["discard", "flag", "off"] = Field(
        default="flag", description="judges rejecting the reference agree on another answer; never adversarial"
    )
    dispute_min_agreeing: int = Field(default=2, ge=1, description="judges that must agree on the other answer")
    ocr: Literal["off", "flag", "discard"] = Field(
        default="off", description="read the image's text: labels visible, answer not printed (~1 s/image on CPU)"
    )
    near_duplicates: Literal["off", "flag", "discard"] = Field(
        default="off", description="question embedding + image hash against the seeds and earlier kept samples"
    )
    duplicate_text_similarity: float = Field(default=0.85, gt=0, le=1, description="cosine, MiniLM embeddings")
    duplicate_image_bits: int = Field(default=6, ge=0, le=64, description="Hamming distance of 64-bit pHashes")
    early_stop: bool = Field(
        default=False, description="stop asking judges once a sample is surely adversarial (exact C is lost)"
    )


class EndpointPolicy(Section):
    """How the executor treats one endpoint: concurrency, retries, timeouts, circuit breaker."""

    max_concurrency: int = Field(default=16, ge=1)
    min_concurrency: int = Field(default=1, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=6, ge=0)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    breaker_failures: int = Field(default=20, ge=1, description="consecutive failures that open the breaker")
    breaker_cooldown_s: float = Field(default=30.0, ge=0)


class ExecutorConfig(Section):
    policy: Literal["keep_going", "fail_fast"] = "keep_going"
    cpu_workers: int | None = Field(default=None, ge=1, description="processes for rendering; default: cores")
    units_in_flight: int = Field(default=8, ge=1, description="(seed, round) units processed concurrently")
    endpoints: dict[str, EndpointPolicy] = Field(default_factory=dict)


class RunConfig(Section):
    name: str = "default"
    seed: int = 0
    runs_dir: Path = Path("runs")
    seeds: SeedsConfig = Field(default_factory=SeedsConfig)
    generators: list[GeneratorConfig] = Field(default_factory=lambda: [ProgramMemberConfig()])
    judges: list[JudgeConfig] = Field(default_factory=_default_judges)
    loop: LoopConfig = Field(default_factory=LoopConfig)
    context: ContextConfig = Field(default_factory=ContextConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)

    @model_validator(mode="after")
    def _unique_names(self) -> RunConfig:
        for group, members in (("generators", self.generators), ("judges", self.judges)):
            names = [m.name for m in members]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{group}: names must be unique, repeated: {', '.join(dupes)}")
        if not self.judges:
            raise ValueError("judges: at least one judge is needed to compute consensus")
        return self

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.name


def _known_keys(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    """The field names valid at ``path`` inside ``model`` (best effort, for suggestions)."""
    current: Any = model
    for part in path:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def explain(error: ValidationError) -> str:
    """Turn a pydantic error into lines that say where the problem is and what to write instead."""
    lines = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p in {"program", "local"}))
        where = ".".join(str(p) for p in loc) or "(top level)"
        if item["type"] == "extra_forbidden":
            known = _known_keys(RunConfig, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else (f"; known keys: {', '.join(known)}" if known else "")
            lines.append(f"{where}: unknown key{hint}")
        else:
            lines.append(f"{where}: {item['msg']}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any] | None) -> RunConfig:
    try:
        return RunConfig.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(explain(exc)) from None


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a YAML config (or none: the embedded default), apply dotted-key overrides, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        if not path.exists():
            raise ConfigError(f"config file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys, not {type(loaded).__name__}")
        data = loaded or {}
        base = path.parent
        seeds = data.get("seeds")
        if isinstance(seeds, dict):  # relative seed paths resolve against the config file
            for key in ("path", "image_dir"):
                if isinstance(seeds.get(key), str) and not Path(seeds[key]).is_absolute():
                    seeds[key] = str((base / seeds[key]).resolve())
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return parse_config(data)


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
