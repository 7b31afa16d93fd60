"""WebSocket push at `/ws`: first-frame auth, connections by user and session, delivery."""
