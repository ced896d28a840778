"""`lipsync otio`: OTIO timelines in, the same timelines with LipSync take tracks out."""
