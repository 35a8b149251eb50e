// Charts of the current selection (by type and by région) and of its territory over time, each with
// its data as a table for those who cannot see the chart.
import * as Plot from "@observablehq/plot";
import { getJson } from "./api";
import { asImage, h } from "./dom";
import { dailyAxis, number, share, shortDate, TYPES } from "./format";
import type { State } from "./state";
import { apiQuery } from "./state";

export interface Group {
  key: string | null;
  label: string | null;
  organizations: number;
  publishing: number;
  obligated: number;
  obligated_publishing: number;
}

interface History {
  series: { at: string; values: Record<string, number | null> }[];
}

function dataTable(caption: string, headers: string[], rows: (string | number)[][]): HTMLElement {
  return h("details", {},
    h("summary", {}, "Voir les données"),
    h("table", {}, h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, String(c))))))));
}

/** Room for the longest label on the left, without taking more than 45 % of a phone's width. */
function layout(labels: string[]): { width: number; marginLeft: number; shorten: (label: string) => string } {
  const width = Math.max(300, Math.min(900, (document.getElementById("vue")?.clientWidth ?? 640) - 24));
  const room = Math.floor((width * 0.45) / 7.5); // characters that fit, at about 7.5 px each
  const longest = Math.max(...labels.map((l) => l.length), 4);
  const chars = Math.min(longest, room);
  const shorten = (label: string) => (label.length > chars ? `${label.slice(0, chars - 1)}…` : label);
  return { width, marginLeft: Math.ceil(chars * 7.5) + 24, shorten }; // + the ticks and their padding
}

function groupChart(title: string, groups: Group[]): HTMLElement {
  const rows = groups.map((g) => ({ label: g.label ?? g.key ?? "—", publishing: g.publishing, others: g.organizations - g.publishing }));
  const long = rows.flatMap((r) => [
    { label: r.label, statut: "publie", n: r.publishing },
    { label: r.label, statut: "ne publie pas", n: r.others },
  ]);
  const { width, marginLeft, shorten } = layout(rows.map((r) => r.label));
  const chart = Plot.plot({
    width,
    marginLeft,
    style: { fontSize: "12px" },
    height: Math.max(120, rows.length * 22 + 40),
    x: { label: "organisations", grid: true, tickFormat: number, ticks: width < 500 ? 3 : 6 }, // Plot's own ticks are English (5,000)
    y: { label: null, tickFormat: shorten },
    color: { domain: ["publie", "ne publie pas"], range: ["#1b7837", "#bbbbbb"], legend: true },
    marks: [Plot.barX(long, { x: "n", y: "label", fill: "statut", sort: { y: "-x" } }), Plot.ruleX([0])],
  });
  asImage(chart, title);
  return h("figure", { class: "chart counts" }, h("figcaption", {}, title), chart,
    dataTable(title, ["", "organisations", "publient", "obligées", "obligées qui publient", "taux d'ouverture"],
      groups.map((g) => [g.label ?? g.key ?? "—", number(g.organizations), number(g.publishing), number(g.obligated),
        number(g.obligated_publishing), share(g.obligated ? g.obligated_publishing / g.obligated : null)])));
}

/** The same groups in rates: the share of organisations that publish, and the opening rate (the
 *  obligated ones that publish), so that a small publishing group is seen beside a large one. */
function rateChart(title: string, groups: Group[]): HTMLElement {
  const long = groups.flatMap((g) => {
    const label = g.label ?? g.key ?? "—";
    return [
      { label, mesure: "part qui publie", rate: g.organizations ? g.publishing / g.organizations : null },
      { label, mesure: "taux d'ouverture (obligées)", rate: g.obligated ? g.obligated_publishing / g.obligated : null },
    ];
  });
  const { width, marginLeft, shorten } = layout(groups.map((g) => g.label ?? g.key ?? "—"));
  const chart = Plot.plot({
    width,
    marginLeft,
    style: { fontSize: "12px" },
    height: Math.max(140, groups.length * 34 + 50),
    x: { label: "part", grid: true, domain: [0, Math.max(0.05, ...long.map((d) => d.rate ?? 0)) * 1.1], tickFormat: share, ticks: width < 500 ? 3 : 6 },
    y: { axis: null, domain: ["part qui publie", "taux d'ouverture (obligées)"] },
    fy: { label: null, tickFormat: shorten, axis: "left", padding: 0.15 },
    color: { domain: ["part qui publie", "taux d'ouverture (obligées)"], range: ["#1b7837", "#045a8d"], legend: true },
    marks: [
      // one row per group (facet), two bars in it: side by side, never stacked (rates do not add up)
      Plot.barX(long.filter((d) => d.rate != null), { x: "rate", y: "mesure", fy: "label", fill: "mesure" }),
      Plot.ruleX([0]),
    ],
  });
  asImage(chart, title);
  return h("figure", { class: "chart rates" }, h("figcaption", {}, title), chart,
    dataTable(title, ["", "part qui publie", "taux d'ouverture"],
      groups.map((g) => [g.label ?? g.key ?? "—", share(g.organizations ? g.publishing / g.organizations : null),
        share(g.obligated ? g.obligated_publishing / g.obligated : null)])));
}

