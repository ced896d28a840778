"""Voice activity of 16 kHz speech per video frame: band energy over an estimated noise floor, with
short-burst removal, gap filling and a hangover so the mouth does not flutter between words.

The noise floor is a low percentile of the clip's frame energies, so steady background noise
(hum, room tone, hiss) raises the threshold with it; an absolute floor keeps near-silence silent, and
a range below the clip's loud-speech level drops breaths and lip smacks. Both levels are taken over
the whole clip (a shot of seconds to minutes): noise that changes level within a shot is not tracked.
Decisions are made on the log-mel clock (10 ms hop, column j centred at j / 100 s).
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from lipsync_engine.audio.decode import SAMPLE_RATE
from lipsync_engine.audio.features import MEL_FPS, WIN, hann_window, windowed_frames
from lipsync_engine.errors import AudioError


@dataclass(frozen=True)
class VadConfig:
    """Thresholds and timing of voice activity detection (dB are relative to a full-scale sine's power)."""

    band_hz: tuple[float, float] = (200.0, 4000.0)  # speech band whose energy is measured
    floor_percentile: float = 10.0  # noise floor: this percentile of the 10 ms frame energies
    margin_db: float = 10.0  # speech must rise this far above the noise floor
    min_level_db: float = -50.0  # and above this absolute level (quieter is silence whatever the floor)
    peak_percentile: float = 95.0  # the clip's loud-speech level: this percentile of the frame energies
    dynamic_range_db: float = 30.0  # and within this of the loud-speech level (breaths, lip smacks fall below)
    min_speech_s: float = 0.06  # shorter bursts (clicks, breaths) are dropped
    max_gap_s: float = 0.15  # shorter pauses inside speech are filled
    onset_s: float = 0.05  # speech starts this much earlier (the mouth opens before the sound)
    hangover_s: float = 0.20  # and ends this much later (the mouth closes after it)
    frame_half_width_s: float = 0.02  # a video frame is voiced if speech lies within this of its centre


def speech_columns(pcm: np.ndarray, config: VadConfig = VadConfig()) -> np.ndarray:
    """Voice activity of float32 mono 16 kHz ``pcm`` as (T,) bool, T = ceil(len / 160), column j at j / 100 s."""
    pcm = np.asarray(pcm, dtype=np.float32).reshape(-1)
    if pcm.size == 0:
        raise AudioError("voice activity needs at least one audio sample; the speech is empty")
    energy = band_energy_db(pcm, config.band_hz)
    floor, peak = np.percentile(energy, [config.floor_percentile, config.peak_percentile])
    threshold = max(config.min_level_db, floor + config.margin_db, peak - config.dynamic_range_db)
    active = energy > threshold
    active = _drop_short(active, _columns(config.min_speech_s), value=True)
    active = _drop_short(active, _columns(config.max_gap_s), value=False)
    return _widen(active, before=_columns(config.onset_s), after=_columns(config.hangover_s))


def voice_activity(pcm: np.ndarray, centre_times: np.ndarray, config: VadConfig = VadConfig()) -> np.ndarray:
    """Voice activity per video frame: (N,) bool for frames centred at ``centre_times`` (seconds on the
    audio's clock; frame i of a constant-rate clip is centred at (i + 0.5) / fps). Times past the end of
    the audio are silence. Silence everywhere (digital zero included) gives all False."""
    columns = speech_columns(pcm, config)
    centres = np.asarray(centre_times, dtype=np.float64).reshape(-1)
    half = config.frame_half_width_s * MEL_FPS
    first = np.clip(np.ceil(centres * MEL_FPS - half), 0, columns.size).astype(np.int64)
    last = np.clip(np.floor(centres * MEL_FPS + half) + 1, 0, columns.size).astype(np.int64)
    counts = np.concatenate([[0], np.cumsum(columns, dtype=np.int64)])
    return (counts[last] - counts[first]) > 0


def band_energy_db(pcm: np.ndarray, band_hz: tuple[float, float]) -> np.ndarray:
    """(T,) float64 energy in ``band_hz`` of 25 ms Hann frames every 10 ms, in dB where a full-scale
    sine in the band reads about -3 dB and digital silence -120 dB."""
    spectrum = np.abs(np.fft.rfft(windowed_frames(pcm).astype(np.float64), axis=1)) ** 2
    freqs = np.fft.rfftfreq(WIN, 1.0 / SAMPLE_RATE)
    in_band = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    # Parseval: the sum over the full spectrum (both halves) / (WIN * sum(w^2)) is the mean power.
    window = hann_window().astype(np.float64)
    power = 2.0 * spectrum[:, in_band].sum(axis=1) / (WIN * float(np.sum(window ** 2)))
    return 10.0 * np.log10(power + 1e-12)


def _columns(seconds: float) -> int:
    return int(round(seconds * MEL_FPS))


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends exclusive, values) of the constant runs of a bool mask."""
    edges = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [mask.size]])
    return starts, ends, mask[starts]


def _drop_short(mask: np.ndarray, min_len: int, *, value: bool) -> np.ndarray:
    """Flip inner runs of ``value`` shorter than ``min_len`` (runs touching either end are kept)."""
    out = mask.copy()
    starts, ends, values = _runs(mask)
    for start, end, run_value in zip(starts, ends, values):
        inner = start > 0 and end < mask.size
        if run_value == value and end - start < min_len and (inner or value):
            out[start:end] = not value
    return out


def _widen(mask: np.ndarray, *, before: int, after: int) -> np.ndarray:
    out = mask.copy()
    starts, ends, values = _runs(mask)
    for start, end, value in zip(starts, ends, values):
        if value:
            out[max(0, start - before):min(mask.size, end + after)] = True
    return out

