"""Training of the learned generator: data from the dataset cache, motion and renderer loops, adaptation."""
