"""``python -m toygan.evaluate RUN``: forwards to ``toygan.mnist.evaluate.main`` (same command)."""

from toygan.mnist.evaluate import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
