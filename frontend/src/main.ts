// Wiring: the filter form, the views and the URL, all driven by one state.
import { getJson, type Organisation, type Page } from "./api";
import { renderCards } from "./cards";
import { h, replace } from "./dom";
import { BINS, number, plural, TECHNOLOGIES, TYPES } from "./format";
import { renderHome } from "./home";
import { renderMap } from "./map";
import { apiQuery, FILTERS, fromUrl, toUrl, type FilterName, type State, type Update } from "./state";
import { renderTable } from "./table";
import { departementNames, territories } from "./territories";
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
const chips = document.getElementById("filtres-actifs") as HTMLElement;

function options(select: HTMLSelectElement, entries: [string, string][]): void {
  replace(select, h("option", { value: "" }, "Tous"), ...entries.map(([value, label]) => h("option", { value }, label)));
}

async function fillForm(): Promise<void> {
  options(form.type as unknown as HTMLSelectElement, Object.entries(TYPES));
  options(form.obligated as HTMLSelectElement, [["true", "Obligée"], ["false", "Non obligée"]]);
  options(form.publishes as HTMLSelectElement, [["true", "Publie"], ["false", "Ne publie pas"]]);
  options(form.technology as HTMLSelectElement, Object.entries(TECHNOLOGIES));
  options(form.population_bin as HTMLSelectElement, Object.entries(BINS));
  const { regions } = await territories();
  options(form.region as HTMLSelectElement, regions.map((r) => [r.code, r.name]));
  await fillDepartements();
  showFilters();
  showChips(); // drawn before the lists had their labels: "Type : Commune", not "Type : COM"
}

/** The départements of the chosen région only (all of them without one). */
async function fillDepartements(): Promise<void> {
  const { departements } = await territories();
  const region = state.filters.region;
  const listed = departements.filter((d) => !region || d.region === region);
  options(form.departement as HTMLSelectElement, listed.map((d) => [d.code, `${d.code} – ${d.name}`]));
}

const FILTER_LABELS: Record<FilterName, string> = {
  q: "Recherche", type: "Type", region: "Région", departement: "Département", obligated: "Obligation",
  publishes: "Publie", technology: "Technologie", population_bin: "Population",
};

/** Each active filter as a chip that removes it. */
function showChips(): void {
  const active = FILTERS.filter((name) => state.filters[name]);
  replace(chips, ...active.map((name) => {
    const field = form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
    const shown = field instanceof HTMLSelectElement ? field.selectedOptions[0]?.textContent ?? state.filters[name] : state.filters[name];
    const chip = h("button", { type: "button", class: "chip", "aria-label": `Retirer le filtre ${FILTER_LABELS[name]} : ${shown}` },
      `${FILTER_LABELS[name]} : ${shown} ✕`);
    chip.addEventListener("click", () => {
      update((current) => {
        const filters = { ...current.filters };
        delete filters[name];
        if (name === "region") delete filters.departement;
        return { filters, page: 1 };
      });
      showFilters();
    });
    return chip;
  }));
  chips.hidden = active.length === 0;
}

function showFilters(): void {
  for (const name of FILTERS) {
    const field = form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
    if (field !== document.activeElement) field.value = state.filters[name] ?? ""; // never under the typing hand
  }
}

/** The phone's fold of the filters says how many of them are set (the search apart). */
function labelMoreFilters(): void {
  const set = FILTERS.filter((name) => name !== "q" && state.filters[name]).length;
  moreFilters.textContent = set ? `Plus de filtres (${plural(set, "actif", "actifs")})` : "Plus de filtres";
}

const update: Update = (patch) => {
  const region = state.filters.region;
  state = { ...state, ...(typeof patch === "function" ? patch(state) : patch) };
  if (state.filters.region !== region) void fillDepartements().then(showFilters); // the région narrows them
  history.pushState(null, "", toUrl(state));
  void render();
};

function readForm(): void {
  const filters: State["filters"] = {};
  for (const name of FILTERS) {
    const value = (form.elements.namedItem(name) as HTMLInputElement).value.trim();
    if (value) filters[name] = value;
  }
  // A search box left after typing fires "change" again: nothing changed, nothing to draw (a redraw
  // would replace the chip or link being clicked between the press and the release of the button).
  const toTable = ["organisation", "home", "suivi"].includes(state.view);
  if (!toTable && FILTERS.every((name) => filters[name] === state.filters[name])) return;
  update({ filters, page: 1, view: toTable ? "table" : state.view, organisation: null, proposal: null });
}

function renderDownloads(): void {
  const link = (format: string, label: string, extra: Record<string, string> = {}) => {
    const query = apiQuery(state, state.sort ? { sort: state.sort, ...extra } : extra); // the table's order
    return h("a", { href: `/api/v1/exports/organizations.${format}${query ? `?${query}` : ""}`, download: "" }, label);
  };
  replace(downloads, "Télécharger la sélection : ", link("csv", "CSV", { lang: "fr" }), " (tableur) · ",
    link("csv", "CSV brut"), " · ", link("json", "JSON"), " · ", link("geojson", "GeoJSON"),
    territoryFeed(), state.embed ? null : embedThisView());
}

