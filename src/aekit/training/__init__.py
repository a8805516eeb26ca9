"""Training: the one trainer (`fit`), callbacks and checkpoints."""
