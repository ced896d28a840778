"""load_audio on real files of every common shape -> 16 kHz mono float32; bad audio -> AudioError."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from media_factory import make_audio, make_video, pattern_frames, truncate, unusable_files

from lipsync_engine.audio import SAMPLE_RATE, load_audio
from lipsync_engine.errors import AudioError, InputError


def _tone(seconds: float, rate: int, hz: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return mono if channels == 1 else np.repeat(mono[:, None], channels, axis=1)


def _dominant_hz(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))
    return float(np.fft.rfftfreq(pcm.size, 1.0 / SAMPLE_RATE)[np.argmax(spectrum)])


@pytest.mark.parametrize("name, rate, channels, codec", [
    ("stereo48k.wav", 48000, 2, "pcm_s16le"),
    ("mono8k.wav", 8000, 1, "pcm_s16le"),
    ("stereo44k.wav", 44100, 2, "pcm_f32le"),
    ("speech.mp3", 44100, 2, "libmp3lame"),
    ("speech.m4a", 48000, 2, "aac"),
    ("surround.wav", 48000, 6, "pcm_s16le"),
    ("speech.flac", 22050, 1, "flac"),
])
def test_any_audio_becomes_16k_mono(tmp_path: Path, name: str, rate: int, channels: int, codec: str) -> None:
    path = make_audio(tmp_path / name, _tone(1.0, rate, channels=channels), rate, codec)
    pcm = load_audio(path)
    assert pcm.dtype == np.float32 and pcm.ndim == 1
    assert abs(pcm.size - SAMPLE_RATE) < 0.06 * SAMPLE_RATE  # codec priming/padding at most ~60 ms
    assert _dominant_hz(pcm) == pytest.approx(440, abs=3)
    assert 0.3 < np.abs(pcm).max() < 2.0  # FFmpeg's 5.1 downmix sums channels: analysis only, never muxed


def test_5_1_downmix_keeps_centre_speech(tmp_path: Path) -> None:
    surround = np.zeros((SAMPLE_RATE, 6), np.float32)
    surround[:, 2] = _tone(1.0, SAMPLE_RATE)  # dialogue lives in the centre channel
    pcm = load_audio(make_audio(tmp_path / "mix.wav", surround, SAMPLE_RATE))
    assert np.abs(pcm).max() > 0.1 and _dominant_hz(pcm) == pytest.approx(440, abs=3)


def test_video_file_and_range(speech_clip: Path) -> None:
    full = load_audio(speech_clip)
    assert abs(full.size - 3 * SAMPLE_RATE) < 0.05 * SAMPLE_RATE
    cut = load_audio(speech_clip, start=1.0, duration=0.5)
    np.testing.assert_array_equal(cut, full[SAMPLE_RATE: SAMPLE_RATE + SAMPLE_RATE // 2])


@pytest.mark.parametrize("audio_start", [0.0, 0.5])
def test_audio_of_a_video_starts_at_its_first_frame(tmp_path: Path, audio_start: float) -> None:
    tone = _tone(1.0, 48000)
    path = make_video(tmp_path / "late_audio.mov", pattern_frames(40, 64, 48), audio=tone, audio_start=audio_start)
    pcm = load_audio(path)
    onset = int(np.argmax(np.abs(pcm) > 0.05))  # first clearly audible sample
    assert onset == pytest.approx(audio_start * SAMPLE_RATE, abs=0.005 * SAMPLE_RATE)


def test_silence_is_valid(tmp_path: Path) -> None:
    pcm = load_audio(make_audio(tmp_path / "silence.wav", np.zeros(8000, np.float32), 16000))
    assert pcm.size == 8000 and not pcm.any()


def test_bad_audio_names_the_problem(tmp_path: Path) -> None:
    for path, message in unusable_files(tmp_path, ".mp3"):
        with pytest.raises(AudioError, match=message):
            load_audio(path)
    silent_video = make_video(tmp_path / "no_audio.mp4", pattern_frames(3, 64, 48))
    with pytest.raises(AudioError, match="no audio stream"):
        load_audio(silent_video)
    with wave.open(str(tmp_path / "header.wav"), "wb") as header_only:  # a WAV header and no samples
        header_only.setparams((1, 2, 16000, 0, "NONE", "not compressed"))
    with pytest.raises(AudioError, match="no audio samples"):
        load_audio(tmp_path / "header.wav")
    assert issubclass(AudioError, InputError)


@pytest.mark.parametrize("name, codec", [("cut.wav", "pcm_s16le"), ("cut.mp3", "libmp3lame"),
                                         ("cut.flac", "flac"), ("cut.m4a", "aac")])
def test_truncated_audio_is_reported(tmp_path: Path, name: str, codec: str) -> None:
    whole = make_audio(tmp_path / f"whole_{name}", _tone(2.0, 48000), 48000, codec)
    with pytest.raises(AudioError, match="truncated"):
        load_audio(truncate(whole, 0.5, tmp_path / name))


def test_non_finite_samples_refused(tmp_path: Path) -> None:
    pcm = _tone(0.5, 16000)
    pcm[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        load_audio(make_audio(tmp_path / "nan.wav", pcm, 16000, "pcm_f32le"))
