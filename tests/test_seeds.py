import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from cadsynth.config import FieldMap, SeedsConfig
from cadsynth.records import AnswerType
from cadsynth.seeds import (
    SeedError,
    infer_answer_type,
    load_seeds,
    normalise_answer_type,
    parse_choices,
    strip_image_placeholders,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MATHV = DATA / "mathv"
DYNAMATH = DATA / "dynamath" / "trial1"

needs_mathv = pytest.mark.skipif(
    not (MATHV / "data" / "testmini.jsonl").is_file(), reason=f"MATH-V testmini not found under {MATHV}"
)
needs_dynamath = pytest.mark.skipif(
    not (DYNAMATH / "dataset.json").is_file(), reason=f"DynaMath trial1 not found under {DYNAMATH}"
)


def png(path: Path, color: str = "red") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), color).save(path)
    return path


def png_bytes(color: str = "blue") -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (5, 5), color).save(buffer, format="PNG")
    return buffer.getvalue()


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def reasons(pool) -> dict[str, str]:
    return {p.seed_id: p.reason for p in pool.problems}


# ------------------------------------------------------------------------------------------- real data


@needs_mathv
def test_mathv_testmini_loads_all_304_with_images():
    pool = load_seeds(SeedsConfig(source="mathv", path=MATHV))
    assert pool.problems == []
    assert len(pool.seeds) == 304
    types = Counter(s.answer_type for s in pool.seeds)
    print("MATH-V answer types:", dict(types))
    assert types[AnswerType.MCQ] == 190
    assert types[AnswerType.INTEGER] > 100
    assert types[AnswerType.EXPRESSION] >= 1  # (3,-4)
    for seed in pool.seeds:
        assert seed.source == "mathv" and seed.domain == "math"
        assert seed.image is not None and Path(seed.image).is_absolute() and Path(seed.image).is_file()
        assert "<image" not in seed.question and seed.question.strip()
        assert {"subject", "level"} <= seed.meta.keys()
        if seed.answer_type is AnswerType.MCQ:
            assert len(seed.choices) == 5 and seed.answer in seed.choices
        else:
            assert seed.choices is None
    by_id = {s.id: s for s in pool.seeds}
    assert by_id["2955"].answer == "(3,-4)"  # kept verbatim
    assert by_id["6"].choices == {k: k for k in "ABCDE"}
    # the jsonl file itself works too, with images still relative to the MATH-V folder
    again = load_seeds(SeedsConfig(source="mathv", path=MATHV / "data" / "testmini.jsonl", limit=3))
    assert [s.image for s in again.seeds] == [s.image for s in pool.seeds[:3]]


@needs_dynamath
def test_dynamath_trial1_maps_types_and_parses_choices():
    pool = load_seeds(SeedsConfig(source="dynamath", path=DYNAMATH))
    assert pool.problems == []
    assert len(pool.seeds) == 501
    raw = Counter(s.meta["raw_answer_type"] for s in pool.seeds)
    types = Counter(s.answer_type for s in pool.seeds)
    assert types[AnswerType.NUMBER] == raw["float"] + raw["single answer"]
    assert types[AnswerType.MCQ] == raw["multiple choice"] > 100
    assert types[AnswerType.TEXT] == raw["text"]
    mcq = [s for s in pool.seeds if s.answer_type is AnswerType.MCQ]
    parsed = [s for s in mcq if s.choices]
    print(f"DynaMath MCQ with parsed choices: {len(parsed)}/{len(mcq)}")
    assert len(parsed) >= 0.9 * len(mcq)
    assert all(s.answer in s.choices for s in parsed)
    assert all(len(s.answer) == 1 for s in mcq)
    by_id = {s.id: s for s in pool.seeds}
    assert by_id["5"].choices == {"A": "yes", "B": "no"}
    assert by_id["366"].choices == {"A": "Group 1", "B": "Group 2", "C": "Group 3"}  # one per line
    assert by_id["468"].choices["D"] == "[5, 10]"  # "A: [..]" lines, question mentions "sets A and B"
    assert "Choices: (A) yes (B) no" in by_id["5"].question  # the question text is kept as is
    for seed in pool.seeds:
        assert "  " not in seed.meta["subject"]
        assert Path(seed.image).is_absolute() and Path(seed.image).is_file()


