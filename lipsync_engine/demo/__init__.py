"""The built-in demo: a 3 s public-domain shot and another speaker's speech (see ATTRIBUTION.md)."""
from pathlib import Path

DEMO_VIDEO = Path(__file__).resolve().parent / "demo_shot.mp4"
DEMO_AUDIO = Path(__file__).resolve().parent / "demo_dub.wav"
