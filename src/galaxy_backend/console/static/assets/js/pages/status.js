// The platform at a glance; it refreshes itself while the page is open.

import { get } from "../api.js";
import { badge, count, h, link, replace, seconds, statusBadge, when } from "../dom.js";
import { failure, loading, section, table } from "../ui.js";

const REFRESH_MS = 5000;

function yesNo(value, good, bad) {
  return value ? badge(good, "good") : badge(bad, "bad");
}

function view(s) {
  const cap = s.count_cap;
  const n = (value) => count(value, cap);
  const readiness = h("div", { class: "ready-line" },
    h("span", { testid: "status-ready" }, s.ready ? badge("ready", "good") : badge("not ready", "bad")),
    s.reasons.length
      ? h("ul", { class: "reasons", testid: "status-reasons" }, s.reasons.map((r) => h("li", null, r)))
      : h("span", { class: "muted" }, "every cache warm, PostgreSQL answering, every loop on time"));
  const components = table(["Component", "State"], s.components.map((c) => h("tr", null,
    h("td", null, c.name), h("td", null, yesNo(c.started, "started", "not started")))),
  "status-components");
  const loops = table(["Loop", "Rounds", "Last round", "State"], s.loops.map((l) => h("tr", null,
    h("td", null, l.name), h("td", { class: "num" }, l.rounds),
    h("td", null, `${seconds(l.seconds_since_round)} ago`),
    h("td", null, l.overdue ? badge("overdue", "bad") : badge("on time", "good")))),
  "status-loops");
  const caches = table(["Cache", "State"], s.caches.map((c) => h("tr", null,
    h("td", null, c.name), h("td", null, yesNo(c.warm, "warm", "cold")))), "status-caches");
  const pool = s.database_pool;
  const database = h("dl", { class: "facts", testid: "status-database" },
    h("dt", null, "Pool"), h("dd", null, `${pool.size} of ${pool.max_size} connections, ${pool.idle} idle`),
    h("dt", null, "Server"), h("dd", null, pool.embedded ? "embedded (development)" : "configured"),
    h("dt", null, "This refresh"), h("dd", null, `${s.database_ms.toFixed(1)} ms of queries`));
  const q = s.queues;
  const queues = table(["Queue", "Waiting", "In progress", "Retrying"], [
    h("tr", null, h("td", null, link("#/mail", "Mail")), h("td", { class: "num" }, n(q.mail.pending)),
      h("td", { class: "num" }, n(q.mail.sending)), h("td", { class: "num" }, n(q.mail.retrying))),
    ...q.notification_routes.map((r) => h("tr", null,
      h("td", null, `Notifications by ${r.channel}`), h("td", { class: "num" }, n(r.pending)),
      h("td", { class: "num" }, n(r.delivering)), h("td", null, "—"))),
    h("tr", null, h("td", null, "Runtime jobs"), h("td", { class: "num" }, n(q.runtime_jobs.queued)),
      h("td", { class: "num" }, n(q.runtime_jobs.running)), h("td", null, "—")),
  ], "status-queues");
  const dead = h("dl", { class: "facts", testid: "status-dead-letters" },
    h("dt", null, link("#/notifications", "Notification dead letters")),
    h("dd", { testid: "status-dead-notifications" }, n(s.dead_letters.notifications)),
    h("dt", null, link("#/mail?status=failed", "Mails failed for good")),
    h("dd", { testid: "status-dead-mail" }, n(s.dead_letters.mail_failed)));
  const push = s.push;
  const pushFacts = h("dl", { class: "facts" },
    h("dt", null, "Ring"), h("dd", null, `${push.retained} of ${push.capacity} events kept`),
    h("dt", null, "Cursors"), h("dd", null, `${push.oldest_cursor} … ${push.last_cursor}`));
  const subscribers = push.subscribers.length
    ? table(["Gateway", "Cursor", "Lag (events)"], push.subscribers.map((sub) => h("tr", null,
      h("td", null, sub.gateway_id), h("td", { class: "num" }, sub.cursor),
      h("td", { class: "num" }, sub.lag))), "status-subscribers")
    : h("p", { class: "muted", testid: "status-subscribers" }, "No gateway is subscribed.");
  const rt = s.runtime;
  const records = Object.entries(rt.records).sort();
  const runtime = h("div", null,
    h("dl", { class: "facts", testid: "status-runtime" },
      h("dt", null, "Driver"), h("dd", null, rt.driver),
      h("dt", null, "Engines running"),
      h("dd", { testid: "status-engines" },
        rt.max_engines ? `${rt.engines_running} of at most ${rt.max_engines}` : String(rt.engines_running)),
      h("dt", null, "Scheduler"),
      h("dd", { testid: "status-scheduler" }, rt.scheduler.ticks_due
        ? `${n(rt.scheduler.ticks_due)} turn(s) due, the oldest ${seconds(rt.scheduler.lag_seconds)} late`
        : "no turn overdue")),
    records.length
      ? table(["Runtime records", "Games"], records.map(([status, value]) => h("tr", null,
        h("td", null, statusBadge(status)), h("td", { class: "num" }, value))), "status-records")
      : h("p", { class: "muted" }, "No game has an engine yet."));
  return h("div", { class: "grid" },
    section("Readiness", readiness),
    section("Queues", queues),
    section("Dead letters", dead),
    section("Runtime", runtime),
    section("Push", pushFacts, subscribers),
    section("Database", database),
    section("Components", components),
    section("Background loops", loops),
    section("Caches", caches));
}

export async function renderStatus(ctx) {
  const updated = h("p", { class: "muted", testid: "status-updated" });
  const body = h("div", null, loading());
  replace(ctx.main, h("h1", null, "Status"), updated, body);
  let timer = null;
  let stopped = false;
  ctx.onCleanup(() => {
    stopped = true;
    clearTimeout(timer);
  });
  async function refresh() {
    if (document.hidden) {
      // Nobody is looking: no query until the tab is seen again.
      timer = setTimeout(refresh, REFRESH_MS);
      return;
    }
    try {
      const status = await get("/status");
      if (stopped) return;
      replace(body, view(status));
      updated.textContent = `Updated ${when(status.generated_at)}; refreshes every ${REFRESH_MS / 1000} s.`;
      updated.dataset.generatedAt = status.generated_at;
    } catch (error) {
      if (stopped) return;
      replace(body, failure(error));
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }
  await refresh();
}