# ------------------------------------------------------------------------------------------- file readers


def test_jsonl_with_field_mapping_and_image_folder(tmp_path):
    images = tmp_path / "pics"
    png(images / "a.png")
    png(images / "sub" / "b.png")
    data = tmp_path / "data"
    data.mkdir()
    path = write_jsonl(
        data / "seeds.jsonl",
        [
            {"qid": "q1", "prompt": "How many bars?", "gold": 4, "img": "a.png", "topic": "charts"},
            {"qid": "q2", "prompt": "Pick one", "gold": "yes", "opts": ["no", "yes"], "img": "sub/b.png"},
            {"prompt": "Area of the circle?", "gold": "$4\\pi$", "img": str(images / "a.png")},
            {"qid": 7, "prompt": "Which month?", "gold": "Sep", "kind": "free_form"},
            {"qid": "q5", "prompt": "Ratio?", "gold": "0.25", "kind": "float", "why": "1/4"},
        ],
    )
    fields = FieldMap(
        id="qid",
        question="prompt",
        answer="gold",
        image="img",
        choices="opts",
        answer_type="kind",
        solution="why",
    )
    pool = load_seeds(SeedsConfig(source="jsonl", path=path, image_dir=images, fields=fields))
    assert pool.problems == []
    by_id = {s.id: s for s in pool.seeds}
    assert list(by_id) == ["q1", "q2", "2", "7", "q5"]  # a missing id is the 0-based row index
    assert by_id["q1"].answer == "4" and by_id["q1"].answer_type is AnswerType.INTEGER
    assert by_id["q1"].image == str(images / "a.png") and by_id["q1"].meta == {"topic": "charts"}
    assert by_id["q2"].choices == {"A": "no", "B": "yes"}
    assert by_id["q2"].answer == "B"  # the option text maps to its letter
    assert by_id["q2"].image == str(images / "sub" / "b.png")
    assert by_id["2"].answer_type is AnswerType.EXPRESSION and by_id["2"].answer == "$4\\pi$"
    assert by_id["7"].answer_type is AnswerType.TEXT and by_id["7"].image is None  # text-only seed
    assert by_id["q5"].answer_type is AnswerType.NUMBER and by_id["q5"].solution == "1/4"
    assert all(s.source == "jsonl" for s in pool.seeds)


def test_relative_images_default_to_the_data_folder_and_limit(tmp_path):
    png(tmp_path / "img" / "x.png")
    rows = [{"id": f"s{i}", "question": f"Q{i}?", "answer": str(i), "image": "img/x.png"} for i in range(5)]
    path = write_jsonl(tmp_path / "seeds.jsonl", rows)
    pool = load_seeds(SeedsConfig(source="jsonl", path=path, limit=2))
    assert [s.id for s in pool.seeds] == ["s0", "s1"]
    assert pool.seeds[0].image == str(tmp_path / "img" / "x.png")


def test_json_list_and_dict(tmp_path):
    png(tmp_path / "x.png")
    items = [
        {"question": "Q one?", "answer": 3, "image": "x.png"},
        {"question": "Q two? (A) red (B) blue", "answer": "B"},
    ]
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(items))
    pool = load_seeds(SeedsConfig(source="json", path=listed))
    assert pool.problems == []
    assert [s.id for s in pool.seeds] == ["0", "1"]
    assert pool.seeds[0].answer_type is AnswerType.INTEGER and pool.seeds[0].image == str(tmp_path / "x.png")
    # a single-letter answer with options in the text: mcq with the parsed choices
    assert pool.seeds[1].answer_type is AnswerType.MCQ
    assert pool.seeds[1].choices == {"A": "red", "B": "blue"}

    keyed = tmp_path / "dict.json"
    keyed.write_text(json.dumps({"alpha": items[0], "beta": {**items[1], "id": "b-1"}}))
    pool = load_seeds(SeedsConfig(source="json", path=keyed))
    assert [s.id for s in pool.seeds] == ["alpha", "b-1"]


