// The gateway's WebSocket: authenticated by its first frame (never a token in the URL),
// reconnected with exponential backoff and jitter; `ready` after every (re)connect and
// `resync` both mean "reload what you show", since missed events are not replayed.

const MIN_WAIT_MS = 500;
const MAX_WAIT_MS = 30_000;
const SEEN_LIMIT = 500;

export class Live {
  constructor({ token, onEvent, onReload, onSignedOut, onState }) {
    this.token = token;
    this.onEvent = onEvent;
    this.onReload = onReload;
    this.onSignedOut = onSignedOut;
    this.onState = onState || (() => {});
    this.socket = null;
    this.bound = MIN_WAIT_MS;
    this.timer = null;
    this.stopped = false;
    this.seen = new Set();
    this.connects = 0;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, "signed out");
    this.socket = null;
  }

  connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${window.location.host}/ws`);
    this.socket = socket;
    this.onState("connecting");
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "auth", token: this.token }));
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (closed) => this.closed(socket, closed.code));
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === "ready") {
      this.bound = MIN_WAIT_MS;
      this.connects += 1;
      this.onState("live");
      // Events sent while away are lost: a reconnect reloads what is shown.
      if (this.connects > 1) this.onReload("reconnected");
    } else if (frame.type === "resync") {
      this.onReload("resync");
    } else if (frame.type === "event") {
      const id = frame.payload && frame.payload.id;
      const key = id ? `${frame.kind}:${id}` : null;
      if (key && this.seen.has(key)) return;
      if (key) {
        this.seen.add(key);
        if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value);
      }
      this.onEvent(frame.kind, frame.payload || {});
    }
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.stopped) return;
    if (code === 4401) {
      this.onState("signed-out");
      this.onSignedOut();
      return;
    }
    if (code === 4400) {
      this.onState("refused");
      return;
    }
    this.onState("offline");
    const wait = Math.random() * this.bound;
    this.bound = Math.min(this.bound * 2, MAX_WAIT_MS);
    this.timer = setTimeout(() => this.connect(), wait);
  }
}
