// The orders editor: GalaxyNG orders as text, checked by the engine as the player pauses
// (errors and warnings beside their lines, the forecast below), sent with one button, and
// the orders already sent for this turn loaded back.

import { get, post, put } from "./api.js";
import { h, num, replace, table } from "./dom.js";
import { afterPaint } from "./map.js";
import { busy, errorText } from "./ui.js";

const PAUSE_MS = 250;
// Orders typed and not sent, by player, game and turn: a visit to another page of this tab
// (the inbox, the game's page) does not lose them. In memory only: gone with the tab.
const drafts = new Map();

function issueItem(issue, kind) {
  return h("li", { class: `issue issue-${kind}`, dataset: { line: issue.line ?? "" } },
    h("button", { type: "button", class: "link", dataset: { line: issue.line ?? "" } },
      issue.line ? `Line ${issue.line}` : "Orders"),
    issue.order ? h("code", null, issue.order) : null,
    h("span", null, issue.message));
}

function forecastView(forecast) {
  if (!forecast || !forecast.planets) return h("p", { class: "muted" }, "No forecast yet.");
  return h("div", null,
    h("p", { class: "muted" }, `After turn ${forecast.turn}, before combat and others' orders:`),
    table([
      ["#", (p) => p.number], ["Planet", (p) => p.name], ["Producing", (p) => p.production],
      ["Pop.", (p) => num(p.population)], ["Ind.", (p) => num(p.industry)],
      ["CAP", (p) => num(p.cap)], ["MAT", (p) => num(p.mat)], ["COL", (p) => num(p.col)],
    ], forecast.planets, { caption: "Your planets" }),
    table([
      ["Type", (t) => t.name], ["D", (t) => num(t.drive)], ["A", (t) => num(t.guns)],
      ["W", (t) => num(t.weapons)], ["S", (t) => num(t.shields)], ["C", (t) => num(t.cargo)],
      ["Mass", (t) => num(t.mass)],
    ], forecast.ship_types || [], { caption: "Ship types" }),
    table([
      ["#", (g) => g.number], ["Ships", (g) => g.ships], ["Type", (g) => g.type],
      ["Where", (g) => (g.at !== undefined && g.at !== null ? `at #${g.at}` : `#${g.from} → #${g.to}`)],
    ], forecast.groups || [], { caption: "Groups" }));
}

export class OrdersEditor {
  constructor({ gameId, playerId }) {
    this.gameId = gameId;
    this.playerId = playerId;
    this.sentText = null;
    this.asked = 0;
    this.timer = null;
    this.textarea = h("textarea", { class: "orders-text", testid: "orders-editor", rows: 16,
      spellcheck: "false", autocomplete: "off", autocapitalize: "off", wrap: "off",
      id: "orders-text", "aria-describedby": "orders-help" });
    this.gutter = h("div", { class: "gutter", "aria-hidden": "true" });
    this.errors = h("ul", { class: "issues", testid: "orders-errors", "aria-live": "polite" });
    this.warnings = h("ul", { class: "issues", testid: "orders-warnings" });
    this.forecast = h("div", { class: "forecast", testid: "orders-forecast" });
    this.state = h("p", { class: "orders-state", testid: "orders-status", role: "status" });
    this.pace = h("p", { class: "muted small pace", testid: "orders-check-pace", role: "status" });
    this.submit = h("button", { type: "button", testid: "orders-submit" }, "Send the orders");
    this.textarea.addEventListener("input", () => this.typed());
    this.textarea.addEventListener("scroll", () => {
      this.gutter.scrollTop = this.textarea.scrollTop;
    });
    this.submit.addEventListener("click", () => busy(this.submit, this.send()));
    const jump = (event) => {
      const line = Number(event.target.dataset && event.target.dataset.line);
      if (line) this.focusLine(line);
    };
    this.errors.addEventListener("click", jump);
    this.warnings.addEventListener("click", jump);
    this.element = h("section", { class: "card orders", "aria-labelledby": "orders-title" },
      h("h2", { id: "orders-title" }, "Orders"),
      h("label", { for: "orders-text", class: "sr-only" }, "Your orders for the next turn"),
      h("p", { id: "orders-help", class: "muted small" },
        "GalaxyNG orders, one per line; checked as you type, sent with the button."),
      h("div", { class: "editor" }, this.gutter, this.textarea),
      h("div", { class: "actions" }, this.submit, this.state), this.pace,
      h("h3", null, "Errors"), this.errors,
      h("h3", null, "Warnings"), this.warnings,
      h("details", { class: "forecast-box", open: true },
        h("summary", null, "Forecast"), this.forecast));
    this.renderGutter([], []);
  }

