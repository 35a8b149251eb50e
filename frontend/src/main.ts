// Wiring: the filter form, the views and the URL, all driven by one state.
import { getJson, type Organisation, type Page } from "./api";
import { renderCards } from "./cards";
import { h, replace } from "./dom";
import { BINS, number, plural, TECHNOLOGIES, TYPES } from "./format";
import { renderMap } from "./map";
import { apiQuery, FILTERS, fromUrl, toUrl, type State, type Update } from "./state";
import { renderTable } from "./table";
import "./style.css";

let state: State = fromUrl(location.search);
let generation = 0;
let everyone: Promise<number> | null = null; // every organisation, the denominator of "N / total"
const form = document.getElementById("filtres") as HTMLFormElement;
const view = document.getElementById("vue") as HTMLElement;
const count = document.getElementById("compte") as HTMLElement;
const downloads = document.getElementById("telechargements") as HTMLElement;
const moreFilters = document.getElementById("plus-de-filtres") as HTMLButtonElement;
const layout = document.querySelector(".layout") as HTMLElement;

function options(select: HTMLSelectElement, entries: [string, string][]): void {
  replace(select, h("option", { value: "" }, "Tous"), ...entries.map(([value, label]) => h("option", { value }, label)));
}

async function fillForm(): Promise<void> {
  options(form.type as unknown as HTMLSelectElement, Object.entries(TYPES));
  options(form.obligated as HTMLSelectElement, [["true", "Obligée"], ["false", "Non obligée"]]);
  options(form.publishes as HTMLSelectElement, [["true", "Publie"], ["false", "Ne publie pas"]]);
  options(form.technology as HTMLSelectElement, Object.entries(TECHNOLOGIES));
  options(form.population_bin as HTMLSelectElement, Object.entries(BINS));
  // The overseas collectivités (Polynésie française...) are their communes' région and département.
  const [regions, departements, overseas] = await Promise.all([
    getJson<Page<Organisation>>("/api/v1/organizations?type=REG&page_size=200"),
    getJson<Page<Organisation>>("/api/v1/organizations?type=DEP&page_size=200&sort=name"),
    getJson<Page<Organisation>>("/api/v1/organizations?type=COLOM&page_size=200&sort=name"),
  ]);
  options(form.region as HTMLSelectElement, [...regions.data, ...overseas.data].map((o) => [o.region ?? "", o.name]));
  options(form.departement as HTMLSelectElement,
    [...departements.data, ...overseas.data].map((o) => [o.departement ?? "", `${o.departement} – ${o.name}`] as [string, string])
      .sort((a, b) => a[0].localeCompare(b[0])));
  showFilters();
}

function showFilters(): void {
  for (const name of FILTERS) {
    const field = form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
    field.value = state.filters[name] ?? "";
  }
}

/** The phone's fold of the filters says how many of them are set (the search apart). */
function labelMoreFilters(): void {
  const set = FILTERS.filter((name) => name !== "q" && state.filters[name]).length;
  moreFilters.textContent = set ? `Plus de filtres (${plural(set, "actif", "actifs")})` : "Plus de filtres";
}

const update: Update = (patch) => {
  state = { ...state, ...(typeof patch === "function" ? patch(state) : patch) };
  history.pushState(null, "", toUrl(state));
  void render();
};

function readForm(): void {
  const filters: State["filters"] = {};
  for (const name of FILTERS) {
    const value = (form.elements.namedItem(name) as HTMLInputElement).value.trim();
    if (value) filters[name] = value;
  }
  update({ filters, page: 1, view: state.view === "organisation" ? "table" : state.view, organisation: null });
}

function renderDownloads(): void {
  const query = apiQuery(state);
  const link = (format: string, label: string) =>
    h("a", { href: `/api/v1/exports/organizations.${format}${query ? `?${query}` : ""}`, download: "" }, label);
  replace(downloads, "Télécharger la sélection : ", link("csv", "CSV"), " · ", link("json", "JSON"), " · ", link("geojson", "GeoJSON"));
}

function markCurrentView(): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav.views a")) {
    const current = link.dataset.view === state.view;
    link.setAttribute("aria-current", current ? "page" : "false");
    link.href = toUrl({ ...state, view: link.dataset.view as State["view"], page: 1 });
  }
}

const NOT_OF_ORGANISATIONS: State["view"][] = ["publishers", "moderation", "operations"];

async function render(): Promise<void> {
  const mine = ++generation;
  markCurrentView();
  renderDownloads();
  labelMoreFilters();
  // The filters and downloads are of organisations: shown beside their views only.
  const ofOrganisations = !NOT_OF_ORGANISATIONS.includes(state.view);
  layout.classList.toggle("unfiltered", !ofOrganisations);
  downloads.hidden = !ofOrganisations || state.view === "organisation";
  view.dataset.view = state.view;
  view.dataset.state = "loading"; // each view says "ready" once drawn (some load their code first)
  try {
    if (!ofOrganisations) {
      count.textContent = "";
      if (state.view === "publishers") await (await import("./contribute")).renderPublishers(view, state, update);
      else if (state.view === "moderation") (await import("./moderation")).renderModeration(view);
      else await (await import("./operations")).renderOperations(view);
      view.dataset.state = "ready";
      return;
    }
    if (state.view === "organisation" && state.organisation) {
      count.textContent = "";
      const { renderOrganisation } = await import("./organisation"); // with the charts' library, loaded when needed
      await renderOrganisation(view, state.organisation);
      return;
    }
    everyone ??= getJson<Page<Organisation>>("/api/v1/organizations?page_size=1").then((page) => page.total);
    const showCount = async (selected: number) => {
      const total = await everyone!;
      if (mine === generation) count.textContent = `${number(selected)} / ${number(total)} organisations`;
    };
    if (state.view === "map") {
      // The map's points (placed and unplaced) are the selection: no list request beside them.
      await renderMap(view, state, update, showCount);
      return;
    }
    // The charts load their own data at once, and their library only when shown.
    const charts = state.view === "charts" ? import("./charts").then((c) => c.renderCharts(view, state)) : null;
    const selection = await getJson<Page<Organisation>>(
      `/api/v1/organizations?${apiQuery(state, { sort: state.sort, page: String(state.page), page_size: "24" })}`,
    );
    if (mine !== generation) return;
    await showCount(selection.total);
    if (state.view === "table") replace(view, renderTable(selection, state, update));
    else if (state.view === "cards") replace(view, renderCards(selection, update));
    else await charts;
    view.dataset.state = "ready";
  } catch (error) {
    if (mine !== generation) return;
    replace(view, h("p", { role: "alert", class: "error" }, `Erreur : ${(error as Error).message}`));
    view.dataset.state = "error";
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  readForm();
});
form.addEventListener("change", readForm);
moreFilters.addEventListener("click", () => {
  const expanded = form.classList.toggle("expanded");
  moreFilters.setAttribute("aria-expanded", String(expanded));
});
let typing: number | undefined;
(form.elements.namedItem("q") as HTMLInputElement).addEventListener("input", () => {
  clearTimeout(typing);
  typing = window.setTimeout(readForm, 300);
});
document.getElementById("reinitialiser")!.addEventListener("click", () => {
  update({ filters: {}, page: 1 });
  showFilters();
});
for (const link of document.querySelectorAll<HTMLAnchorElement>("nav.views a")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    update({ view: link.dataset.view as State["view"], page: 1, organisation: null });
  });
}
window.addEventListener("popstate", () => {
  state = fromUrl(location.search);
  showFilters();
  void render();
});

void render(); // first: the view's requests go out before the form's lists
void fillForm();
