"""Where engines run: the `docker` driver (containers) and the `process` driver (local
processes), behind one interface (`base.Driver`)."""