/** The Atom feed of the département (else the région) the filters name, if any. */
function territoryFeed(): HTMLElement | null {
  const { departement, region } = state.filters;
  const [scope, code] = departement ? ["departement", departement] : region ? ["region", region] : [null, null];
  if (!scope || !code) return null;
  return h("span", {}, " · ", h("a", { href: `/api/v1/feeds/territories/${scope}/${encodeURIComponent(code)}.atom`,
    type: "application/atom+xml" }, "Suivre ce territoire (flux Atom)"));
}

/** The code that shows this view, with its filters, inside another site's page. */
function embedThisView(): HTMLElement {
  const address = `${location.origin}/${toUrl({ ...state, embed: true }).replace(/^\//, "")}`;
  const code = `<iframe src="${address.replaceAll("&", "&amp;")}" title="Observatoire de l'open data des territoires" width="100%" height="600" style="border:0"></iframe>`;
  return h("details", { class: "embed-code" },
    h("summary", {}, "Intégrer cette vue sur un autre site"),
    h("label", { for: "code-vue" }, "Code à copier"),
    h("textarea", { id: "code-vue", readonly: true, rows: 3 }, code));
}

function markCurrentView(): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("nav.views a")) {
    const current = link.dataset.view === state.view;
    link.setAttribute("aria-current", current ? "page" : "false");
    link.href = toUrl({ ...state, view: link.dataset.view as State["view"], page: 1 });
  }
}

const NOT_OF_ORGANISATIONS: State["view"][] = ["publishers", "moderation", "operations", "suivi", "platforms"];

/** No organisation matches: say so, and offer the way out. */
function nothingFound(): HTMLElement {
  const reset = h("button", { type: "button" }, "Retirer tous les filtres");
  reset.addEventListener("click", () => {
    update({ filters: {}, page: 1 });
    showFilters();
  });
  const search = state.filters.q ? ` pour « ${state.filters.q} »` : "";
  return h("div", { class: "empty", role: "status" },
    h("p", {}, `Aucune organisation ne correspond${search} avec ces filtres.`),
    h("p", {}, "Essayez un autre mot, un code INSEE, un SIREN ou « Nom 35 » pour chercher dans un département. "),
    reset);
}

async function render(): Promise<void> {
  const mine = ++generation;
  document.body.classList.toggle("embed", state.embed);
  markCurrentView();
  renderDownloads();
  labelMoreFilters();
  showChips();
  // The filters and downloads are of organisations: shown beside their views only.
  const ofOrganisations = !NOT_OF_ORGANISATIONS.includes(state.view);
  layout.classList.toggle("unfiltered", !ofOrganisations);
  downloads.hidden = !ofOrganisations || state.view === "organisation" || state.view === "home";
  view.dataset.view = state.view;
  view.dataset.state = "loading"; // each view says "ready" once drawn (some load their code first)
  try {
    if (!ofOrganisations) {
      count.textContent = "";
      if (state.view === "publishers") await (await import("./contribute")).renderPublishers(view, state, update);
      else if (state.view === "moderation") (await import("./moderation")).renderModeration(view);
      else if (state.view === "suivi") await (await import("./follow")).renderFollow(view, state.proposal ?? "");
      else if (state.view === "platforms") await (await import("./platforms")).renderPlatforms(view, update);
      else await (await import("./operations")).renderOperations(view);
      view.dataset.state = "ready";
      return;
    }
    if (state.view === "home") {
      count.textContent = "";
      await renderHome(view, update, () => mine === generation);
      if (mine === generation) view.dataset.state = "ready";
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
    const paging = { page: String(state.page), page_size: String(state.view === "table" ? state.pageSize : 24) };
    const [selection, names] = await Promise.all([
      getJson<Page<Organisation>>(`/api/v1/organizations?${apiQuery(state, state.sort ? { sort: state.sort, ...paging } : paging)}`),
      departementNames(),
    ]);
    if (mine !== generation) return;
    await showCount(selection.total);
    if (selection.total === 0 && state.view !== "charts") replace(view, nothingFound());
    else if (state.view === "table") replace(view, renderTable(selection, state, update, names));
    else if (state.view === "cards") replace(view, renderCards(selection, update, names));
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
    update({ view: link.dataset.view as State["view"], page: 1, organisation: null, proposal: null });
  });
}
window.addEventListener("popstate", () => {
  state = fromUrl(location.search);
  void fillDepartements().then(showFilters);
  void render();
});

void render(); // first: the view's requests go out before the form's lists
void fillForm();
