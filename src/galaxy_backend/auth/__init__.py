"""Sign-in by emailed code, player sessions, and the gateway's session resolution."""
