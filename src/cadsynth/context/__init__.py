"""Adversarial context optimisation: how the generation context changes between rounds."""