def test_parquet(tmp_path):
    png(tmp_path / "p.png")
    table = pa.table(
        {
            "id": [10, 11, 12],
            "question": ["What is shown?", "Count the dots.", "Which one? "],
            "answer": ["a cat", "12", "c"],
            "choices": [None, None, ["x", "y", "z"]],
            "image": ["p.png", None, "p.png"],
            "domain": ["vision", "counting", None],
        }
    )
    path = tmp_path / "seeds.parquet"
    pq.write_table(table, path)
    pool = load_seeds(SeedsConfig(source="parquet", path=path))
    assert pool.problems == []
    by_id = {s.id: s for s in pool.seeds}
    assert by_id["10"].answer_type is AnswerType.TEXT and by_id["10"].domain == "vision"
    assert by_id["11"].answer_type is AnswerType.INTEGER and by_id["11"].image is None
    assert by_id["12"].answer == "C" and by_id["12"].choices == {"A": "x", "B": "y", "C": "z"}
    assert by_id["12"].question == "Which one?"


def test_easyr1_jsonl_strips_placeholders_and_resolves_images(tmp_path):
    png(tmp_path / "images" / "0.png")
    path = write_jsonl(
        tmp_path / "train.jsonl",
        [
            {
                "images": ["images/0.png"],
                "problem": "<image>Find x. Round to the nearest tenth.",
                "answer": "8.5",
            },
            {"images": [], "problem": "What is 2+2?", "answer": "4"},
            {"images": ["images/0.png", "images/0.png"], "problem": "<image><image>Compare.", "answer": "A"},
        ],
    )
    pool = load_seeds(SeedsConfig(source="easyr1", path=path))
    assert [s.id for s in pool.seeds] == ["0", "1"]
    first = pool.seeds[0]
    assert first.question == "Find x. Round to the nearest tenth."
    assert first.image == str(tmp_path / "images" / "0.png") and first.answer_type is AnswerType.NUMBER
    assert first.source == "easyr1"
    assert pool.seeds[1].image is None
    assert reasons(pool) == {"2": "2 images; a seed holds one image"}


def test_easyr1_parquet_with_embedded_image_bytes(tmp_path):
    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table(
        {
            "images": pa.array(
                [[{"bytes": png_bytes(), "path": None}], [{"bytes": b"not an image", "path": None}]],
                type=pa.list_(image_type),
            ),
            "problem": ["<image>\nHow many squares?", "<image>What colour?"],
            "answer": ["1", "blue"],
        }
    )
    path = tmp_path / "train.parquet"
    pq.write_table(table, path)
    cache = tmp_path / "cache"
    pool = load_seeds(SeedsConfig(source="easyr1", path=path), image_cache=cache)
    assert [s.question for s in pool.seeds] == ["How many squares?"]
    image = Path(pool.seeds[0].image)
    assert image.parent == cache and image.suffix == ".png" and Image.open(image).size == (5, 5)
    assert reasons(pool)["1"].startswith("unreadable image <embedded bytes>")

    without = load_seeds(SeedsConfig(source="easyr1", path=path))
    assert without.seeds == [] and "no image_cache" in reasons(without)["0"]


def test_text_descriptions(tmp_path):
    lines = tmp_path / "tasks.txt"
    lines.write_text("line charts with a trend question\n\n   \ngrid mazes, shortest path length\n")
    config = SeedsConfig(source="text", descriptions=["bar charts with 4-6 bars, percent change"], path=lines)
    pool = load_seeds(config)
    assert pool.problems == []
    assert [s.question for s in pool.seeds] == [
        "bar charts with 4-6 bars, percent change",
        "line charts with a trend question",
        "grid mazes, shortest path length",
    ]
    assert len({s.id for s in pool.seeds}) == 3
    assert all(s.image is None and s.answer is None and s.source == "text" for s in pool.seeds)
    assert len(load_seeds(config.model_copy(update={"limit": 1})).seeds) == 1


