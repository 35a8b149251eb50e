// One filter state shared by every view, kept in the URL so that a copied link restores it.

export const FILTERS = ["q", "type", "region", "departement", "obligated", "publishes", "technology", "population_bin"] as const;
export type FilterName = (typeof FILTERS)[number];
export type View = "table" | "cards" | "map" | "charts" | "organisation" | "publishers" | "moderation" | "operations";

export interface State {
  filters: Partial<Record<FilterName, string>>;
  view: View;
  sort: string;
  page: number;
  indicator: string;
  level: "departements" | "regions";
  organisation: string | null;
}

/**
 * Changes the state. A function patch reads the state as it is when the user acts, not as it was when
 * the clicked element was drawn: a second click before the API has answered still toggles or turns
 * the page from the newest state.
 */
export type Update = (patch: Partial<State> | ((current: State) => Partial<State>)) => void;

const VIEWS: View[] = ["table", "cards", "map", "charts", "organisation", "publishers", "moderation", "operations"];

export function fromUrl(search: string): State {
  const params = new URLSearchParams(search);
  const filters: State["filters"] = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  const view = params.get("vue") as View;
  const page = Number(params.get("page") ?? "1");
  return {
    filters,
    view: VIEWS.includes(view) ? view : "table",
    sort: params.get("tri") ?? "name",
    page: Number.isInteger(page) && page > 0 ? page : 1,
    indicator: params.get("indicateur") ?? "opening_rate",
    level: params.get("niveau") === "regions" ? "regions" : "departements",
    organisation: params.get("organisation"),
  };
}

export function toUrl(state: State): string {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = state.filters[name];
    if (value) params.set(name, value);
  }
  if (state.view !== "table") params.set("vue", state.view);
  if (state.sort !== "name") params.set("tri", state.sort);
  if (state.page > 1) params.set("page", String(state.page));
  if (state.indicator !== "opening_rate") params.set("indicateur", state.indicator);
  if (state.level !== "departements") params.set("niveau", state.level);
  if (state.organisation) params.set("organisation", state.organisation);
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
