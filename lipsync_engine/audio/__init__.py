"""Speech input: decode any container to 16 kHz mono float32, log-mel features, voice activity."""
from lipsync_engine.audio.decode import SAMPLE_RATE, load_audio, resample_to_16k
from lipsync_engine.audio.features import (
    MEL_BINS,
    MEL_FPS,
    MEL_WINDOW,
    frame_mel_windows,
    log_mel,
)
from lipsync_engine.audio.vad import VadConfig, speech_columns, voice_activity

__all__ = [
    "SAMPLE_RATE",
    "MEL_BINS",
    "MEL_FPS",
    "MEL_WINDOW",
    "load_audio",
    "resample_to_16k",
    "log_mel",
    "frame_mel_windows",
    "VadConfig",
    "speech_columns",
    "voice_activity",
]
