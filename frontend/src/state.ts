// One filter state shared by every view, kept in the URL so that a copied link restores it.

export const FILTERS = ["q", "type", "region", "departement", "obligated", "publishes", "technology", "population_bin"] as const;
export type FilterName = (typeof FILTERS)[number];
export type View = "home" | "table" | "cards" | "map" | "charts" | "organisation" | "publishers" | "moderation" | "operations" | "suivi" | "platforms";

export interface State {
  filters: Partial<Record<FilterName, string>>;
  view: View;
  sort: string; // "" leaves the order to the API: by name, or by relevance for a search
  page: number;
  pageSize: number;
  indicator: string;
  level: "departements" | "regions";
  points: "" | "oui" | "non"; // the map's points: "" shows them for a selection only
  organisation: string | null;
  proposal: string | null; // the proposal followed on the "suivi" view
  publisherSearch: string; // the search of the publishers' view (its own: not a filter of organisations)
  embed: boolean; // shown inside another site's page (embed=1): the view alone, without the site's frame
}

/**
 * Changes the state. A function patch reads the state as it is when the user acts, not as it was when
 * the clicked element was drawn: a second click before the API has answered still toggles or turns
 * the page from the newest state.
 */
export type Update = (patch: Partial<State> | ((current: State) => Partial<State>)) => void;

export const PAGE_SIZES = [24, 50, 100];
const VIEWS: View[] = ["home", "table", "cards", "map", "charts", "organisation", "publishers", "moderation", "operations", "suivi", "platforms"];

export function fromUrl(search: string): State {
  const params = new URLSearchParams(search);
  const filters: State["filters"] = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  const view = params.get("vue") as View;
  const page = Number(params.get("page") ?? "1");
  const pageSize = Number(params.get("par_page") ?? PAGE_SIZES[0]);
  // The bare address is the home page; a link with filters but no view (older links) is the table.
  const implicit: View = [...params.keys()].length ? "table" : "home";
  return {
    filters,
    view: VIEWS.includes(view) ? view : implicit,
    sort: params.get("tri") ?? "",
    page: Number.isInteger(page) && page > 0 ? page : 1,
    pageSize: PAGE_SIZES.includes(pageSize) ? pageSize : PAGE_SIZES[0],
    indicator: params.get("indicateur") ?? "opening_rate",
    level: params.get("niveau") === "regions" ? "regions" : "departements",
    points: params.get("points") === "oui" ? "oui" : params.get("points") === "non" ? "non" : "",
    organisation: params.get("organisation"),
    proposal: params.get("proposition"),
    publisherSearch: params.get("editeur") ?? "",
    embed: params.get("embed") === "1",
  };
}

export function toUrl(state: State): string {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = state.filters[name];
    if (value) params.set(name, value);
  }
  if (state.view !== "home") params.set("vue", state.view);
  if (state.sort) params.set("tri", state.sort);
  if (state.page > 1) params.set("page", String(state.page));
  if (state.pageSize !== PAGE_SIZES[0]) params.set("par_page", String(state.pageSize));
  if (state.indicator !== "opening_rate") params.set("indicateur", state.indicator);
  if (state.level !== "departements") params.set("niveau", state.level);
  if (state.points) params.set("points", state.points);
  if (state.organisation) params.set("organisation", state.organisation);
  if (state.proposal) params.set("proposition", state.proposal);
  if (state.publisherSearch) params.set("editeur", state.publisherSearch);
  if (state.embed) params.set("embed", "1");
  const query = params.toString();
  return query ? `?${query}` : location.pathname;
}

/** The API's query string for the filters (the same for lists, the map and downloads). */
export function apiQuery(state: State, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = state.filters[name];
    if (value) params.set(name, value);
  }
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params.toString();
}
