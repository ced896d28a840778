"""render_video end to end on real video cut from ../shared/data, with the identity generator."""
from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from lipsync_engine import RenderOptions, load_generator, render_video
from lipsync_engine.errors import InputError, MediaError, RenderCancelled
from lipsync_engine.faces.tracker import ShotTrack
from lipsync_engine.media import probe_video

from media_factory import clip_frames, make_audio, make_video, truncate
from pipeline_media import (
    FACE_CLIP, LOSSLESS, OTHER_CLIP, changes_outside_the_mask, clip_speech, decoded, frame_times, needs_data,
    tiny_learned_weights,
)

pytestmark = needs_data
FRAMES = 20
FFV1 = RenderOptions(codec="ffv1")


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """The shared inputs: one face shot in three containers, dubs in several formats, a track cache."""
    root = tmp_path_factory.mktemp("render")
    frames = clip_frames(FACE_CLIP, 0.0, FRAMES)
    speech = clip_speech(OTHER_CLIP, seconds=FRAMES / 25)
    stereo48 = np.repeat(clip_speech(OTHER_CLIP, seconds=1.0, rate=48000)[:, None], 2, axis=1)
    vfr_pts = np.cumsum([0] + [2, 3, 1, 2, 4] * (FRAMES // 5))[:FRAMES]
    return {
        "root": root,
        "mov": make_video(root / "shot.mov", frames, fps=Fraction(30000, 1001), timecode="01:00:00:00",
                          audio=clip_speech(FACE_CLIP, seconds=0.6), audio_rate=16000),
        "mkv": make_video(root / "shot.mkv", frames, **LOSSLESS),
        "vfr": make_video(root / "vfr.mkv", frames, pts=vfr_pts, time_base=Fraction(1, 50), **LOSSLESS),
        "dub48": make_audio(root / "dub48.wav", stereo48, 48000),
        "dub8": make_audio(root / "dub8.wav", clip_speech(OTHER_CLIP, seconds=1.0, rate=8000), 8000),
        "mp3": make_audio(root / "dub.mp3", speech, 16000, codec="libmp3lame"),
        "silence": make_audio(root / "silence.wav", np.zeros(16000, np.float32), 16000),
        "long": make_audio(root / "long.wav", np.tile(speech, 12), 16000),
        "track": root / "shot.track.npz",
    }


@pytest.fixture(scope="module")
def identity():
    return load_generator("identity")


@pytest.fixture
def track_cache(media, identity) -> Path:
    """The 20-frame shot's track cache, measured by whichever test needs it first."""
    if not media["track"].is_file():
        render_video(media["mkv"], media["dub8"], media["root"] / "first.mkv", identity, FFV1, track=media["track"])
    return media["track"]


def test_take_keeps_frame_count_fps_size_and_timecode(media, identity):
    events = []
    out = media["root"] / "take.mov"
    report = render_video(media["mov"], media["dub48"], out, identity, track=media["track"], progress=events.append)
    src, take = probe_video(media["mov"]), probe_video(out)
    assert (take.frame_count, take.fps, take.width, take.height) == (FRAMES, Fraction(30000, 1001), 360, 288)
    assert take.timecode == src.timecode == "01:00:00:00"
    assert take.has_audio and (take.audio_rate, take.audio_channels) == (48000, 2)  # the dub at its own quality
    assert report.frames == FRAMES and report.fps == "30000/1001" and report.generator == "identity"
    assert report.sync_offset is not None and report.sync_score is not None, report.warnings  # the QA verdict
    assert media["track"].is_file(), "the track cache was not written"
    stages = {e.stage for e in events}
    assert {"track", "render"} <= stages
    last_render = [e for e in events if e.stage == "render"][-1]
    assert last_render.done == last_render.total == FRAMES


def test_lossless_identity_take_is_bit_identical(media, identity):
    out = media["root"] / "lossless.mkv"
    report = render_video(media["mkv"], media["dub8"], out, identity, FFV1, track=media["track"])
    assert report.passthrough == [], report.warnings
    source, take = decoded(media["mkv"]), decoded(out)
    assert len(take) == len(source) == FRAMES
    for i, (a, b) in enumerate(zip(source, take)):
        assert np.array_equal(a, b), f"frame {i} changed"


@pytest.mark.parametrize("name", ["vad_control", "tiny_learned"])
def test_lossless_take_changes_only_pixels_under_the_blend_mask(media, name):
    if name == "vad_control":
        pytest.importorskip("lipsync_engine.generator.baselines")
        generator = load_generator("vad_control")  # pastes the actor's own open mouth while the dub speaks
    else:
        generator = load_generator(str(tiny_learned_weights(media["root"])))  # the learned model, random weights
    out = media["root"] / f"mouth_{name}.mkv"
    render_video(media["mkv"], media["dub8"], out, generator, FFV1, track=media["track"])
    track = ShotTrack.load(media["track"])
    changed_frames = 0
    for i, (source, take) in enumerate(zip(decoded(media["mkv"]), decoded(out))):
        if not track.valid[i]:
            assert np.array_equal(source, take), f"frame {i} has no usable face but changed"
            continue
        changed, outside = changes_outside_the_mask(source, take, track.points[i], generator.crop_size)
        assert outside == 0, f"frame {i}: {outside} pixels outside the blend mask changed"
        changed_frames += changed > 0
    assert changed_frames > 0, "the generator changed no frame: the test proves nothing"


def test_track_cache_is_reused(media, identity, track_cache):
    stamp = track_cache.stat().st_mtime_ns
    events = []
    render_video(media["mkv"], media["mp3"], media["root"] / "again.mkv", identity, FFV1,
                 track=media["track"], progress=events.append)
    assert track_cache.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("dub", ["dub8", "mp3", "dub48"])
def test_dub_formats_render(media, identity, dub):
    out = media["root"] / f"take_{dub}.mkv"
    report = render_video(media["mkv"], media[dub], out, identity, FFV1, track=media["track"])
    assert probe_video(out).frame_count == FRAMES and report.frames == FRAMES


def test_silent_dub_is_reported(media, identity):
    report = render_video(media["mkv"], media["silence"], media["root"] / "silent.mkv", identity, FFV1,
                          track=media["track"])
    assert any("no speech" in w for w in report.warnings), report.warnings
    kept = render_video(media["mkv"], media["silence"], media["root"] / "kept.mkv", identity,
                        RenderOptions(codec="ffv1", silence="keep_original"), track=media["track"])
    assert [(s.start, s.end, s.reason) for s in kept.passthrough] == [(0, FRAMES - 1, "silence")]


def test_audio_far_longer_than_the_shot(media, identity):
    out = media["root"] / "long.mkv"
    report = render_video(media["mkv"], media["long"], out, identity, FFV1, track=media["track"])
    take = probe_video(out)
    assert take.frame_count == FRAMES
    assert abs(float(take.duration) - FRAMES / 25) < 0.05
    assert any("longer than the shot" in w and "right audio file" in w for w in report.warnings), report.warnings
    strict = media["root"] / "strict.mkv"
    with pytest.raises(InputError, match=r"the dub lasts 9\.6\d* s but the shot lasts 0\.800 s"):
        render_video(media["mkv"], media["long"], strict, identity, RenderOptions(codec="ffv1", audio_policy="strict"))
    assert not strict.exists()


def test_short_dub_leaves_the_rest_of_the_shot_silent(media, identity, tmp_path):
    short = make_audio(tmp_path / "short.wav", clip_speech(OTHER_CLIP, seconds=0.3), 16000)
    report = render_video(media["mkv"], short, tmp_path / "short.mkv", identity, FFV1, track=media["track"])
    assert probe_video(tmp_path / "short.mkv").frame_count == FRAMES
    assert any("shorter than the shot" in w and "silence" in w for w in report.warnings), report.warnings


def test_variable_frame_rate_keeps_every_frame_time(media, identity):
    out = media["root"] / "vfr_take.mkv"
    render_video(media["vfr"], media["dub8"], out, identity, FFV1)
    assert frame_times(out) == pytest.approx(frame_times(media["vfr"]), abs=1e-3)


def test_truncated_shot_is_a_clear_error(media, identity):
    broken = truncate(media["mov"], 0.5, media["root"] / "truncated.mov")
    out = media["root"] / "from_truncated.mov"
    with pytest.raises(MediaError) as caught:
        render_video(broken, media["dub8"], out, identity)
    assert "truncated.mov" in str(caught.value)
    assert not out.exists()


def test_frames_without_a_face_pass_through(media, identity, tmp_path):
    rng = np.random.default_rng(0)
    frames = [np.full((120, 160, 3), 90, np.uint8) + rng.integers(0, 20, (120, 160, 3), dtype=np.uint8)
              for _ in range(6)]
    shot = make_video(tmp_path / "wall.mkv", frames, **LOSSLESS)
    out = tmp_path / "wall_take.mkv"
    report = render_video(shot, media["dub8"], out, identity, FFV1)
    assert [(s.start, s.end, s.reason) for s in report.passthrough] == [(0, 5, "no_face")]
    assert "every frame passed through" in report.warnings[0]
    assert all(np.array_equal(a, b) for a, b in zip(decoded(shot), decoded(out)))


def test_two_faces_edit_the_dominant_one_and_report_the_other(media, identity, tmp_path):
    left = clip_frames(FACE_CLIP, 0.0, 5)
    right = clip_frames(OTHER_CLIP, 0.0, 5, size=(300, 240))
    frames = [np.concatenate([a, np.pad(b, ((0, 48), (0, 0), (0, 0)))], axis=1) for a, b in zip(left, right)]
    shot = make_video(tmp_path / "two.mkv", frames, **LOSSLESS)
    report = render_video(shot, media["dub8"], tmp_path / "two_take.mkv", identity, FFV1)
    assert report.frames == 5
    assert any("other faces" in w for w in report.warnings), report.warnings


def test_cancel_mid_render_leaves_nothing(media, identity):
    cancel = threading.Event()
    out = media["root"] / "cancelled.mkv"

    def progress(event):
        if event.stage == "render" and event.done >= 1:
            cancel.set()

    with pytest.raises(RenderCancelled):
        render_video(media["mkv"], media["dub8"], out, identity, RenderOptions(codec="ffv1"),
                     track=media["track"], progress=progress, cancel=cancel)
    assert not out.exists()
    assert not [p for p in media["root"].iterdir() if p.name.startswith(".cancelled")], "temp files left behind"


def test_bad_options_and_missing_files_are_clear(media, identity):
    with pytest.raises(InputError, match="codec 'mpeg2' is unknown"):
        render_video(media["mkv"], media["dub8"], media["root"] / "x.mkv", identity, RenderOptions(codec="mpeg2"))
    with pytest.raises(InputError, match="not found"):
        render_video(media["root"] / "missing.mov", media["dub8"], media["root"] / "x.mkv", identity)
    with pytest.raises(InputError, match="source shot itself"):
        render_video(media["mkv"], media["dub8"], media["mkv"], identity)


def test_rotated_source_gives_an_upright_take(media, identity, tmp_path):
    upright = clip_frames(FACE_CLIP, 0.0, 5)
    stored = [np.ascontiguousarray(np.rot90(f, -1)) for f in upright]  # a phone shot: stored sideways
    shot = make_video(tmp_path / "rotated.mkv", stored, rotation=90, **LOSSLESS)
    out = tmp_path / "rotated_take.mkv"
    report = render_video(shot, media["dub8"], out, identity, FFV1)
    take = probe_video(out)
    assert (report.width, report.height) == (take.width, take.height) == (360, 288)
    assert take.rotation == 0 and report.passthrough == []
    assert all(np.array_equal(a, b) for a, b in zip(decoded(out), upright))


def test_ten_bit_prores_shot_keeps_its_depth(media, identity, tmp_path):
    shot = make_video(tmp_path / "deep.mov", clip_frames(FACE_CLIP, 0.0, 4), codec="prores_ks", pix_fmt="yuv422p10le")
    out = tmp_path / "deep_take.mov"
    render_video(shot, media["dub8"], out, identity, RenderOptions(codec="prores"))
    source, take = probe_video(shot), probe_video(out)
    assert (take.frame_count, take.bit_depth, take.pix_fmt) == (4, 10, source.pix_fmt)


def test_original_audio_can_be_kept_as_a_second_stream(media, identity):
    out = media["root"] / "both.mov"
    render_video(media["mov"], media["dub8"], out, identity, RenderOptions(keep_original_audio=True),
                 track=media["track"])
    with av.open(str(out)) as take:
        assert len(take.streams.audio) == 2


def test_stale_track_cache_is_measured_again(media, identity, track_cache, tmp_path):
    shot = make_video(tmp_path / "short.mkv", clip_frames(FACE_CLIP, 0.0, 3), **LOSSLESS)
    cache = tmp_path / "stale.npz"
    cache.write_bytes(track_cache.read_bytes())  # the 20-frame shot's track, for a 3-frame shot
    render_video(shot, media["dub8"], tmp_path / "short_take.mkv", identity, FFV1, track=cache)
    assert len(ShotTrack.load(cache)) == 3


def test_track_cache_of_another_range_of_equal_length_is_measured_again(media, identity, tmp_path):
    cache = tmp_path / "range.npz"
    render_video(media["mkv"], media["dub8"], tmp_path / "a.mkv", identity, FFV1, track=cache, video_range=(0, 8))
    first = ShotTrack.load(cache)
    stamp = cache.stat().st_mtime_ns
    render_video(media["mkv"], media["dub8"], tmp_path / "a2.mkv", identity, FFV1, track=cache, video_range=(0, 8))
    assert cache.stat().st_mtime_ns == stamp  # the same range reuses its track
    render_video(media["mkv"], media["dub8"], tmp_path / "b.mkv", identity, FFV1, track=cache, video_range=(10, 8))
    second = ShotTrack.load(cache)
    assert "frames 0+8" in first.source and "frames 10+8" in second.source
    assert not np.allclose(first.raw_points, second.raw_points, equal_nan=True)


def test_qa_sync_verdict_tells_own_speech_from_another(identity, tmp_path):
    cache = tmp_path / "grid.track.npz"
    own = render_video(FACE_CLIP, FACE_CLIP, tmp_path / "own.mkv", identity, FFV1, track=cache)
    other = render_video(FACE_CLIP, OTHER_CLIP, tmp_path / "other.mkv", identity, FFV1, track=cache)
    assert own.sync_offset == 0 and own.sync_score > 0.4, own
    assert own.sync_status == "in_sync" and own.sync_verdict.startswith("sync check: in sync"), own
    assert other.sync_score < own.sync_score / 2, other
    assert other.sync_status == "inconclusive" and not any("sync" in w for w in other.warnings), other
