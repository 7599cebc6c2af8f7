"""Embedded models: tiny from-scratch vision-language judges that run on the CPU in-process."""
