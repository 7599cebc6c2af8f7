"""The report's plots: PNG files made with matplotlib (Agg), each with a title, axis labels and units."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Okabe-Ito, colour-blind safe, then a few greys
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
           "#999999", "#666666", "#BBBBBB"]
PARTITION_COLOURS = {"kept": "#009E73", "adversarial": "#E69F00", "discarded": "#D55E00"}
DPI = 100


def _figure(width: float = 6.4, height: float = 3.6):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return figure


def _save(figure, path: Path) -> None:
    figure.savefig(path, format="png", dpi=DPI)


def _empty(path: Path, title: str, message: str) -> None:
    figure = _figure(6.4, 2.2)
    ax = figure.subplots()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color="#555555", transform=ax.transAxes)
    ax.set_axis_off()
    _save(figure, path)


def _rounds_axis(ax, rounds: list[int]) -> None:
    ax.set_xlabel("round")
    ax.set_xticks(rounds)
    ax.grid(axis="y", alpha=0.3)


def _legend(ax, **kw: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False, **kw)


def funnel(summary: dict, path: Path) -> None:
    rounds = summary["rounds"]
    title = "Funnel per round: what happened to each generated sample"
    if not rounds:
        return _empty(path, title, "no committed samples yet")
    xs = [r["round"] for r in rounds]
    figure = _figure()
    ax = figure.subplots()
    bottom = [0] * len(rounds)
    layers = [("kept, C = K", [r["kept"] - r["adversarial"] for r in rounds], PARTITION_COLOURS["kept"]),
              ("adversarial, 0 < C < K", [r["adversarial"] for r in rounds], PARTITION_COLOURS["adversarial"])]
    others = iter(["#CC79A7", "#999999", "#56B4E9", "#666666", "#BBBBBB", "#F0E442", "#000000"] * 10)
    for reason in summary["reasons"]:  # C = 0 always red; other reasons in other colours
        colour = PARTITION_COLOURS["discarded"] if reason == "consensus_zero" else next(others)
        layers.append((f"discarded: {reason}", [r["reasons"].get(reason, 0) for r in rounds], colour))
    for label, values, colour in layers:
        ax.bar(xs, values, bottom=bottom, label=label, color=colour, width=0.7)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    figure.suptitle(title)
    ax.set_ylabel("samples (count)")
    _rounds_axis(ax, xs)
    _legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _save(figure, path)


def consensus(summary: dict, path: Path) -> None:
    """Each round's consensus histogram as one stacked bar: C = 0 red, through yellow, to C = K green."""
    rounds = summary["rounds"]
    title = "Consensus C of K per round"
    if not rounds:
        return _empty(path, title, "no committed samples yet")
    import matplotlib

    labels = sorted({k for r in rounds for k in r["consensus"]}, key=_ck_order)
    scale = matplotlib.colormaps["RdYlGn"]
    xs = [r["round"] for r in rounds]
    figure = _figure()
    ax = figure.subplots()
    bottom = [0.0] * len(rounds)
    for label in labels:
        if "/" in label and label.split("/")[1] != "0":
            c, k = (int(x) for x in label.split("/"))
            colour, name = scale(0.1 + 0.8 * c / k), f"C = {c} of K = {k}"
        else:
            colour, name = ("#BBBBBB", "not judged") if "/" not in label else ("#888888", "no votes (K = 0)")
        values = [100 * r["consensus"].get(label, 0) / (r["generated"] or 1) for r in rounds]
        ax.bar(xs, values, bottom=bottom, label=name, color=colour, width=0.7, edgecolor="white", linewidth=0.5)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    figure.suptitle(title)
    ax.set_ylabel("share of the round's samples (%)")
    ax.set_ylim(0, 100)
    _rounds_axis(ax, xs)
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0),
              ncol=1 if len(labels) <= 12 else 2)
    _save(figure, path)


def _ck_order(label: str) -> tuple:
    if "/" not in label:
        return (999, 0)
    c, k = label.split("/")
    return (int(k), int(c))


def adversarial_share(summary: dict, path: Path) -> None:
    rounds = summary["rounds"]
    title = "Adversarial and kept share over rounds"
    if not rounds:
        return _empty(path, title, "no committed samples yet")
    xs = [r["round"] for r in rounds]
    figure = _figure()
    ax = figure.subplots()
    ax.plot(xs, [100 * r["adversarial_share"] for r in rounds], marker="o", color=PARTITION_COLOURS["adversarial"],
            label="adversarial (0 < C < K)")
    ax.plot(xs, [100 * r["kept_share"] for r in rounds], marker="s", color=PARTITION_COLOURS["kept"],
            label="kept (C ≥ 1, adversarial included)", linestyle="--")
    ax.set_ylim(0, 100)
    figure.suptitle(title)
    ax.set_ylabel("share of generated samples (%)")
    _rounds_axis(ax, xs)
    _legend(ax, loc="best")
    _save(figure, path)


