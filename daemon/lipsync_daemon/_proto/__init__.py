"""Code generated from proto/lipsync/v1/lipsync.proto by proto/generate.py; do not edit."""
