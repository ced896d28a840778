"""A YUV source's own samples survive a take: everything the pipeline did not change is sample-identical.

Real video cut from ../shared/data (H.264 and FFV1 4:2:0, 10-bit ProRes 4:2:2), rendered with the lossless
codec (which keeps the source's pixel format), decoded again with PyAV and compared plane by plane.
"""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from lipsync_engine import RenderOptions, load_generator, render_video
from lipsync_engine.blend import lower_face_mask
from lipsync_engine.faces.align import align_face
from lipsync_engine.faces.tracker import ShotTrack
from lipsync_engine.media import ChangedRegion, VideoWriter, probe_video, read_frames

from media_factory import clip_frames, make_audio, make_video, pattern_frames
from pipeline_media import FACE_CLIP, OTHER_CLIP, clip_speech, needs_data

FRAMES = 12
FFV1 = RenderOptions(codec="ffv1")
SOURCES = {  # name: make_video settings; every one is kept as is by the ffv1 writer
    "h264_yuv420p": {"codec": "libx264", "pix_fmt": "yuv420p", "suffix": ".mp4"},
    "ffv1_yuv420p": {"codec": "ffv1", "pix_fmt": "yuv420p", "suffix": ".mkv"},
    "prores_yuv422p10le": {"codec": "prores_ks", "pix_fmt": "yuv422p10le", "suffix": ".mov"},
}


