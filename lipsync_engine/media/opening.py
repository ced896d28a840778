"""Open untrusted media files safely: local files only, an allow-list of container formats.

``protocol_whitelist=file`` stops URLs; ``format_whitelist`` stops playlists (hls), concat lists,
image sequences and the other demuxers that open further files, including ones nested inside an
allowed container. Every engine read goes through :func:`open_media`.
"""
from __future__ import annotations

from pathlib import Path

import av

from lipsync_engine.errors import InputError

# Demuxer names (FFmpeg's short names) a video or audio input may use.
VIDEO_FORMATS = ("mov", "matroska", "avi", "mxf", "mpegts", "mpeg")
AUDIO_FORMATS = ("wav", "w64", "mp3", "aac", "flac", "ogg", "aiff", "caf", "amr", "opus")
OPEN_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": ",".join(VIDEO_FORMATS + AUDIO_FORMATS)}
# Text formats that make FFmpeg open other files or URLs, recognised by their first bytes.
REFUSED_SIGNATURES = ((b"#EXTM3U", "an HLS playlist"), (b"ffconcat", "an FFmpeg concat list"),
                      (b"file '", "an FFmpeg concat list"), (b"v=0", "an SDP session description"))


def open_media(path: str | Path, error: type[InputError], kind: str = "media") -> av.container.InputContainer:
    """Open ``path`` for reading with PyAV under the safety options above.

    ``error`` is the class raised when the path is missing, not a file, not an accepted format or not
    media at all (MediaError for video, AudioError for speech); ``kind`` names the input in messages.
    """
    path = Path(path)
    if not path.exists():
        raise error(f"{kind} file not found: '{path}'; check the path")
    if not path.is_file():
        raise error(f"{kind} path '{path}' is not a regular file; pass a media file, not a folder or device")
    if path.stat().st_size == 0:
        raise error(f"{kind} file '{path}' is empty (0 bytes); it was not written completely")
    with open(path, "rb") as handle:
        head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    for signature, what in REFUSED_SIGNATURES:
        if head.startswith(signature):
            raise error(f"'{path}' is {what}, which makes FFmpeg open other files or URLs; refused: "
                        f"pass the media file itself")
    try:
        return av.open(str(path), options=dict(OPEN_OPTIONS))
    except av.error.InvalidDataError as exc:
        raise error(f"'{path}' is not a readable media file or is truncated ({exc.strerror}); "
                    f"pass a complete .mov/.mp4/.mkv video or a WAV/MP3/AAC audio file") from exc
    except av.error.EOFError as exc:
        raise error(f"'{path}' ends before any media data: it holds no frames or samples, or is truncated; "
                    f"export it again") from exc
    except av.error.ArgumentError as exc:
        raise error(f"'{path}' is not in an accepted container format; playlists (HLS), concat lists, "
                    f"image sequences and URLs are refused: pass a .mov/.mp4/.mkv/.wav/.mp3 file") from exc
    except av.FFmpegError as exc:
        raise error(f"cannot open '{path}' ({exc}); pass a readable media file") from exc


def picture_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The first video stream that is moving picture, not cover art or a still thumbnail; None if none."""
    stills = av.stream.Disposition.attached_pic | av.stream.Disposition.still_image
    for stream in container.streams.video:
        if not stream.disposition & stills:
            return stream
    return None
