"""The lip-sync daemon: gRPC service, durable job queue, worker."""
