"""The render pipeline: whole shots (render.render_video) and stills (still.sync_frame, still.sync_frames).

Import them from ``lipsync_engine``; the modules here are imported on first use so that the cheap parts
(schedule, speech) load without the media and face stacks.
"""
