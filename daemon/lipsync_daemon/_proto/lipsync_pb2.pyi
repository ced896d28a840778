from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    QUEUED: _ClassVar[JobState]
    RUNNING: _ClassVar[JobState]
    SUCCEEDED: _ClassVar[JobState]
    FAILED: _ClassVar[JobState]
    CANCELLED: _ClassVar[JobState]
JOB_STATE_UNSPECIFIED: JobState
QUEUED: JobState
RUNNING: JobState
SUCCEEDED: JobState
FAILED: JobState
CANCELLED: JobState

class MediaRef(_message.Message):
    __slots__ = ("path", "blob_id")
    PATH_FIELD_NUMBER: _ClassVar[int]
    BLOB_ID_FIELD_NUMBER: _ClassVar[int]
    path: str
    blob_id: str
    def __init__(self, path: _Optional[str] = ..., blob_id: _Optional[str] = ...) -> None: ...

class RenderSettings(_message.Message):
    __slots__ = ("codec", "quality", "audio_policy", "keep_original_audio", "silence", "fade_frames")
    CODEC_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    AUDIO_POLICY_FIELD_NUMBER: _ClassVar[int]
    KEEP_ORIGINAL_AUDIO_FIELD_NUMBER: _ClassVar[int]
    SILENCE_FIELD_NUMBER: _ClassVar[int]
    FADE_FRAMES_FIELD_NUMBER: _ClassVar[int]
    codec: str
    quality: int
    audio_policy: str
    keep_original_audio: bool
    silence: str
    fade_frames: int
    def __init__(self, codec: _Optional[str] = ..., quality: _Optional[int] = ..., audio_policy: _Optional[str] = ..., keep_original_audio: bool = ..., silence: _Optional[str] = ..., fade_frames: _Optional[int] = ...) -> None: ...

class VideoRange(_message.Message):
    __slots__ = ("first_frame", "frame_count")
    FIRST_FRAME_FIELD_NUMBER: _ClassVar[int]
    FRAME_COUNT_FIELD_NUMBER: _ClassVar[int]
    first_frame: int
    frame_count: int
    def __init__(self, first_frame: _Optional[int] = ..., frame_count: _Optional[int] = ...) -> None: ...

class SubmitRenderRequest(_message.Message):
    __slots__ = ("request_id", "video", "audio", "output_path", "settings", "actor_profile", "priority", "labels", "video_range", "audio_offset_s")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PATH_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_PROFILE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    VIDEO_RANGE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_OFFSET_S_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    video: MediaRef
    audio: MediaRef
    output_path: str
    settings: RenderSettings
    actor_profile: MediaRef
    priority: int
    labels: _containers.ScalarMap[str, str]
    video_range: VideoRange
    audio_offset_s: float
    def __init__(self, request_id: _Optional[str] = ..., video: _Optional[_Union[MediaRef, _Mapping]] = ..., audio: _Optional[_Union[MediaRef, _Mapping]] = ..., output_path: _Optional[str] = ..., settings: _Optional[_Union[RenderSettings, _Mapping]] = ..., actor_profile: _Optional[_Union[MediaRef, _Mapping]] = ..., priority: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., video_range: _Optional[_Union[VideoRange, _Mapping]] = ..., audio_offset_s: _Optional[float] = ...) -> None: ...

class JobProgress(_message.Message):
    __slots__ = ("stage", "frames_done", "frames_total", "fps", "eta_seconds", "warnings")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    FRAMES_DONE_FIELD_NUMBER: _ClassVar[int]
    FRAMES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    stage: str
    frames_done: int
    frames_total: int
    fps: float
    eta_seconds: float
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stage: _Optional[str] = ..., frames_done: _Optional[int] = ..., frames_total: _Optional[int] = ..., fps: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class JobResult(_message.Message):
    __slots__ = ("output_path", "sha256", "size_bytes", "frames", "report_json")
    OUTPUT_PATH_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    REPORT_JSON_FIELD_NUMBER: _ClassVar[int]
    output_path: str
    sha256: str
    size_bytes: int
    frames: int
    report_json: str
    def __init__(self, output_path: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ..., frames: _Optional[int] = ..., report_json: _Optional[str] = ...) -> None: ...

