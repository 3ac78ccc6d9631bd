"""Local Model Ops Bench: decide, with evidence, which work may go to local models."""

__version__ = "0.1.0"
