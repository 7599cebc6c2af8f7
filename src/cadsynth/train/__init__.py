"""Training on exported data: rewards (EasyR1, verl, TRL) and GRPO with TRL.

Importing this package is cheap: ``rewards`` needs only ``cadsynth.answers`` (and ``math-verify`` when
installed); torch, transformers and TRL are imported by ``grpo`` alone.
"""
