"""Blind judging: each judge answers (image, question) without the reference; consensus decides the partition."""
