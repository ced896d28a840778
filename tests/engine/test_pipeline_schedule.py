"""Which frames are edited and how strongly; passthrough segments and their reasons."""
import numpy as np

from lipsync_engine.pipeline.schedule import describe, edit_strength, passthrough_segments


def test_strength_fades_in_and_out_around_a_lost_face():
    edit = np.ones(20, bool)
    edit[8:10] = False
    strength = edit_strength(edit, fade_frames=3)
    assert strength[0] == 1.0 and strength[19] == 1.0  # the ends of the shot are no boundary
    assert np.all(strength[8:10] == 0.0)
    np.testing.assert_allclose(strength[4:8], [1.0, 0.75, 0.5, 0.25])
    np.testing.assert_allclose(strength[10:14], [0.25, 0.5, 0.75, 1.0])


def test_strength_without_fade_is_a_hard_cut_and_all_off_is_zero():
    edit = np.array([True, False, True, True])
    np.testing.assert_array_equal(edit_strength(edit, fade_frames=0), [1, 0, 1, 1])
    assert not edit_strength(np.zeros(5, bool), fade_frames=4).any()
    assert edit_strength(np.ones(3, bool), fade_frames=4).tolist() == [1, 1, 1]


def test_segments_name_face_reasons_before_silence():
    valid = np.array([True, False, False, True, True, True, False])
    reasons = [None, "no_face", "no_face", None, None, None, "face_turned"]
    silent = np.array([False, True, False, True, True, False, True])
    segments = passthrough_segments(valid, reasons, silent)
    assert [(s.start, s.end, s.reason) for s in segments] == [
        (1, 2, "no_face"), (3, 4, "silence"), (6, 6, "face_turned")
    ]
    assert describe(segments)[0] == "frames 1-2 passed through: no_face"
    assert passthrough_segments(valid, reasons, None)[-1].reason == "face_turned"
