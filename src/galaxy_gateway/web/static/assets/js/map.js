// The galaxy map, in SVG from a report: planets by owner and size with their names, groups
// in flight on their routes; zoom with the wheel, buttons or + and -, pan by dragging or
// with the arrow keys. Moving the view changes one viewBox per animation frame. The planets
// are one tab stop (a roving tabindex): arrow keys go to the nearest planet that way,
// Enter or Space shows its details.

import { h, s } from "./dom.js";

const LABEL_PX = 11;
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const MIN_ZOOM = 0.5;
const MAX_ZOOM = 40;

// Runs `fn` once the next frame has been painted.
export function afterPaint(fn) {
  requestAnimationFrame(() => setTimeout(fn, 0));
}

export function ownerColour(name) {
  let hash = 0;
  for (const ch of String(name)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return `hsl(${hash % 360} 65% 48%)`;
}

// Every planet of the report, each with what this race knows of it.
export function planetsOf(report) {
  const mine = (report.planets || []).map((p) => ({ ...p, status: "yours", owner: report.race.name }));
  return [...mine, ...(report.other_planets || [])].sort((a, b) => a.number - b.number);
}

function radius(planet, size) {
  const base = size / 200;
  if (!planet.size) return 0.7 * base;
  return Math.max(0.7, Math.sqrt(planet.size) / 12) * base;
}

// Aliens by owner; the other kinds of planet take their colour from the stylesheet.
function fill(planet) {
  return planet.status === "alien" ? ownerColour(planet.owner) : null;
}

// The nearest planet from `from` in the direction (dx, dy): ahead of it, off the axis
// counted twice, so a planet straight ahead beats a nearer one to the side.
export function nearestToward(planets, from, dx, dy) {
  let best = null;
  let bestScore = Infinity;
  for (const p of planets) {
    if (p === from) continue;
    const ahead = (p.x - from.x) * dx + (p.y - from.y) * dy;
    if (ahead <= 0) continue;
    const aside = Math.abs((p.x - from.x) * dy - (p.y - from.y) * dx);
    if (aside > ahead * 2) continue;
    const score = ahead + 2 * aside;
    if (score < bestScore) {
      best = p;
      bestScore = score;
    }
  }
  return best;
}

function planetLabel(p) {
  const who = p.status === "yours" ? "yours" : `${p.status}${p.owner ? `, ${p.owner}` : ""}`;
  return `${p.name} (#${p.number}), ${who}`;
}

function position(byNumber, from, to, left) {
  const a = byNumber.get(from);
  const b = byNumber.get(to);
  if (!a || !b) return null;
  const total = Math.hypot(b.x - a.x, b.y - a.y) || 1;
  const share = Math.min(1, Math.max(0, left / total));
  return { a, b, x: b.x - (b.x - a.x) * share, y: b.y - (b.y - a.y) * share };
}

function flights(report, byNumber) {
  const lines = [];
  const add = (item, kind, text) => {
    if (item.to === undefined || item.to === null || item.from === undefined) return;
    const at = position(byNumber, item.from, item.to, item.distance_left || 0);
    if (at) lines.push({ ...at, kind, text });
  };
  for (const g of report.groups || []) {
    if (!g.fleet) add(g, "mine", `Group ${g.number}: ${g.ships} ${g.type}`);
  }
  for (const f of report.fleets || []) add(f, "mine", `Fleet ${f.name}`);
  for (const g of report.incoming || []) add(g, "incoming", `Incoming, mass ${g.mass}`);
  return lines;
}

export class GalaxyMap {
  constructor({ onSelect }) {
    this.onSelect = onSelect;
    this.view = null;
    this.size = 200;
    this.frame = 0;
    this.planets = [];
    this.byNumber = new Map();
    this.current = null;
    this.svg = s("svg", { class: "galaxy-map", testid: "galaxy-map", role: "group",
      tabindex: 0, "aria-label": "Galaxy map: arrow keys pan, + and - zoom, 0 resets;"
        + " Tab goes to the planets, where arrow keys go from planet to planet and Enter shows one",
      preserveAspectRatio: "xMidYMid meet" });
    this.layer = s("g", { class: "layer" });
    this.svg.append(this.layer);
    this.bindInput();
    const zoomButton = (text, name, factor) => h("button", { type: "button", class: "secondary",
      "aria-label": name, onclick: () => (factor ? this.zoom(factor) : this.reset()) }, text);
    this.element = h("div", { class: "map-wrap" }, this.svg,
      h("div", { class: "map-tools" }, zoomButton("+", "Zoom in", 1.5),
        zoomButton("−", "Zoom out", 1 / 1.5), zoomButton("⤢", "Show the whole galaxy", 0)));
  }

  // Draws the report's galaxy; keeps the view unless the galaxy's size changed.
  draw(report) {
    const started = performance.now();
    const size = (report.galaxy && report.galaxy.size) || 200;
    if (!this.view || size !== this.size) this.view = { x: 0, y: 0, w: size, h: size };
    this.size = size;
    const planets = planetsOf(report);
    const byNumber = new Map(planets.map((p) => [p.number, p]));
    const routes = s("g", { class: "routes" });
    for (const f of flights(report, byNumber)) {
      routes.append(
        s("line", { x1: f.a.x, y1: f.a.y, x2: f.b.x, y2: f.b.y, class: `route route-${f.kind}` }),
        s("circle", { cx: f.x, cy: f.y, r: size / 250, class: `flight flight-${f.kind}` },
          s("title", null, f.text)));
    }
    const dots = s("g", { class: "planets" });
    const labels = s("g", { class: "labels" });
    if (!byNumber.has(this.current)) {
      const home = planets.find((p) => p.status === "yours") || planets[0];
      this.current = home ? home.number : null;
    }
    for (const p of planets) {
      const r = radius(p, size);
      dots.append(s("circle", { cx: p.x, cy: p.y, r, fill: fill(p), testid: "map-planet",
        class: `planet planet-${p.status}`, dataset: { planetNumber: p.number },
        role: "button", tabindex: p.number === this.current ? 0 : -1, "aria-label": planetLabel(p) },
      s("title", null, planetLabel(p))));
      labels.append(s("text", { x: p.x + r * 1.2, y: p.y - r * 0.6 }, p.name));
    }
    this.planets = planets;
    this.byNumber = byNumber;
    this.dots = dots;
    this.labels = labels;
    this.font = null;
    const hadFocus = Boolean(this.dots && this.dots.contains(document.activeElement));
    this.layer.replaceChildren(routes, dots, labels);
    // A new turn redraws the planets: the keyboard stays on the planet it was on.
    if (hadFocus) this.planetElement(this.current)?.focus({ preventScroll: true });
    this.apply();
    performance.measure("map-build", { start: started, end: performance.now() });
    // On the timeline: from the report to the frame that shows it (built, laid out, painted).
    afterPaint(() => performance.measure("map-drawn", { start: started, end: performance.now() }));
    return planets;
  }

  apply() {
    this.frame = 0;
    // Counted for the bench without touching the DOM: a pan writes one attribute a frame.
    this.svg.galaxyApplied = (this.svg.galaxyApplied || 0) + 1;
    const v = this.view;
    this.svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
    const width = this.svg.clientWidth || 600;
    // Names keep a readable size whatever the zoom (changed only when the zoom changes).
    const font = String((LABEL_PX * v.w) / width);
    if (this.labels && font !== this.font) {
      this.labels.setAttribute("font-size", font);
      this.font = font;
    }
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.apply());
  }

  pan(dx, dy) {
    this.view.x += dx;
    this.view.y += dy;
    this.schedule();
  }

  zoom(factor, cx, cy) {
    const v = this.view;
    const w = Math.min(this.size / MIN_ZOOM, Math.max(this.size / MAX_ZOOM, v.w / factor));
    const px = cx === undefined ? v.x + v.w / 2 : cx;
    const py = cy === undefined ? v.y + v.h / 2 : cy;
    const k = w / v.w;
    this.view = { x: px - (px - v.x) * k, y: py - (py - v.y) * k, w, h: w };
    this.schedule();
  }

  reset() {
    this.view = { x: 0, y: 0, w: this.size, h: this.size };
    this.schedule();
  }

  planetElement(number) {
    return this.dots && this.dots.querySelector(`[data-planet-number="${number}"]`);
  }

  // The planets' one tab stop moves to `number`, which takes the focus, in view.
  focusPlanet(number) {
    const before = this.planetElement(this.current);
    const el = this.planetElement(number);
    const p = this.byNumber.get(number);
    if (!el || !p) return;
    if (before) before.setAttribute("tabindex", "-1");
    el.setAttribute("tabindex", "0");
    this.current = number;
    const v = this.view;
    const margin = v.w / 10;
    if (p.x < v.x + margin || p.x > v.x + v.w - margin || p.y < v.y + margin || p.y > v.y + v.h - margin) {
      this.view = { ...v, x: p.x - v.w / 2, y: p.y - v.h / 2 };
      this.schedule();
    }
    el.focus({ preventScroll: true });
  }

  // The planet the details show, marked on the map; the planets' tab stop goes to it.
  mark(number) {
    for (const el of this.dots ? this.dots.querySelectorAll(".planet-selected") : []) {
      el.classList.remove("planet-selected");
    }
    const el = this.planetElement(number);
    if (!el) return;
    el.classList.add("planet-selected");
    const before = this.planetElement(this.current);
    if (before && before !== el) before.setAttribute("tabindex", "-1");
    el.setAttribute("tabindex", "0");
    this.current = number;
  }

  // Galaxy units per screen pixel (the SVG keeps its aspect: the larger ratio counts).
  scale() {
    const box = this.svg.getBoundingClientRect();
    return Math.max(this.view.w / (box.width || 1), this.view.h / (box.height || 1));
  }

  toGalaxy(clientX, clientY) {
    const box = this.svg.getBoundingClientRect();
    const k = this.scale();
    const cx = this.view.x + this.view.w / 2;
    const cy = this.view.y + this.view.h / 2;
    return { x: cx + (clientX - box.left - box.width / 2) * k,
      y: cy + (clientY - box.top - box.height / 2) * k };
  }

  // A drag moves the drawn picture as one composited layer (no repaint of the planets),
  // and the view is committed to the viewBox once, when the drag ends.
  shift(dx, dy) {
    const moving = Boolean(dx || dy);
    this.svg.classList.toggle("dragging", moving);
    this.svg.style.transform = moving ? `translate(${dx}px, ${dy}px)` : "";
  }

  bindInput() {
    let drag = null;
    this.svg.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, dx: 0, dy: 0, moved: false, id: e.pointerId };
    });
    this.svg.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!drag.moved && this.svg.hasPointerCapture && !this.svg.hasPointerCapture(drag.id)) {
        try {
          this.svg.setPointerCapture(drag.id);
        } catch {
          // A pointer the browser no longer tracks: the drag goes on without capture.
        }
      }
      drag.moved = true;
      drag.dx = dx;
      drag.dy = dy;
      if (!drag.frame) {
        drag.frame = requestAnimationFrame(() => {
          if (!drag) return;
          drag.frame = 0;
          this.shift(drag.dx, drag.dy);
        });
      }
    });
    const end = (e) => {
      if (drag && drag.moved) {
        const k = this.scale();
        this.view.x -= drag.dx * k;
        this.view.y -= drag.dy * k;
        this.apply();
        this.shift(0, 0);
      } else if (drag && e.type === "pointerup") {
        const target = e.target.closest && e.target.closest("[data-planet-number]");
        if (target) this.onSelect(Number(target.dataset.planetNumber));
      }
      drag = null;
    };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);
    this.svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const at = this.toGalaxy(e.clientX, e.clientY);
      this.zoom(e.deltaY < 0 ? 1.2 : 1 / 1.2, at.x, at.y);
    }, { passive: false });
    this.svg.addEventListener("keydown", (e) => this.onKey(e));
  }

  // On a planet: arrows go from planet to planet, Enter or Space shows it; elsewhere on the
  // map arrows pan, + and - zoom, 0 resets.
  onKey(e) {
    const planet = e.target.closest && e.target.closest("[data-planet-number]");
    if (planet && !e.altKey && !e.ctrlKey && !e.metaKey) {
      const number = Number(planet.dataset.planetNumber);
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        this.onSelect(number);
        return;
      }
      if (ARROWS[e.key]) {
        e.preventDefault();
        const next = nearestToward(this.planets, this.byNumber.get(number), ...ARROWS[e.key]);
        if (next) this.focusPlanet(next.number);
        return;
      }
    }
    const step = this.view.w / 10;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step],
      ArrowDown: [0, step] };
    if (moves[e.key]) this.pan(...moves[e.key]);
    else if (e.key === "+" || e.key === "=") this.zoom(1.5);
    else if (e.key === "-") this.zoom(1 / 1.5);
    else if (e.key === "0") this.reset();
    else return;
    e.preventDefault();
  }
}
