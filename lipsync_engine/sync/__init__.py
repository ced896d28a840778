"""Our own SyncNet-style sync expert: model, mouth input, checkpoints, scoring (offset and confidence)."""
from lipsync_engine.sync.checkpoint import DEFAULT_WEIGHTS, load_sync_expert, save_sync_expert
from lipsync_engine.sync.model import SyncExpert, SyncExpertConfig, build_sync_expert
from lipsync_engine.sync.mouth import MOUTH_HW, mouth_box, mouth_images, mouth_stack_from_crops

__all__ = [
    "DEFAULT_WEIGHTS",
    "MOUTH_HW",
    "SyncExpert",
    "SyncExpertConfig",
    "build_sync_expert",
    "load_sync_expert",
    "mouth_box",
    "mouth_images",
    "mouth_stack_from_crops",
    "save_sync_expert",
]