def test_dynamath_layout_collapses_subject_spaces(tmp_path):
    png(tmp_path / "image" / "1.png")
    dataset = {
        "1": {
            "question": "Is it odd? choice: (A) Yes (B) No",
            "answer": "A",
            "image": "image/1.png",
            "answer_type": "multiple choice",
            "subject": "plane  geometry ",
            "level": "high school",
        },
        "2": {
            "question": "Value?",
            "answer": "3",
            "image": "image/1.png",
            "answer_type": "single answer",
            "subject": "algebra",
            "level": "undergraduate",
        },
    }
    (tmp_path / "dataset.json").write_text(json.dumps(dataset))
    pool = load_seeds(SeedsConfig(source="dynamath", path=tmp_path / "dataset.json"))
    assert pool.problems == []
    assert pool.seeds[0].meta["subject"] == "plane geometry"
    assert pool.seeds[0].choices == {"A": "Yes", "B": "No"}
    assert pool.seeds[1].answer_type is AnswerType.NUMBER


# ------------------------------------------------------------------------------------------- broken seeds


def test_broken_seeds_are_reported_and_skipped(tmp_path):
    png(tmp_path / "ok.png")
    good = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "garbage.png").write_bytes(b"this is not a png")
    rows = [
        {"id": "good1", "question": "Fine?", "answer": "2", "image": "ok.png"},
        {"id": "missing", "question": "Where?", "answer": "1", "image": "nowhere.png"},
        {"id": "trunc", "question": "Cut?", "answer": "1", "image": "truncated.png"},
        {"id": "garbage", "question": "Junk?", "answer": "1", "image": "garbage.png"},
        {"id": "blank", "question": "   ", "answer": "1"},
        {"id": "weird", "question": "Type?", "answer": "1", "answer_type": "xyz"},
        '{"id": "broken", "question": ',
        ["not", "an", "object"],
        {"id": "good1", "question": "Again?", "answer": "3"},
        {"id": "badmcq", "question": "Pick", "answer": "E", "choices": ["a", "b", "c"]},
        {"id": "notletter", "question": "Pick", "answer": "maybe", "answer_type": "mcq"},
        {"id": "good2", "question": "Also fine?", "answer": "yes", "answer_type": "text"},
    ]
    pool = load_seeds(SeedsConfig(source="jsonl", path=write_jsonl(tmp_path / "seeds.jsonl", rows)))
    assert [s.id for s in pool.seeds] == ["good1", "good2"]
    found = reasons(pool)
    assert found["missing"] == f"image not found: {tmp_path / 'nowhere.png'}"
    assert found["trunc"].startswith(f"unreadable image {tmp_path / 'truncated.png'}: ")
    assert found["garbage"].startswith(f"unreadable image {tmp_path / 'garbage.png'}: ")
    assert found["blank"] == "empty question"
    assert found["weird"] == "unknown answer type 'xyz'"
    assert found["6"].startswith("line 7: not valid JSON")
    assert found["7"] == "line 8: not an object but list"
    assert found["good1"] == "duplicate id"
    assert found["badmcq"] == "mcq answer 'E' is not one of the choices A, B, C"
    assert "not a choice letter" in found["notletter"]
    assert len(pool.problems) == 10
    assert all(p.source == "jsonl" for p in pool.problems)


def test_missing_question_field_names_the_field(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [{"id": "a", "text": "Hi?"}])
    pool = load_seeds(SeedsConfig(source="jsonl", path=path))
    assert reasons(pool) == {"a": "empty question (no field 'question')"}


# ------------------------------------------------------------------------------------------- config errors


