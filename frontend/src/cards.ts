// One card per organisation: its key figures and status.
import type { Organisation, Page } from "./api";
import { h } from "./dom";
import { number, status, TYPES } from "./format";
import type { Update } from "./state";
import { organisationLink, pager } from "./table";

export function card(o: Organisation, update: Update, names: Map<string, string>): HTMLElement {
  const place = o.departement ? ` · ${names.get(o.departement) ?? "département"} (${o.departement})` : "";
  return h(
    "article",
    { class: "card" },
    h("h3", {}, organisationLink(o, update)),
    h("p", { class: "subtitle" }, `${TYPES[o.type ?? ""] ?? o.type ?? ""}${place}`),
    h(
      "dl",
      {},
      h("dt", {}, "Population"),
      h("dd", {}, number(o.population)),
      h("dt", {}, "Jeux de données"),
      h("dd", {}, number(o.datasets)),
      h("dt", {}, "Obligation"),
      h("dd", {}, o.obligated == null ? "Inconnue" : o.obligated ? "Oui" : "Non"),
    ),
    h("p", {}, h("span", { class: `badge ${o.publishes ? "yes" : o.obligated ? "no" : "neutral"}` }, status(o))),
  );
}

export function renderCards(page: Page<Organisation>, update: Update, names: Map<string, string>): HTMLElement {
  return h("div", {}, h("div", { class: "cards" }, ...page.data.map((o) => card(o, update, names))), pager(page, update));
}
