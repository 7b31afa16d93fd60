"""The edges: the HTTP API (audiences, middleware, probes) and the gRPC push listener."""