class JobError(_message.Message):
    __slots__ = ("code", "code_name", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    CODE_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    code_name: str
    message: str
    def __init__(self, code: _Optional[int] = ..., code_name: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("name", "id", "state", "request", "progress", "result", "error", "attempts", "created_unix", "updated_unix")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    UPDATED_UNIX_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    state: JobState
    request: SubmitRenderRequest
    progress: JobProgress
    result: JobResult
    error: JobError
    attempts: int
    created_unix: float
    updated_unix: float
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., request: _Optional[_Union[SubmitRenderRequest, _Mapping]] = ..., progress: _Optional[_Union[JobProgress, _Mapping]] = ..., result: _Optional[_Union[JobResult, _Mapping]] = ..., error: _Optional[_Union[JobError, _Mapping]] = ..., attempts: _Optional[int] = ..., created_unix: _Optional[float] = ..., updated_unix: _Optional[float] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("states", "limit")
    STATES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[JobState]
    limit: int
    def __init__(self, states: _Optional[_Iterable[_Union[JobState, str]]] = ..., limit: _Optional[int] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ...) -> None: ...

class UploadHeader(_message.Message):
    __slots__ = ("name", "size", "sha256")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    sha256: str
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class UploadChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: UploadHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[UploadHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class Blob(_message.Message):
    __slots__ = ("id", "size", "sha256")
    ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    id: str
    size: int
    sha256: str
    def __init__(self, id: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class DownloadRequest(_message.Message):
    __slots__ = ("job_id", "blob_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    BLOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    blob_id: str
    def __init__(self, job_id: _Optional[str] = ..., blob_id: _Optional[str] = ...) -> None: ...

class DownloadHeader(_message.Message):
    __slots__ = ("name", "size", "sha256")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    sha256: str
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class DownloadChunk(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: DownloadHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[DownloadHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class SyncFrameRequest(_message.Message):
    __slots__ = ("image_png", "pcm_f32le")
    IMAGE_PNG_FIELD_NUMBER: _ClassVar[int]
    PCM_F32LE_FIELD_NUMBER: _ClassVar[int]
    image_png: bytes
    pcm_f32le: bytes
    def __init__(self, image_png: _Optional[bytes] = ..., pcm_f32le: _Optional[bytes] = ...) -> None: ...

class SyncFrameResponse(_message.Message):
    __slots__ = ("image_png",)
    IMAGE_PNG_FIELD_NUMBER: _ClassVar[int]
    image_png: bytes
    def __init__(self, image_png: _Optional[bytes] = ...) -> None: ...

class ServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfoResponse(_message.Message):
    __slots__ = ("version", "device", "backend", "model", "concurrency", "allowed_roots", "max_upload_bytes", "max_width", "max_height", "max_duration_s", "max_frames", "queued", "running", "generator_calls", "shared_generator_calls")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_ROOTS_FIELD_NUMBER: _ClassVar[int]
    MAX_UPLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_WIDTH_FIELD_NUMBER: _ClassVar[int]
    MAX_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_S_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAMES_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_CALLS_FIELD_NUMBER: _ClassVar[int]
    SHARED_GENERATOR_CALLS_FIELD_NUMBER: _ClassVar[int]
    version: str
    device: str
    backend: str
    model: str
    concurrency: int
    allowed_roots: _containers.RepeatedScalarFieldContainer[str]
    max_upload_bytes: int
    max_width: int
    max_height: int
    max_duration_s: float
    max_frames: int
    queued: int
    running: int
    generator_calls: int
    shared_generator_calls: int
    def __init__(self, version: _Optional[str] = ..., device: _Optional[str] = ..., backend: _Optional[str] = ..., model: _Optional[str] = ..., concurrency: _Optional[int] = ..., allowed_roots: _Optional[_Iterable[str]] = ..., max_upload_bytes: _Optional[int] = ..., max_width: _Optional[int] = ..., max_height: _Optional[int] = ..., max_duration_s: _Optional[float] = ..., max_frames: _Optional[int] = ..., queued: _Optional[int] = ..., running: _Optional[int] = ..., generator_calls: _Optional[int] = ..., shared_generator_calls: _Optional[int] = ...) -> None: ...