  // The orders already sent for the coming turn, with their verdict.
  async load() {
    this.asked += 1;
    try {
      const sent = await get(`/user/games/${this.gameId}/orders`);
      this.turn = sent.turn;
      this.sentText = sent.orders;
      this.textarea.value = sent.orders || "";
      this.state.textContent = sent.orders === null
        ? `No orders sent for turn ${sent.turn} yet.`
        : `Orders sent for turn ${sent.turn}.`;
      this.state.dataset.sent = String(sent.orders !== null);
      const draft = drafts.get(this.draftKey());
      if (draft !== undefined && draft !== (sent.orders || "")) {
        this.textarea.value = draft;
        this.state.textContent = "Changed: not sent yet (kept from before).";
        this.state.dataset.sent = "false";
        await this.check();
      } else if (sent.orders) await this.check();
      else this.show({ errors: [], warnings: [], forecast: null });
    } catch (error) {
      this.state.textContent = errorText(error);
    }
  }

  draftKey() {
    return `${this.playerId}/${this.gameId}/${this.turn}`;
  }

  typed() {
    if (this.turn !== undefined) {
      if (this.textarea.value === (this.sentText || "")) drafts.delete(this.draftKey());
      else drafts.set(this.draftKey(), this.textarea.value);
    }
    this.typedAt = performance.now();
    this.element.dataset.typedAt = String(this.typedAt);
    this.state.textContent = this.sentText === this.textarea.value
      ? `Orders sent for turn ${this.turn}.` : "Changed: not sent yet.";
    this.state.dataset.sent = String(this.sentText === this.textarea.value);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), PAUSE_MS);
  }

  async check() {
    this.asked += 1;
    const mine = this.asked;
    const text = this.textarea.value;
    const asked = performance.now();
    try {
      const verdict = await post(`/user/games/${this.gameId}/orders/check`, { orders: text });
      if (mine === this.asked) this.show(verdict, asked);
    } catch (error) {
      if (mine !== this.asked) return;
      if (error.status === 429) {
        // Too many checks: the last verdict stays, and this text is checked when allowed.
        const wait = Math.max(1, Number(error.details.retry_after_seconds) || 1);
        this.pace.textContent = `Checking again in ${wait} s (too many checks at once).`;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.check(), wait * 1000);
        return;
      }
      replace(this.errors, h("li", { class: "issue" }, errorText(error)));
    }
  }

  async send() {
    clearTimeout(this.timer);
    this.asked += 1;
    const mine = this.asked;
    const text = this.textarea.value;
    try {
      const verdict = await put(`/user/games/${this.gameId}/orders`, { orders: text });
      drafts.delete(this.draftKey());
      this.sentText = text;
      this.turn = verdict.turn ?? this.turn;
      this.state.textContent = verdict.accepted
        ? `Orders sent for turn ${this.turn}.`
        : `Orders sent for turn ${this.turn}; the lines with errors will not be carried out.`;
      this.state.dataset.sent = "true";
      if (mine === this.asked) this.show(verdict);
    } catch (error) {
      this.state.textContent = errorText(error);
      this.state.dataset.sent = "false";
    }
  }

  show(verdict, asked) {
    this.pace.textContent = "";
    const errors = verdict.errors || [];
    const warnings = verdict.warnings || [];
    replace(this.errors, errors.length ? errors.map((e) => issueItem(e, "error"))
      : h("li", { class: "muted" }, "None."));
    replace(this.warnings, warnings.length ? warnings.map((w) => issueItem(w, "warning"))
      : h("li", { class: "muted" }, "None."));
    replace(this.forecast, forecastView(verdict.forecast));
    this.renderGutter(errors, warnings);
    if (errors.length) this.textarea.setAttribute("aria-invalid", "true");
    else this.textarea.removeAttribute("aria-invalid");
    this.element.dataset.errorCount = String(errors.length);
    // When the verdict is on screen (the timeline's figure for the editor).
    afterPaint(() => {
      const now = performance.now();
      this.element.dataset.checkedAt = String(now);
      if (asked !== undefined) performance.measure("orders-verdict", { start: asked, end: now });
    });
  }

  renderGutter(errors, warnings) {
    const marks = new Map();
    for (const w of warnings) if (w.line) marks.set(w.line, ["warning", w.message]);
    for (const e of errors) if (e.line) marks.set(e.line, ["error", e.message]);
    const count = Math.max(this.textarea.value.split("\n").length, ...marks.keys(), 1);
    const lines = [];
    for (let n = 1; n <= count; n += 1) {
      const mark = marks.get(n);
      lines.push(h("div", { class: `gutter-line${mark ? ` gutter-${mark[0]}` : ""}`,
        title: mark ? mark[1] : null, dataset: { line: n } },
      mark ? (mark[0] === "error" ? "✖ " : "! ") : "", String(n)));
    }
    this.gutter.replaceChildren(...lines);
    this.gutter.scrollTop = this.textarea.scrollTop;
  }

  focusLine(line) {
    const lines = this.textarea.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((total, l) => total + l.length + 1, 0);
    this.textarea.focus();
    this.textarea.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }

  stop() {
    clearTimeout(this.timer);
    this.asked += 1;
  }
}
