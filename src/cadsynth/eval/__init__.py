"""``cadsynth eval``: accuracy of a model on MATH-V, DynaMath, any imported benchmark or a synthesized split.

- ``bench``: benchmarks as ``Item`` lists, read through ``cadsynth.seeds.load_seeds``;
- ``backends``: an OpenAI-compatible endpoint (through ``cadsynth.executor``) or a local tiny VLM;
- ``runner``: prompts, resume (per-item JSONL), grading with ``cadsynth.train.rewards`` (the reward's code),
  per-subject and per-level breakdown, bootstrap confidence intervals, ``results.json``.
"""