function timeChart(title: string, history: History, indicator: string): HTMLElement {
  const points = history.series
    .filter((s) => s.values[indicator] != null)
    .map((s) => ({ date: new Date(s.at), value: s.values[indicator] as number }));
  if (points.length < 2) {
    const since = points.length ? `le ${shortDate(points[0].date)}` : "aujourd'hui";
    return h("figure", { class: "chart time" }, h("figcaption", {}, title),
      h("p", {}, `La série commence ${since}${points.length ? ` (${number(points[0].value)})` : ""} : un point s'ajoute chaque jour où la valeur change.`));
  }
  const high = Math.max(...points.map((p) => p.value));
  const chart = Plot.plot({
    width: layout([]).width,
    height: 220,
    x: dailyAxis(points.map((p) => p.date)),
    y: { label: "organisations qui publient", grid: true, domain: [0, Math.max(1, high * 1.15)], tickFormat: number },
    marks: [Plot.lineY(points, { x: "date", y: "value", stroke: "#045a8d", curve: "step-after" }), Plot.dot(points, { x: "date", y: "value", fill: "#045a8d" })],
  });
  asImage(chart, title);
  return h("figure", { class: "chart time" }, h("figcaption", {}, title), chart,
    dataTable(title, ["date", "valeur"], points.map((p) => [p.date.toISOString().slice(0, 10), number(p.value)])));
}

interface Scoped {
  id: string;
  values: Record<string, number | null>;
}

/** ODF 3 per région: the councils that started publishing since the last yearly edition (right) and
 *  those that stopped ("disparues du radar", left). */
function movesChart(title: string, regions: Scoped[], names: Map<string, string>): HTMLElement {
  const year = regions.find((r) => r.values.since_edition != null)?.values.since_edition;
  if (year == null) {
    return h("figure", { class: "chart moves", id: "entrees-sorties" }, h("figcaption", {}, title),
      h("p", {}, "Pas encore d'édition annuelle : les entrées et sorties se comptent à partir de la première (vers le 8 octobre)."));
  }
  const rows = regions.map((r) => ({ label: names.get(r.id) ?? r.id, entered: r.values.entered_since_edition ?? 0,
    left: r.values.left_since_edition ?? 0 })).filter((r) => r.entered || r.left);
  const long = rows.flatMap((r) => [{ label: r.label, sens: "entrées", n: r.entered }, { label: r.label, sens: "sorties", n: -r.left }]);
  const { width, marginLeft, shorten } = layout(rows.map((r) => r.label));
  const chart = Plot.plot({
    width, marginLeft, style: { fontSize: "12px" }, height: Math.max(120, rows.length * 22 + 40),
    x: { label: "collectivités et acteurs", grid: true, tickFormat: (n: number) => number(Math.abs(n)), ticks: width < 500 ? 3 : 6 },
    y: { label: null, tickFormat: shorten },
    color: { domain: ["entrées", "sorties"], range: ["#1b7837", "#b2182b"], legend: true },
    marks: [Plot.barX(long, { x: "n", y: "label", fill: "sens" }), Plot.ruleX([0])],
  });
  asImage(chart, title);
  const caption = `${title} (depuis l'édition ${year})`;
  return h("figure", { class: "chart moves", id: "entrees-sorties" }, h("figcaption", {}, caption),
    rows.length ? chart : h("p", {}, "Aucune entrée ni sortie depuis l'édition."),
    dataTable(caption, ["région", "entrées", "sorties", "solde"],
      rows.map((r) => [r.label, number(r.entered), number(r.left), number(r.entered - r.left)])));
}

/** The scope whose history fits the filter: a département, a région, else the nation. */
export function historyScope(state: State): string {
  if (state.filters.departement) return `scope=departement&id=${encodeURIComponent(state.filters.departement)}`;
  if (state.filters.region) return `scope=region&id=${encodeURIComponent(state.filters.region)}`;
  return "scope=national";
}

export async function renderCharts(target: HTMLElement, state: State): Promise<void> {
  target.dataset.state = "loading";
  const [byType, byRegion, history, regions] = await Promise.all([
    getJson<{ data: Group[] }>(`/api/v1/organizations/stats?${apiQuery(state, { by: "type" })}`),
    getJson<{ data: Group[] }>(`/api/v1/organizations/stats?${apiQuery(state, { by: "region" })}`),
    getJson<History>(`/api/v1/indicators/history?${historyScope(state)}&indicator=organizations_publishing`),
    getJson<{ data: Scoped[] }>("/api/v1/indicators?scope=region"),
  ]);
  const regionNames = new Map(byRegion.data.map((g) => [g.key ?? "", g.label ?? g.key ?? ""]));
  const types = byType.data.map((g) => ({ ...g, label: TYPES[g.key ?? ""] ?? g.key }));
  target.replaceChildren(
    rateChart("Part qui publie et taux d'ouverture, par type", types),
    groupChart("Organisations de la sélection par type", types),
    rateChart("Part qui publie et taux d'ouverture, par région", byRegion.data),
    groupChart("Organisations de la sélection par région", byRegion.data),
    timeChart("Organisations qui publient, au fil du temps", history, "organizations_publishing"),
    movesChart("Entrées et sorties par région", regions.data, regionNames),
  );
  target.dataset.state = "ready";
}
