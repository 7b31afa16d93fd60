// A turn's report: the JSON as readable tables, or the text report as GalaxyNG prints it.

import { h, label, num, table } from "./dom.js";

const where = (g) => {
  if (g.at !== undefined && g.at !== null) return `at #${g.at}`;
  if (g.to !== undefined && g.to !== null) {
    return `#${g.from} → #${g.to} (${num(g.distance_left)} ly left)`;
  }
  return "—";
};
const tech = (t) => (t ? `${num(t.drive)}/${num(t.weapons)}/${num(t.shields)}/${num(t.cargo)}` : "—");

function section(title, ...content) {
  return h("section", { class: "report-section" }, h("h3", null, title), content);
}

function battles(report) {
  if (!(report.battles || []).length) return h("p", { class: "muted" }, "No battles.");
  return report.battles.map((b) => h("div", { class: "battle" },
    h("h4", null, `Battle at ${b.name} (#${b.planet}), phase ${b.phase}: ${b.shots} shots, ${b.kills} kills`),
    b.participants.map((p) => table([
      ["Ships", (g) => g.ships], ["Type", (g) => g.type], ["Tech D/W/S/C", (g) => tech(g.tech)],
      ["Cargo", (g) => g.cargo || "—"], ["Survivors", (g) => g.survivors],
    ], p.groups, { caption: `${p.race} (lost ${num(p.lost)})` }))));
}

export function reportTables(report) {
  const race = report.race || {};
  return h("div", { class: "report-tables" },
    h("p", { class: "report-title" },
      `${race.name}, turn ${report.turn}${report.finished ? ` — the game is over${report.winner ? `: ${report.winner} won` : ""}` : ""}`),
    section("Your race", h("dl", { class: "facts" }, [
      ["Tech (drive/weapons/shields/cargo)", tech(race)], ["Population", num(race.population)],
      ["Industry", num(race.industry)], ["Production", num(race.production)],
      ["Planets", race.planets], ["Allies", (race.allies || []).join(", ") || "—"],
    ].flatMap(([t, v]) => [h("dt", null, t), h("dd", null, v)]))),
    section("Races", table([
      ["#", (r) => r.rank], ["Race", (r) => r.name], ["Pop.", (r) => num(r.population)],
      ["Ind.", (r) => num(r.industry)], ["Tech", (r) => tech(r)], ["Planets", (r) => r.planets],
      ["Relation", (r) => (r.relation === "-" ? "you" : r.relation)],
      ["", (r) => (!r.alive ? "gone" : r.quit ? "quit" : "")],
    ], report.races || [])),
    section("Your planets", table([
      ["#", (p) => p.number], ["Name", (p) => p.name], ["X", (p) => num(p.x)], ["Y", (p) => num(p.y)],
      ["Size", (p) => num(p.size)], ["Pop.", (p) => num(p.population)],
      ["Ind.", (p) => num(p.industry)], ["Res.", (p) => num(p.resources)],
      ["Producing", (p) => p.production], ["CAP", (p) => num(p.cap)], ["MAT", (p) => num(p.mat)],
      ["COL", (p) => num(p.col)],
    ], report.planets || [])),
    section("Other planets", table([
      ["#", (p) => p.number], ["Name", (p) => p.name], ["Status", (p) => p.status],
      ["Owner", (p) => p.owner || "—"], ["X", (p) => num(p.x)], ["Y", (p) => num(p.y)],
      ["Size", (p) => num(p.size)], ["Res.", (p) => num(p.resources)],
    ], report.other_planets || [])),
    section("Ship types", table([
      ["Name", (t) => t.name], ["Drive", (t) => num(t.drive)], ["Guns", (t) => num(t.guns)],
      ["Weapons", (t) => num(t.weapons)], ["Shields", (t) => num(t.shields)],
      ["Cargo", (t) => num(t.cargo)], ["Mass", (t) => num(t.mass)], ["Speed", (t) => num(t.speed)],
    ], report.ship_types || []),
    (report.alien_ship_types || []).length ? table([
      ["Race", (t) => t.race], ["Name", (t) => t.name], ["Drive", (t) => num(t.drive)],
      ["Guns", (t) => num(t.guns)], ["Weapons", (t) => num(t.weapons)],
      ["Shields", (t) => num(t.shields)], ["Cargo", (t) => num(t.cargo)],
    ], report.alien_ship_types, { caption: "Seen of other races" }) : null),
    section("Groups", table([
      ["#", (g) => g.number], ["Ships", (g) => g.ships], ["Type", (g) => g.type],
      ["Tech D/W/S/C", (g) => tech(g.tech)], ["Cargo", (g) => (g.cargo ? `${g.cargo} ${num(g.load)}` : "—")],
      ["Where", where], ["Fleet", (g) => g.fleet || "—"], ["Speed", (g) => num(g.speed)],
    ], report.groups || []),
    (report.fleets || []).length ? table([
      ["Fleet", (f) => f.name], ["Groups", (f) => (f.groups || []).join(", ")],
      ["Where", where], ["Speed", (f) => num(f.speed)],
    ], report.fleets, { caption: "Fleets" }) : null,
    (report.alien_groups || []).length ? table([
      ["Race", (g) => g.race], ["Ships", (g) => g.ships], ["Type", (g) => g.type],
      ["Where", where], ["Tech D/W/S/C", (g) => tech(g.tech)],
    ], report.alien_groups, { caption: "Other races' groups in sight" }) : null,
    (report.incoming || []).length ? table([
      ["From", (g) => `#${g.from}`], ["To", (g) => `#${g.to}`],
      ["Distance left", (g) => num(g.distance_left)], ["Speed", (g) => num(g.speed)],
      ["Mass", (g) => num(g.mass)],
    ], report.incoming, { caption: "Incoming" }) : null),
    section("Battles", battles(report)),
    section("Bombings", table([
      ["Planet", (b) => `${b.name} (#${b.planet})`], ["Bomber", (b) => b.bomber],
      ["Owner", (b) => b.owner], ["Now", (b) => b.new_owner || "nobody"],
      ["Pop.", (b) => num(b.population)], ["Ind.", (b) => num(b.industry)],
    ], report.bombings || [])),
    section("Messages", table([
      ["Kind", (m) => label(m.kind)], ["From", (m) => m.sender || "—"],
      ["Line", (m) => m.line ?? "—"], ["Order", (m) => (m.order ? h("code", null, m.order) : "—")],
      ["Text", (m) => m.text],
    ], report.messages || [], { testid: "report-messages" })),
    section("Orders carried out", (report.orders_received || []).length
      ? h("pre", { class: "orders-received" }, report.orders_received.join("\n"))
      : h("p", { class: "muted" }, "None.")));
}

export function reportText(text) {
  return h("pre", { class: "report-text", testid: "report-text", tabindex: 0 }, text);
}
