"""Colour tags: FFmpeg's integer enums <-> the names FFmpeg prints (bt709, tv, smpte2084, ...).

VideoInfo keeps names so a person can read them; the writer turns them back into the integers the
encoder takes. Unspecified (2) and unknown values map to None.
"""
from __future__ import annotations

COLOR_PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
                   9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
COLOR_TRC = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
             9: "log100", 10: "log316", 11: "iec61966-2-4", 12: "bt1361e", 13: "iec61966-2-1",
             14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 17: "smpte428", 18: "arib-std-b67"}
COLOR_SPACE = {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
               9: "bt2020nc", 10: "bt2020c", 11: "smpte2085", 14: "ictcp"}
COLOR_RANGE = {1: "tv", 2: "pc"}
# swscale knows these matrices; any other space is converted with BT.601, as FFmpeg itself does.
SWSCALE_SPACES = {1, 4, 5, 6, 7, 9, 10}


def name_of(table: dict[int, str], value: int | None) -> str | None:
    """FFmpeg name of an enum value, or None when unspecified or unknown."""
    return table.get(int(value)) if value is not None else None


def value_of(table: dict[int, str], name: str | None) -> int | None:
    """Enum value of an FFmpeg name, or None for None / an unknown name."""
    if name is None:
        return None
    for value, known in table.items():
        if known == name:
            return value
    return None


# Decoders that place 4:2:0/4:2:2 chroma at the left of its luma pair unless the stream says otherwise
# (H.26x VUI default, MPEG-2); the others leave it unspecified, which swscale treats as centred. PyAV
# cannot read a frame's chroma location, so a take that keeps a source's samples gets this tag.
LEFT_CHROMA_DECODERS = frozenset({"h264", "hevc", "mpeg2video", "vvc"})


def decoded_chroma_location(codec: str) -> str | None:
    """FFmpeg name of the chroma siting frames of decoder ``codec`` carry by default ("left"), or None."""
    return "left" if codec in LEFT_CHROMA_DECODERS else None
