"""Code generated from proto/push.proto (`make proto`), shared by the backend and the gateway."""
