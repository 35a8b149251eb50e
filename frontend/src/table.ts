// The organisations as an accessible table: sortable columns, pages, "N / total".
import type { Organisation, Page } from "./api";
import { h } from "./dom";
import { number, status, TYPES } from "./format";
import { PAGE_SIZES, type State, type Update } from "./state";

const COLUMNS: { key: string; label: string; sort?: string }[] = [
  { key: "name", label: "Organisation", sort: "name" },
  { key: "type", label: "Type", sort: "type" },
  { key: "departement", label: "Département" },
  { key: "population", label: "Population", sort: "population" },
  { key: "datasets", label: "Jeux de données", sort: "datasets" },
  { key: "status", label: "Statut" },
];

export function organisationLink(o: Organisation, update: Update): HTMLAnchorElement {
  const link = h("a", { href: `?vue=organisation&organisation=${encodeURIComponent(o.id)}` }, o.name);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    update({ view: "organisation", organisation: o.id });
  });
  return link;
}

/** "35 – Ille-et-Vilaine": homonyms are told apart by a name, not a bare code. */
function territory(code: string | null, names: Map<string, string>): string {
  if (!code) return "—";
  const name = names.get(code);
  return name ? `${code} – ${name}` : code;
}

export function renderTable(page: Page<Organisation>, state: State, update: Update, names: Map<string, string>): HTMLElement {
  const head = h(
    "tr",
    {},
    ...COLUMNS.map((column) => {
      if (!column.sort) return h("th", { scope: "col" }, column.label);
      const ascending = state.sort === column.sort;
      const descending = state.sort === `-${column.sort}`;
      const button = h("button", { type: "button", class: "sort" }, column.label, ascending ? " ▲" : descending ? " ▼" : "");
      const sort = column.sort;
      button.addEventListener("click", () => update((current) => ({ sort: current.sort === sort ? `-${sort}` : sort, page: 1 })));
      return h("th", { scope: "col", "aria-sort": ascending ? "ascending" : descending ? "descending" : "none" }, button);
    }),
  );
  const rows = page.data.map((o) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, organisationLink(o, update)),
      h("td", {}, TYPES[o.type ?? ""] ?? o.type ?? "—"),
      h("td", {}, territory(o.departement, names)),
      h("td", { class: "num" }, number(o.population)),
      h("td", { class: "num" }, number(o.datasets)),
      h("td", {}, h("span", { class: `badge ${o.publishes ? "yes" : o.obligated ? "no" : "neutral"}` }, status(o))),
    ),
  );
  const table = h(
    "table",
    { class: "organisations" },
    h("caption", {}, `Organisations, page ${page.page} sur ${Math.max(1, Math.ceil(page.total / page.page_size))}`),
    h("thead", {}, head),
    h("tbody", {}, ...rows),
  );
  return h("div", {}, h("div", { class: "table-wrap" }, table), pager(page, update, pageSizes(state, update)));
}

function pageSizes(state: State, update: Update): HTMLElement {
  const select = h("select", { id: "par-page" }, ...PAGE_SIZES.map((n) => h("option", { value: n, selected: n === state.pageSize }, String(n))));
  select.addEventListener("change", () => update({ pageSize: Number(select.value), page: 1 }));
  return h("span", { class: "page-size" }, h("label", { for: "par-page" }, "Lignes par page "), select);
}

export function pager(page: Page<unknown>, update: Update, ...extra: HTMLElement[]): HTMLElement {
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  const previous = h("button", { type: "button", disabled: page.page <= 1 }, "Page précédente");
  const next = h("button", { type: "button", disabled: page.page >= pages }, "Page suivante");
  previous.addEventListener("click", () => update((current) => ({ page: Math.max(1, current.page - 1) })));
  next.addEventListener("click", () => update((current) => ({ page: Math.min(pages, current.page + 1) })));
  return h("nav", { class: "pager", "aria-label": "Pagination" }, previous, h("span", {}, `Page ${page.page} sur ${pages}`), next, ...extra);
}
