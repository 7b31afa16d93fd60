// What every page shares: the in-page confirmation, messages, action buttons, paged lists.

import { ApiError } from "./api.js";
import { clear, h, replace } from "./dom.js";

let flashRegion = null;
let confirmRegion = null;

export function mountRegions(flash, confirm) {
  flashRegion = flash;
  confirmRegion = confirm;
}

export function errorText(error) {
  if (error instanceof ApiError) return error.text;
  return error && error.message ? error.message : String(error);
}

// One message at a time above the page: what was done, or the API's reason for refusing.
export function flash(message, kind) {
  if (!flashRegion) return;
  const failed = kind === "error";
  replace(flashRegion, h("div", {
    class: `flash flash-${failed ? "error" : "done"}`,
    role: failed ? "alert" : "status",
    testid: failed ? "action-error" : "action-done",
  }, h("span", null, message), h("button", {
    type: "button", class: "link", "aria-label": "Dismiss", onclick: () => clear(flashRegion),
  }, "×")));
}

export function clearFlash() {
  if (flashRegion) clear(flashRegion);
}

export function closeConfirm() {
  if (confirmRegion) {
    clear(confirmRegion);
    confirmRegion.hidden = true;
  }
}

// Irreversible actions ask here, in the page (never a browser dialog); the API's answer is
// shown either way.
export function confirmAction({ title, message, label, run, done }) {
  if (!confirmRegion) return;
  const yes = h("button", { type: "button", class: "danger", testid: "confirm" }, label || "Confirm");
  const no = h("button", { type: "button", testid: "confirm-cancel" }, "Cancel");
  const panel = h("div", {
    class: "confirm", role: "dialog", "aria-modal": "true", "aria-labelledby": "confirm-title",
  }, h("h2", { id: "confirm-title" }, title || "Are you sure?"),
  h("p", null, message), h("div", { class: "buttons" }, yes, no));
  no.addEventListener("click", closeConfirm);
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    no.disabled = true;
    try {
      const result = await run();
      closeConfirm();
      if (done) await done(result);
    } catch (error) {
      closeConfirm();
      flash(errorText(error), "error");
    }
  });
  replace(confirmRegion, panel);
  confirmRegion.hidden = false;
  yes.focus();
}

// A button that changes something: only admins get one (viewers see none at all).
export function actionButton(ctx, { label, testid, danger, onclick, dataset }) {
  if (!ctx.canWrite) return null;
  return h("button", {
    type: "button", class: `action${danger ? " danger" : ""}`, testid, dataset, onclick,
  }, label);
}

// Run a reversible action at once; its outcome goes to the message line.
export async function runAction(button, run, done, message) {
  if (button) button.disabled = true;
  clearFlash();
  try {
    const result = await run();
    if (message) flash(message, "done");
    if (done) await done(result);
  } catch (error) {
    flash(errorText(error), "error");
  } finally {
    if (button) button.disabled = false;
  }
}

// A table filled a page at a time with the API's cursor ("More" asks for the next page).
export function pagedTable({ columns, load, row, empty, testid }) {
  const body = h("tbody");
  const note = h("p", { class: "muted" });
  const more = h("button", { type: "button", class: "more", testid: "more" }, "More");
  const table = h("table", { class: "table", testid },
    h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col" }, c)))), body);
  let cursor = null;
  let generation = 0;

  async function next(first) {
    const mine = generation;
    more.disabled = true;
    try {
      const page = await load(first ? null : cursor);
      if (mine !== generation) return;
      for (const item of page.items) body.append(row(item));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      note.textContent = body.rows.length ? "" : (empty || "Nothing here.");
    } catch (error) {
      if (mine === generation) note.textContent = errorText(error);
    } finally {
      more.disabled = false;
    }
  }

  more.addEventListener("click", () => next(false));
  more.hidden = true;
  const element = h("div", { class: "paged" }, h("div", { class: "table-wrap" }, table), note, more);
  const reload = () => {
    generation += 1;
    clear(body);
    cursor = null;
    return next(true);
  };
  const ready = reload();
  return { element, reload, ready };
}

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", null, title), ...children);
}

export function table(columns, rows, testid) {
  return h("div", { class: "table-wrap" }, h("table", { class: "table", testid },
    h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", null, rows)));
}

export function loading() {
  return h("p", { class: "muted" }, "Loading…");
}

export function failure(error) {
  return h("p", { class: "error", role: "alert", testid: "page-error" }, errorText(error));
}
