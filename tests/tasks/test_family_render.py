"""Rendering checks of the task families, on a few scenes per family and difficulty (rendering is slow).

Every label a question relies on must be in the 448x448 image at a readable size, and the marks must sit where
the scene's values put them (checked by pixel sampling through the axes' data transform).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from cadsynth.tasks import DIFFICULTIES, FAMILIES
from cadsynth.tasks.base import PALETTE
from cadsynth.tasks.render import SIZE_PX, text_boxes, to_image

SCENES_PER_CASE = 3
MIN_TEXT_PX = 10  # an 11 pt label at 100 dpi is ~15 px tall
MARGIN_PX = 1


def hex_rgb(name: str) -> np.ndarray:
    code = PALETTE[name].lstrip("#")
    return np.array([int(code[i : i + 2], 16) for i in (0, 2, 4)], dtype=float)


def near(pixel: np.ndarray, colour: np.ndarray, tol: float = 40) -> bool:
    return float(np.abs(pixel.astype(float) - colour).max()) <= tol


def scenes(family: str, difficulty: int) -> list[dict]:
    """A few scenes, the fullest variants included: for bars at the top level one bar and one line chart."""
    rng = np.random.default_rng(100 * difficulty + len(family))
    fam = FAMILIES[family]
    out = [fam.scene(rng, difficulty) for _ in range(SCENES_PER_CASE - 1)]
    out.append(fam.extend_scene(fam.scene(rng, difficulty), rng))  # one more element than the knobs allow
    if family == "bars" and difficulty == 3:
        styles = {s["style"] for s in out}
        while len(styles) < 2:
            candidate = fam.scene(rng, difficulty)
            if candidate["style"] not in styles:
                out[0] = candidate
                styles = {s["style"] for s in out}
    return out


CASES = [(f, d, i) for f in FAMILIES for d in DIFFICULTIES for i in range(SCENES_PER_CASE)]


@pytest.fixture(scope="module")
def drawn():
    """(figure, image, text boxes) per case, drawn once for all the checks."""
    cache = {}

    def get(family: str, difficulty: int, i: int):
        key = (family, difficulty, i)
        if key not in cache:
            scene = scenes(family, difficulty)[i]
            fig = FAMILIES[family].draw(scene)
            boxes = text_boxes(fig)
            cache[key] = scene, fig, np.asarray(to_image(fig)), boxes
        return cache[key]

    return get


def data_to_pixel(ax, x: float, y: float) -> tuple[int, int]:
    """(row, column) in the image of a data point, origin top-left."""
    px, py = ax.transData.transform((x, y))
    return int(round(SIZE_PX - py)), int(round(px))


def box_centre_y(box) -> float:
    return (box[1] + box[3]) / 2


def disjoint(a, b) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


@pytest.mark.parametrize(("family", "difficulty", "i"), CASES)
def test_image_is_square_rgb_and_not_blank(drawn, family, difficulty, i):
    _, _, image, _ = drawn(family, difficulty, i)
    assert image.shape == (SIZE_PX, SIZE_PX, 3)
    assert image.dtype == np.uint8
    non_white = (image < 240).any(axis=2).mean()
    assert non_white > 0.01, f"almost blank: {non_white:.4f} of pixels drawn"
    packed = (image[..., 0].astype(np.int32) << 16) | (image[..., 1].astype(np.int32) << 8) | image[..., 2]
    assert len(np.unique(packed)) > 8


@pytest.mark.parametrize(("family", "difficulty", "i"), CASES)
def test_every_text_inside_the_image_and_readable(drawn, family, difficulty, i):
    _, _, _, boxes = drawn(family, difficulty, i)
    for text, (x0, y0, x1, y1) in boxes:
        assert x0 >= MARGIN_PX - 1 and y0 >= MARGIN_PX - 1, f"{text!r} cut off at top/left: {(x0, y0, x1, y1)}"
        assert x1 <= SIZE_PX - MARGIN_PX + 1 and y1 <= SIZE_PX - MARGIN_PX + 1, f"{text!r} cut off: {(x0, y0, x1, y1)}"
        assert min(x1 - x0, y1 - y0) >= MIN_TEXT_PX * 0.6 and max(x1 - x0, y1 - y0) >= MIN_TEXT_PX, (
            f"{text!r} too small: {(x0, y0, x1, y1)}")


@pytest.mark.parametrize(("difficulty", "i"), [(d, i) for d in DIFFICULTIES for i in range(SCENES_PER_CASE)])
def test_bars_labels_ticks_and_marks(drawn, difficulty, i):
    scene, fig, image, boxes = drawn("bars", difficulty, i)
    ax = fig.axes[0]
    texts = Counter(t for t, _ in boxes)
    by_text = {t: b for t, b in boxes}
    # every category label once, left to right in scene order, not overlapping
    label_boxes = [by_text[lab] for lab in scene["labels"]]
    assert all(texts[lab] == 1 for lab in scene["labels"]), texts
    assert [b[0] for b in label_boxes] == sorted(b[0] for b in label_boxes)
    assert all(disjoint(a, b) for a, b in zip(label_boxes, label_boxes[1:], strict=False))
    # every gridline value is a y tick, level with its gridline; so every bar value can be read off
    for v in range(0, scene["ymax"] + 1, 10):
        assert str(v) in by_text, f"y tick {v} missing"
        row, _ = data_to_pixel(ax, 0, v)
        assert abs(box_centre_y(by_text[str(v)]) - row) <= 3, f"tick {v} not level with its gridline"
    for v in scene["values"]:
        assert str(v) in texts
    # the marks: bar heights / line points equal the values, and the pixels agree
    if scene["style"] == "bar":
        heights = [p.get_height() for p in ax.patches]
        assert heights == scene["values"]
        for k, (v, colour) in enumerate(zip(scene["values"], scene["colours"], strict=True)):
            row, col = data_to_pixel(ax, k, v)
            assert near(image[row + 4, col], hex_rgb(colour)), f"bar {k} not filled just below {v}"
            assert not near(image[row - 4, col], hex_rgb(colour)), f"bar {k} taller than {v}"
    else:
        assert list(ax.lines[0].get_ydata()) == scene["values"]
        for k, v in enumerate(scene["values"]):
            row, col = data_to_pixel(ax, k, v)
            assert near(image[row, col], hex_rgb("blue")), f"no marker at ({k}, {v})"


@pytest.mark.parametrize(("difficulty", "i"), [(d, i) for d in DIFFICULTIES for i in range(SCENES_PER_CASE)])
def test_grid_point_names_ticks_and_markers(drawn, difficulty, i):
    scene, fig, image, boxes = drawn("grid", difficulty, i)
    ax = fig.axes[0]
    texts = Counter(t for t, _ in boxes)
    for p in scene["points"]:
        assert texts[p["name"]] == 1, f"point name {p['name']} shown {texts[p['name']]} times"
        row, col = data_to_pixel(ax, p["x"], p["y"])
        assert near(image[row, col], hex_rgb(p["colour"])), f"no {p['colour']} marker at {p}"
        (name_box,) = [b for t, b in boxes if t == p["name"]]
        assert abs((name_box[0] + name_box[2]) / 2 - col) < 40 and abs(box_centre_y(name_box) - row) < 40, (
            "point name far from its point")
    for v in range(scene["size"] + 1):  # one x tick and one y tick per grid line
        assert texts[str(v)] == 2, f"tick {v}"
    ticks = [b for t, b in boxes if t.isdigit()]
    assert all(disjoint(a, b) for k, a in enumerate(ticks) for b in ticks[k + 1 :]), "tick labels overlap"
    # the shaded rectangle is where the scene says: filled half a cell inside each corner, not half a cell out
    r = scene["rect"]
    x0, y0, x1, y1 = r["x0"], r["y0"], r["x0"] + r["w"], r["y0"] + r["h"]
    for (xi, yi), inside in [((x0 + 0.5, y0 + 0.5), True), ((x1 - 0.5, y1 - 0.5), True),
                             ((x0 - 0.5, y0 + 0.5), False), ((x1 + 0.5, y1 - 0.5), False)]:
        if not (0 < xi < scene["size"] and 0 < yi < scene["size"]):
            continue
        row, col = data_to_pixel(ax, xi, yi)
        if any(b[0] - 2 <= col <= b[2] + 2 and b[1] - 2 <= row <= b[3] + 2 for _, b in boxes):
            continue  # a point name covers the sample
        pixel = image[row, col].astype(float)
        shaded = pixel[0] > 200 and pixel[1] > 200 and pixel[2] < 200
        assert shaded == inside, f"rectangle fill wrong at ({xi}, {yi}): {pixel}"


@pytest.mark.parametrize(("difficulty", "i"), [(d, i) for d in DIFFICULTIES for i in range(SCENES_PER_CASE)])
def test_shapes_sit_where_the_scene_says(drawn, difficulty, i):
    scene, fig, image, boxes = drawn("shapes", difficulty, i)
    ax = fig.axes[0]
    assert boxes == []  # shapes questions need no text
    for s in scene["shapes"]:
        row, col = data_to_pixel(ax, s["x"], s["y"])
        assert near(image[row, col], hex_rgb(s["colour"])), f"no {s['colour']} {s['kind']} at {s}"
    if scene["divider"] is not None:
        _, col = data_to_pixel(ax, scene["divider"], 0.5)
        column = image[:, col].astype(float)
        dark = (column.max(axis=1) < 80).mean()
        assert dark > 0.3, f"no dashed line at x = {scene['divider']}"
