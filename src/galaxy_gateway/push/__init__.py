"""The gRPC push subscriptions to the backend replicas, and what is done with their events."""
