"""Runtime: one engine per running game (a container or a process), its jobs and turns."""
