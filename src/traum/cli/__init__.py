"""The command line face: one module per command; ``main`` is the error boundary."""
