"""The captured vectors in tests/vectors (where each came from: tests/vectors/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

VECTORS_DIR = Path(__file__).resolve().parents[1] / "vectors"
VECTORS: dict = json.loads((VECTORS_DIR / "protocol_vectors.json").read_text(encoding="utf-8"))
CAPTURE_BYTES: bytes = bytes.fromhex((VECTORS_DIR / "stream_capture_rc4.hex").read_text().strip())