def planes(path: Path) -> list[list[np.ndarray]]:
    """Every frame of a video as its stored planes [Y, U, V] ((rows, samples) uint8 or uint16), no conversion."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            dtype = np.uint16 if frame.format.components[0].bits > 8 else np.uint8
            item = np.dtype(dtype).itemsize
            out.append([np.frombuffer(p, dtype).reshape(-1, p.line_size // item)[:p.height, :p.width].copy()
                        for p in frame.planes])
    return out


def rgb_frames(path: Path) -> list[np.ndarray]:
    """Every frame as the engine reads it (HxWx3 uint8 or uint16 RGB)."""
    return [f.rgb for f in read_frames(path, probe_video(path))]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("native")
    frames = clip_frames(FACE_CLIP, 0.0, FRAMES)
    made = {name: make_video(root / f"{name}{s['suffix']}", frames, codec=s["codec"], pix_fmt=s["pix_fmt"])
            for name, s in SOURCES.items()}
    made["dub"] = make_audio(root / "dub.wav", clip_speech(OTHER_CLIP, seconds=FRAMES / 25), 16000)
    made["root"] = root
    return made


pytestmark = needs_data


@pytest.mark.parametrize("name", list(SOURCES))
def test_identity_take_has_the_sources_samples(shots, name):
    out = shots["root"] / f"identity_{name}.mkv"
    render_video(shots[name], shots["dub"], out, load_generator("identity"), FFV1,
                 track=shots["root"] / f"{name}.track.npz")
    source, take = probe_video(shots[name]), probe_video(out)
    assert take.pix_fmt == source.pix_fmt == SOURCES[name]["pix_fmt"]
    source_planes, take_planes = planes(shots[name]), planes(out)
    assert len(take_planes) == len(source_planes) == FRAMES
    for i, (a, b) in enumerate(zip(source_planes, take_planes)):
        for plane, (pa, pb) in zip("YUV", zip(a, b)):
            assert np.array_equal(pa, pb), f"frame {i} plane {plane}: {np.count_nonzero(pa != pb)} samples changed"
    for i, (a, b) in enumerate(zip(rgb_frames(shots[name]), rgb_frames(out))):
        assert np.array_equal(a, b), f"frame {i}: decoded RGB changed"


@pytest.mark.parametrize("name", ["h264_yuv420p", "prores_yuv422p10le"])
def test_edited_take_keeps_the_sources_samples_outside_the_mouth(shots, name):
    generator = load_generator("mouth_frozen")  # pastes one reference mouth into every frame: always an edit
    track_path = shots["root"] / f"{name}.track.npz"
    out = shots["root"] / f"mouth_{name}.mkv"
    render_video(shots[name], shots["dub"], out, generator, FFV1, track=track_path)
    track = ShotTrack.load(track_path)
    sub_x, sub_y = (2, 2) if "420" in name else (2, 1)
    edited = 0
    for i, (a, b) in enumerate(zip(planes(shots[name]), planes(out))):
        if not track.valid[i]:
            assert all(np.array_equal(pa, pb) for pa, pb in zip(a, b)), f"frame {i} has no face but changed"
            continue
        x0, y0, x1, y1 = _mask_box(track.points[i], generator.crop_size, a[0].shape)
        x0, y0, x1, y1 = x0 - sub_x, y0 - sub_y, x1 + sub_x, y1 + sub_y  # one chroma block more
        for plane, (pa, pb) in zip("YUV", zip(a, b)):
            sx, sy = (1, 1) if plane == "Y" else (sub_x, sub_y)
            outside = np.ones(pa.shape, dtype=bool)
            outside[max(0, y0 // sy):-(-y1 // sy), max(0, x0 // sx):-(-x1 // sx)] = False
            changed = np.count_nonzero((pa != pb) & outside)
            assert changed == 0, f"frame {i} plane {plane}: {changed} samples outside the mouth box changed"
        edited += not np.array_equal(a[0], b[0])
    assert edited > FRAMES // 2, f"only {edited} of {FRAMES} frames were edited: the test proves little"


def test_writer_patches_only_the_changed_blocks_at_an_odd_edge(tmp_path):
    # 4:2:0 at an odd size: the last chroma column and row cover one luma pixel only
    width, height = 161, 121
    shot = make_video(tmp_path / "odd.mkv", pattern_frames(3, width, height), codec="ffv1", pix_fmt="yuv420p")
    info = probe_video(shot)
    out = tmp_path / "odd_take.mkv"
    patch = (slice(101, 121), slice(150, 161))  # rows, cols: reaches the bottom-right corner
    with VideoWriter(out, info, FFV1) as writer:
        for frame in read_frames(shot, info, keep_native=True):
            assert frame.native is not None
            before = frame.rgb[patch].copy()
            frame.rgb[patch] = (250, 20, 200) if frame.index == 1 else before
            region = ChangedRegion.between(before, frame.rgb[patch], patch[1].start, patch[0].start)
            writer.write(frame.rgb, frame.pts, source=frame.native, changed=region)
        writer.finish()
    source, take = planes(shot), planes(out)
    assert all(np.array_equal(pa, pb) for i in (0, 2) for pa, pb in zip(source[i], take[i])), "unchanged frames moved"
    changed_y = source[1][0] != take[1][0]
    assert changed_y[patch].all() and not changed_y.sum() - changed_y[patch].sum(), "luma changed outside the patch"
    for plane in (1, 2):
        changed = source[1][plane] != take[1][plane]
        changed[50:61, 75:81] = False  # the chroma blocks of rows 100-121, columns 150-161
        assert not changed.any(), f"chroma plane {plane} changed outside the patch's blocks"
    painted = rgb_frames(out)[1][105:118, 153:160].reshape(-1, 3).astype(int)
    assert np.abs(painted - (250, 20, 200)).max() <= 3, "the patch's colour was converted with another matrix"


def _mask_box(points: np.ndarray, size: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) frame box of the warped lower-face blend mask, plus the warp's 2 px reach."""
    alignment = align_face(points, size)
    mask = lower_face_mask(alignment.to_crop(points), size)
    in_frame = cv2.warpAffine(mask, alignment.inverse, (shape[1], shape[0]), flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(in_frame > 0)
    return int(xs.min()) - 2, int(ys.min()) - 2, int(xs.max()) + 3, int(ys.max()) + 3