def test_missing_file_raises_a_helpful_seed_error(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(SeedError, match=r"seeds\.path not found: .*nope\.jsonl"):
        load_seeds(SeedsConfig(source="jsonl", path=missing))
    with pytest.raises(SeedError, match="no data/testmini.jsonl"):
        load_seeds(SeedsConfig(source="mathv", path=tmp_path))
    with pytest.raises(SeedError, match="seeds.image_dir not found"):
        load_seeds(SeedsConfig(source="jsonl", path=missing, image_dir=tmp_path / "pics"))
    assert issubclass(SeedError, ValueError)


def test_unreadable_formats_raise(tmp_path):
    jsonl = write_jsonl(tmp_path / "s.json", [{"question": "a"}, {"question": "b"}])
    with pytest.raises(SeedError, match="use seeds.source: jsonl"):
        load_seeds(SeedsConfig(source="json", path=jsonl))
    scalar = tmp_path / "n.json"
    scalar.write_text("42")
    with pytest.raises(SeedError, match="a list of seed objects"):
        load_seeds(SeedsConfig(source="json", path=scalar))
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 nope")
    with pytest.raises(SeedError, match="not a readable parquet file"):
        load_seeds(SeedsConfig(source="parquet", path=bad))
    with pytest.raises(SeedError, match="cadsynth.tasks"):
        load_seeds(SeedsConfig(source="program"))


# ------------------------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("float", AnswerType.NUMBER),
        ("int", AnswerType.INTEGER),
        ("single answer", AnswerType.NUMBER),
        ("multiple choice", AnswerType.MCQ),
        ("Multiple_Choice", AnswerType.MCQ),
        ("mc", AnswerType.MCQ),
        ("choice", AnswerType.MCQ),
        ("text", AnswerType.TEXT),
        ("expression", AnswerType.EXPRESSION),
        ("free_form", None),
        ("open", None),
        (None, None),
    ],
)
def test_answer_type_aliases(raw, expected):
    assert normalise_answer_type(raw) is expected


def test_unknown_answer_type_raises():
    with pytest.raises(ValueError, match="unknown answer type 'xyz'"):
        normalise_answer_type("xyz")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (3, AnswerType.INTEGER),
        ("-12", AnswerType.INTEGER),
        (2.5, AnswerType.NUMBER),
        ("4.8", AnswerType.NUMBER),
        ("$4 \\pi$", AnswerType.EXPRESSION),
        ("(3,-4)", AnswerType.EXPRESSION),
        ("2x+1", AnswerType.EXPRESSION),
        ("3/4", AnswerType.EXPRESSION),
        ("√2", AnswerType.EXPRESSION),
        ("Sep", AnswerType.TEXT),
        ("4:45", AnswerType.TEXT),
        ("C", AnswerType.TEXT),  # a letter without options is an open answer (MATH-V has one)
    ],
)
def test_answer_type_inference(answer, expected):
    assert infer_answer_type(answer) is expected
    assert infer_answer_type(answer, {"A": "x", "B": "y"}) is AnswerType.MCQ


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is it? Choices: (A) yes (B) no", {"A": "yes", "B": "no"}),
        ("Pick choice:(A) A (B) B (C) Same ", {"A": "A", "B": "B", "C": "Same"}),
        ("Which? choice: (A) (B) (C)", {"A": "A", "B": "B", "C": "C"}),
        ("f(A) vs f(B)? (A) larger (B) smaller", {"A": "larger", "B": "smaller"}),
        (
            "Which group?\nA. Group 1\nB. Group 2\nC. Group 3",
            {"A": "Group 1", "B": "Group 2", "C": "Group 3"},
        ),
        ("Sets A and B?\nA: [1, 4]\nB: [3]\n", {"A": "[1, 4]", "B": "[3]"}),
        ("Which? A. red B. blue", {"A": "red", "B": "blue"}),
        ("Solve (x + 2)/(y - 4) = 1.", None),
        ("Point A is left of point B.", None),
    ],
)
def test_parse_choices(text, expected):
    assert parse_choices(text) == expected


def test_strip_image_placeholders():
    assert strip_image_placeholders("Ant <image1> walks to <image3>.\n<image2>") == "Ant walks to."
    assert strip_image_placeholders("<image>Find x.") == "Find x."
    assert strip_image_placeholders("No placeholder  here") == "No placeholder  here"
