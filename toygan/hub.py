"""``python -m toygan.hub RUN_DIR``: forwards to ``toygan.mnist.hub.main`` (same command)."""

from toygan.mnist.hub import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
