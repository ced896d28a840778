"""The generator slot of the pipeline: a protocol, the identity backend, and the loader by name."""
from lipsync_engine.generator.base import ActorProfile, Generator, ProfileSamples
from lipsync_engine.generator.identity import IdentityGenerator

__all__ = ["ActorProfile", "Generator", "ProfileSamples", "IdentityGenerator"]
