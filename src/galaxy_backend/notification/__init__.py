"""Notifications: what the platform tells players, by push, by email and in their inbox."""
