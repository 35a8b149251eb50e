// Charts of the current selection (by type and by région) and of its territory over time, each with
// its data as a table for those who cannot see the chart.
import * as Plot from "@observablehq/plot";
import { getJson } from "./api";
import { asImage, h } from "./dom";
import { dailyAxis, number, share, TYPES } from "./format";
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

function groupChart(title: string, groups: Group[]): HTMLElement {
  const rows = groups.map((g) => ({ label: g.label ?? g.key ?? "—", publishing: g.publishing, others: g.organizations - g.publishing }));
  const long = rows.flatMap((r) => [
    { label: r.label, statut: "publie", n: r.publishing },
    { label: r.label, statut: "ne publie pas", n: r.others },
  ]);
  const chart = Plot.plot({
    marginLeft: 200,
    height: Math.max(120, rows.length * 22 + 40),
    x: { label: "organisations", grid: true, tickFormat: number }, // Plot's own ticks are English (5,000)
    y: { label: null },
    color: { domain: ["publie", "ne publie pas"], range: ["#1b7837", "#bbbbbb"], legend: true },
    marks: [Plot.barX(long, { x: "n", y: "label", fill: "statut", sort: { y: "-x" } }), Plot.ruleX([0])],
  });
  asImage(chart, title);
  return h("figure", { class: "chart" }, h("figcaption", {}, title), chart,
    dataTable(title, ["", "organisations", "publient", "obligées", "obligées qui publient", "taux d'ouverture"],
      groups.map((g) => [g.label ?? g.key ?? "—", number(g.organizations), number(g.publishing), number(g.obligated),
        number(g.obligated_publishing), share(g.obligated ? g.obligated_publishing / g.obligated : null)])));
}

function timeChart(title: string, history: History, indicator: string): HTMLElement {
  const points = history.series
    .filter((s) => s.values[indicator] != null)
    .map((s) => ({ date: new Date(s.at), value: s.values[indicator] as number }));
  const chart = Plot.plot({
    height: 220,
    x: dailyAxis(points.map((p) => p.date)),
    y: { label: "organisations qui publient", grid: true, zero: true, tickFormat: number },
    marks: [Plot.lineY(points, { x: "date", y: "value", stroke: "#045a8d" }), Plot.dot(points, { x: "date", y: "value", fill: "#045a8d" })],
  });
  asImage(chart, title);
  return h("figure", { class: "chart" }, h("figcaption", {}, title), chart,
    dataTable(title, ["date", "valeur"], points.map((p) => [p.date.toISOString().slice(0, 10), number(p.value)])));
}

/** The scope whose history fits the filter: a département, a région, else the nation. */
export function historyScope(state: State): string {
  if (state.filters.departement) return `scope=departement&id=${encodeURIComponent(state.filters.departement)}`;
  if (state.filters.region) return `scope=region&id=${encodeURIComponent(state.filters.region)}`;
  return "scope=national";
}

export async function renderCharts(target: HTMLElement, state: State): Promise<void> {
  target.dataset.state = "loading";
  const [byType, byRegion, history] = await Promise.all([
    getJson<{ data: Group[] }>(`/api/v1/organizations/stats?${apiQuery(state, { by: "type" })}`),
    getJson<{ data: Group[] }>(`/api/v1/organizations/stats?${apiQuery(state, { by: "region" })}`),
    getJson<History>(`/api/v1/indicators/history?${historyScope(state)}&indicator=organizations_publishing`),
  ]);
  const types = byType.data.map((g) => ({ ...g, label: TYPES[g.key ?? ""] ?? g.key }));
  target.replaceChildren(
    groupChart("Organisations de la sélection par type", types),
    groupChart("Organisations de la sélection par région", byRegion.data),
    timeChart("Organisations qui publient, au fil du temps", history, "organizations_publishing"),
  );
  target.dataset.state = "ready";
}
