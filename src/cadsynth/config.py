"""The run configuration: one YAML file validated by pydantic; every field has a default.

Unknown keys are rejected with their path and the closest known key. Secrets are never fields: a config names
the environment variable that holds a key (``api_key_env``), and the value is read only when a call is made.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, model_validator

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
    # the families the shipped judges see best (`cadsynth local report`); isomorphic transfer reaches every
    # family (`cadsynth.tasks`)
    families: list[str] = Field(default_factory=lambda: ["bars", "grid", "shapes", "scatter", "molecules"])
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


class LLMMemberConfig(Section):
    """A generator member backed by a language model: rationale analysis, synthesis, construction, drawing."""

    kind: Literal["llm"] = "llm"
    name: str
    model: ModelEndpoint
    candidates: int = Field(default=2, ge=1, description="candidates per seed per round")
    image_route: Literal["code", "text_to_image"] = Field(
        default="code", description="the member writes rendering code (run in the sandbox), or a visual prompt"
    )
    code_language: Literal["matplotlib", "svg", "dot"] = "matplotlib"
    image_model: ModelEndpoint | None = Field(default=None, description="the images endpoint (text_to_image)")
    strategy_choice: Literal["round_robin", "model"] = Field(
        default="round_robin", description="meta-strategy per candidate: assigned in turn, or chosen by the model"
    )
    mcq_share: float = Field(default=0.5, ge=0, le=1, description="share of candidates asked as multiple choice")
    templates: Path | None = Field(default=None, description="a folder whose template files replace the shipped ones")

    @model_validator(mode="after")
    def _route_needs(self) -> LLMMemberConfig:
        if self.image_route == "text_to_image" and self.image_model is None:
            raise ValueError(f"generator '{self.name}': image_route text_to_image needs image_model")
        return self


def _kind(default: str) -> Callable[[Any], str]:
    def tag(value: Any) -> str:
        return value.get("kind", default) if isinstance(value, dict) else getattr(value, "kind", default)

    return tag


GeneratorConfig = Annotated[
    Annotated[ProgramMemberConfig, Tag("program")] | Annotated[LLMMemberConfig, Tag("llm")],
    Discriminator(_kind("program")),
]


class LocalJudgeConfig(Section):
    """A small vision-language model run in-process on the CPU."""

    kind: Literal["local"] = "local"
    name: str
    weights: str  # "builtin:<name>" or a directory written by `cadsynth local train`


class EndpointJudgeConfig(Section):
    """A judge behind an OpenAI-compatible endpoint. A text-only model answers from a caption of the image
    written by the vision judge named in `caption_by` (caption mode, as the paper did for DeepSeek-R1)."""

    kind: Literal["endpoint"] = "endpoint"
    name: str
    model: ModelEndpoint
    caption_by: str | None = None


JudgeConfig = Annotated[
    Annotated[LocalJudgeConfig, Tag("local")] | Annotated[EndpointJudgeConfig, Tag("endpoint")],
    Discriminator(_kind("local")),
]


def _default_judges() -> list[LocalJudgeConfig]:
    return [LocalJudgeConfig(name=n, weights=f"builtin:{n}") for n in ("judge-a", "judge-b", "judge-c")]


class LoopConfig(Section):
    """When rounds happen and when the run stops."""

    max_rounds: int = Field(default=10, ge=1, description="rounds per seed (the paper: up to 10)")
    target_kept: int | None = Field(
        default=200, ge=1, description="stop once the committee kept this many (C >= 1; unjudged samples not counted)")
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
    reflector: ModelEndpoint | None = Field(
        default=None, description="the model that rewrites the guidance of LLM members from adversarial samples"
    )
    max_guidance_chars: int = Field(default=1500, ge=100, description="length cap of the rewritten guidance")


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
    llm_equivalence: ModelEndpoint | None = Field(
        default=None, description="asked when the rules find a judge's answer unequal; never counts as a judge"
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
    kind: Literal["local", "ray"] = Field(default="local", description="this machine, or a Ray cluster (extra: ray)")
    ray_address: str | None = Field(default=None, description="Ray cluster address; None starts or joins a local one")
    policy: Literal["keep_going", "fail_fast"] = "keep_going"
    cpu_workers: int | None = Field(default=None, ge=1, description="processes for rendering; default: cores")
    units_in_flight: int = Field(default=8, ge=1, description="(seed, round) units processed concurrently")
    http_actors: int = Field(default=4, ge=1, description="kind ray: async actors that send the HTTP requests")
    endpoints: dict[str, EndpointPolicy] = Field(default_factory=dict)


class SandboxConfig(Section):
    """Limits of the sandbox that renders model-written code (one fresh process per image, from a warm pool)."""

    workers: int | None = Field(default=None, ge=1, description="warm worker processes; default: cores")
    cpu_s: int = Field(default=10, gt=0)
    wall_s: float = Field(default=20, gt=0)
    memory_mb: int = Field(default=1024, ge=64)
    output_mb: int = Field(default=16, ge=1)


MODEL_SLOTS = (("generators", "model"), ("generators", "image_model"), ("judges", "model"))


class RunConfig(Section):
    name: str = "default"
    seed: int = 0
    runs_dir: Path = Path("runs")
    models: dict[str, ModelEndpoint] = Field(
        default_factory=dict, description="named endpoints; anywhere an endpoint goes, its name may stand instead"
    )
    seeds: SeedsConfig = Field(default_factory=SeedsConfig)
    generators: list[GeneratorConfig] = Field(default_factory=lambda: [ProgramMemberConfig()])
    judges: list[JudgeConfig] = Field(default_factory=_default_judges)
    loop: LoopConfig = Field(default_factory=LoopConfig)
    context: ContextConfig = Field(default_factory=ContextConfig)
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)

    @model_validator(mode="before")
    @classmethod
    def _named_models(cls, data: Any) -> Any:
        """Replace model names by their entries in `models` (a generator or judge may say `model: gpt-4o`)."""
        if not isinstance(data, dict) or not isinstance(data.get("models", {}), dict):
            return data
        models = data.get("models", {})

        def resolve(value: Any, where: str) -> Any:
            if not isinstance(value, str):
                return value
            if value not in models:
                known = ", ".join(sorted(models)) or "none: add a models: section"
                raise ValueError(f"{where}: no model named '{value}' in models (known: {known})")
            return models[value]

        data = dict(data)
        for group, slot in MODEL_SLOTS:
            if isinstance(data.get(group), list):
                data[group] = [{**m, slot: resolve(m[slot], f"{group}.{i}.{slot}")}
                               if isinstance(m, dict) and slot in m else m for i, m in enumerate(data[group])]
        for section, slot in (("context", "reflector"), ("checks", "llm_equivalence")):
            if isinstance(data.get(section), dict) and slot in data[section]:
                data[section] = {**data[section], slot: resolve(data[section][slot], f"{section}.{slot}")}
        return data

    @model_validator(mode="after")
    def _captions(self) -> RunConfig:
        vision = {j.name for j in self.judges if isinstance(j, EndpointJudgeConfig) and j.model.vision}
        for judge in self.judges:
            if not isinstance(judge, EndpointJudgeConfig):
                continue
            if judge.caption_by is not None and judge.caption_by not in vision:
                raise ValueError(f"judges: '{judge.name}'.caption_by must name a judge with vision: true "
                                 f"(have: {', '.join(sorted(vision)) or 'none'})")
            if not judge.model.vision and judge.caption_by is None:
                raise ValueError(f"judges: '{judge.name}' is text-only (vision: false); set caption_by to a "
                                 "vision judge that captions the image for it")
        return self

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
    current: list[type[BaseModel]] = [model]
    for part in path:
        if isinstance(part, int):
            continue
        fields = [m.model_fields[part] for m in current if part in m.model_fields]
        if not fields:
            return []
        current = _models_in(fields[0].annotation)
    return [name for m in current for name in m.model_fields]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through lists, unions and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found += [m for m in _models_in(arg) if m not in found]
    return found


def explain(error: ValidationError) -> str:
    """Turn a pydantic error into lines that say where the problem is and what to write instead."""
    lines = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p in {"program", "local", "llm", "endpoint"}))
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
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
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