def _stacked_share(ax, rounds: list[dict], key: str, title: str) -> None:
    xs = [r["round"] for r in rounds]
    names = sorted({k for r in rounds for k in r[key]})
    bottom = [0.0] * len(rounds)
    for i, name in enumerate(names):
        values = [100 * r[key].get(name, 0) / (r["generated"] or 1) for r in rounds]
        ax.bar(xs, values, bottom=bottom, label=name.replace("_", " "), color=COLOURS[i % len(COLOURS)], width=0.7)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(title)
    ax.set_ylabel("share of generated (%)")
    ax.set_ylim(0, 100)
    _rounds_axis(ax, xs)
    _legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def mix(summary: dict, path: Path) -> None:
    rounds = summary["rounds"]
    if not rounds:
        return _empty(path, "Meta-strategy and domain mix", "no committed samples yet")
    figure = _figure(6.4, 5.6)
    top, bottom = figure.subplots(2, 1)
    _stacked_share(top, rounds, "strategy", "Meta-strategy mix per round")
    _stacked_share(bottom, rounds, "domain", "Domain mix per round")
    _save(figure, path)


def difficulty(summary: dict, contexts: dict[str, list[dict]], path: Path) -> None:
    """Expected difficulty under each program context version (solid), and observed in each round (dashed)."""
    title = "Difficulty knob per family (program members)"
    program = {k: v for k, v in contexts.items() if v and isinstance(v[0].get("difficulty"), dict)}
    observed = summary["rounds"]
    families = sorted({f for versions in program.values() for c in versions for f in c["difficulty"]}
                      | {f for r in observed for f in r["difficulty"]})
    if not families:
        return _empty(path, title, "no program member contexts or difficulties in this run")
    figure = _figure()
    ax = figure.subplots()
    for i, family in enumerate(families):
        colour = COLOURS[i % len(COLOURS)]
        by_version: dict[int, list[float]] = {}
        for versions in program.values():  # per-seed contexts: averaged over seeds
            for n, c in enumerate(versions):
                dist = c["difficulty"].get(family)
                if dist:
                    total = sum(dist.values()) or 1
                    by_version.setdefault(c.get("version", n), []).append(
                        sum(float(level) * p for level, p in dist.items()) / total)
        if by_version:
            vs = sorted(by_version)
            # version v is in force in round v + 1
            ax.plot([v + 1 for v in vs], [sum(by_version[v]) / len(by_version[v]) for v in vs], marker="o",
                    color=colour, label=f"{family}: context (expected)")
        points = [(r["round"], r["difficulty"][family]) for r in observed if family in r["difficulty"]]
        if points:
            ax.plot(*zip(*points, strict=True), marker="x", linestyle="--", color=colour,
                    label=f"{family}: generated (mean)")
    figure.suptitle(title)
    ax.set_xlabel("round (context version v is used in round v + 1)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("difficulty level (1 easy – 3 hard)")
    ax.set_ylim(0.8, 3.2)
    ax.grid(alpha=0.3)
    _legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _save(figure, path)


def diversity(summary: dict, path: Path) -> None:
    rounds = summary["rounds"]
    title = "Diversity per round (proxy: distinct share)"
    if not rounds:
        return _empty(path, title, "no committed samples yet")
    xs = [r["round"] for r in rounds]
    figure = _figure()
    ax = figure.subplots()
    lines = [("distinct_questions", "distinct question texts / samples"),
             ("distinct_templates", "distinct question templates (numbers masked) / samples"),
             ("distinct_images", "distinct images / samples with an image")]
    for i, (key, label) in enumerate(lines):
        ax.plot(xs, [100 * r["diversity"][key] for r in rounds], marker="o", label=label, color=COLOURS[i])
    ax.set_ylim(0, 105)
    figure.suptitle(title)
    ax.set_ylabel("distinct share (%)")
    _rounds_axis(ax, xs)
    _legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
    _save(figure, path)


def agreement(summary: dict, path: Path) -> None:
    data = summary["agreement"]
    judges = data["judges"]
    title = "Judge agreement: how often two judges give the same answer"
    if len(judges) < 2:
        return _empty(path, title, "fewer than two judges voted")
    size = min(9.0, max(3.6, 0.9 * len(judges) + 1.6))
    figure = _figure(size + 1.6, size)
    ax = figure.subplots()
    import matplotlib
    import numpy as np

    matrix = np.array([[np.nan if v is None or i == j else 100 * v for j, v in enumerate(row)]
                       for i, row in enumerate(data["rate"])], dtype=float)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#eeeeee")
    image = ax.imshow(np.ma.masked_invalid(matrix), vmin=0, vmax=100, cmap=cmap)
    for i in range(len(judges)):
        for j in range(len(judges)):
            if i == j:
                text = "—"
            elif data["count"][i][j]:
                text = f"{matrix[i, j]:.0f}%\nn={data['count'][i][j]}"
            else:
                text = "n=0"
            value = matrix[i, j]
            ax.text(j, i, text, ha="center", va="center", fontsize=9,
                    color="black" if np.isnan(value) or value > 60 else "white")
    ax.set_xticks(range(len(judges)), judges, rotation=30 if len(judges) > 4 else 0)
    ax.set_yticks(range(len(judges)), judges)
    ax.set_xlabel("judge")
    ax.set_ylabel("judge")
    figure.suptitle(title, fontsize=11)
    colourbar = figure.colorbar(image, ax=ax, shrink=0.8)
    colourbar.set_label("equivalent answers, both voted (%)")
    _save(figure, path)


def accuracy(summary: dict, path: Path) -> None:
    judges = summary["judges"]
    title = "Per-judge accuracy against the reference"
    if not judges:
        return _empty(path, title, "no judge votes yet")
    figure = _figure()
    ax = figure.subplots()
    names = [j["name"] for j in judges]
    values = [100 * (j["accuracy"] or 0) for j in judges]
    bars = ax.bar(names, values, color=[COLOURS[i % len(COLOURS)] for i in range(len(names))], width=0.6)
    for bar, j in zip(bars, judges, strict=True):
        v = j["verdicts"]
        ax.annotate(f"{(j['accuracy'] or 0):.0%} of {v['correct'] + v['wrong']}\n"
                    f"abstain {v['abstain']}, error {v['error']}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 2), textcoords="offset points")
    ax.set_ylim(0, 118)
    ax.set_yticks(range(0, 101, 20))
    figure.suptitle(title)
    ax.set_xlabel("judge")
    ax.set_ylabel("correct / (correct + wrong) (%)")
    ax.grid(axis="y", alpha=0.3)
    _save(figure, path)


PLOTS = [
    ("funnel", "Funnel per round", "What happened to each generated sample, per round."),
    ("consensus", "Consensus histogram per round", "Each bar is one round's histogram of C of K (C judges reached "
     "the reference, of the K that voted), as shares of its samples."),
    ("adversarial", "Adversarial share over rounds", "Adversarial (0 < C < K) and kept share of generated samples."),
    ("mix", "Meta-strategy and domain mix", "Share of generated samples per meta-strategy and per domain."),
    ("difficulty", "Difficulty trajectory", "Expected difficulty under the program context in force each round "
     "(solid) and the mean difficulty generated (dashed)."),
    ("diversity", "Diversity per round (proxy)", "A cheap proxy, not a diversity model: distinct question texts, "
     "question templates (numbers masked) and images, as a share of the round's samples."),
    ("agreement", "Judge agreement matrix", "For each pair of judges, the share of samples both voted on where "
     "their extracted answers are equivalent."),
    ("accuracy", "Per-judge accuracy", "correct / (correct + wrong) against the reference; abstentions and "
     "failed calls are not counted."),
]


def listing() -> list[dict[str, str]]:
    return [{"name": name, "file": f"plots/{name}.png", "title": title, "caption": caption}
            for name, title, caption in PLOTS]


def render_all(summary: dict, contexts: dict[str, list[dict]], out: Path) -> list[dict[str, str]]:
    """Write every plot into `out` (a folder); returns [{name, file, title, caption}]."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    out.mkdir(parents=True, exist_ok=True)
    makers = {"funnel": funnel, "consensus": consensus, "adversarial": adversarial_share, "mix": mix,
              "difficulty": lambda s, p: difficulty(s, contexts, p), "diversity": diversity,
              "agreement": agreement, "accuracy": accuracy}
    for name, _, _ in PLOTS:
        path = out / f"{name}.png"
        tmp = out / f".{name}.tmp.png"
        makers[name](summary, tmp)
        os.replace(tmp, path)
    return listing()
