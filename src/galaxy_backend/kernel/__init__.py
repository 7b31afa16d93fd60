"""The shared kernel: what every domain may use and none owns (errors, the principal,
text fields, cursors, durations, backoff, files, caches and their bus, housekeeping,
server secrets, loop liveness, address keys). It imports no domain."""
