"""Generator members: who writes new samples from a seed."""
