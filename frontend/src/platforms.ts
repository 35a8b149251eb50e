// The platforms (ODF indicators 8, 9, 11, 13, 19): where collectivités publish, with what software,
// alone or together; each platform with the organisations it hosts.
import { getJson, type Values } from "./api";
import { h, replace } from "./dom";
import { number, plural, TECHNOLOGIES, TYPES } from "./format";
import type { Update } from "./state";

interface Platform {
  url: string;
  name: string;
  technology: string | null;
  typology: string | null;
  organizations_hosted: number;
  datasets: number;
  source_id: string | null;
  status: string | null;
  carrier_id: string | null;
  carrier_name: string | null;
  data_requests_url: string | null; // where the public can ask for data (ODF 18)
}

interface Hosted {
  id: string;
  name: string;
  type: string | null;
  departement: string | null;
  datasets: number;
}

/** ODF's typology (its "Collab" field), as the indicators observe it from who publishes where. */
export const TYPOLOGIES: Record<string, [string, string]> = {
  dedie: ["Dédiée", "les données d'une seule organisation"],
  partage: ["Partagée", "les données de deux ou trois organisations"],
  mutualise: ["Mutualisée", "les données de quatre organisations ou plus"],
  concentrateur: ["Concentrateur national", "data.gouv.fr, qui moissonne aussi les portails locaux"],
  indeterminee: ["Indéterminée", "aucun jeu vivant d'une organisation connue"],
};

const STATUS: Record<string, string> = { harvested: "moissonnée", paused: "en pause", removed: "retirée" };

/** A small table whose rows carry a bar as long as their share of the largest: a chart that reads
 *  as a table (screen readers, copy and paste). */
function bars(id: string, caption: string, rows: [string, number][], unit: [string, string]): HTMLElement {
  const largest = Math.max(1, ...rows.map(([, n]) => n));
  return h("table", { class: "bars", id },
    h("caption", {}, caption),
    h("tbody", {}, ...rows.map(([label, n]) => h("tr", {},
      h("th", { scope: "row" }, label),
      h("td", { class: "num" }, plural(n, ...unit)),
      h("td", { class: "bar", "aria-hidden": "true" }, h("span", { style: `width: ${(100 * n) / largest}%` }))))));
}

function prefixed(values: Values, prefix: string, labels: (key: string) => string): [string, number][] {
  return Object.entries(values)
    .filter(([key, n]) => key.startsWith(prefix) && n)
    .map(([key, n]) => [labels(key.slice(prefix.length)), n ?? 0] as [string, number])
    .sort((a, b) => b[1] - a[1]);
}

const technology = (key: string | null) => (key ? TECHNOLOGIES[key] ?? key : "—");
const typology = (key: string | null) => (key ? TYPOLOGIES[key]?.[0] ?? key : "—");

function summary(v: Values, asking: number): HTMLElement {
  const live = Object.entries(v).filter(([k]) => k.startsWith("platform_typology:")).reduce((sum, [, n]) => sum + (n ?? 0), 0);
  return h("section", { class: "platform-summary" },
    h("p", { id: "plateformes-resume" },
      `${plural(live, "plateforme liste", "plateformes listent")} des jeux de données vivants ; `,
      `${plural(v.organizations_on_shared_platforms ?? 0, "organisation publie", "organisations publient")} `,
      "sur une plateforme partagée ou mutualisée avec d'autres ; ",
      `${plural(asking, "plateforme moissonnée propose", "plateformes moissonnées proposent")} un espace de demande de données (ODF 18).`),
    h("div", { class: "bar-tables" },
      bars("par-typologie", "Plateformes par typologie (ODF 8)", prefixed(v, "platform_typology:", typology), ["plateforme", "plateformes"]),
      bars("par-technologie", "Plateformes par technologie (ODF 9)", prefixed(v, "platform_technology:", technology), ["plateforme", "plateformes"]),
      bars("jeux-par-technologie", "Jeux de données par technologie (ODF 11)", prefixed(v, "technology_datasets:", technology), ["jeu", "jeux"])),
    h("dl", { class: "definitions" }, ...Object.values(TYPOLOGIES).flatMap(([label, definition]) => [h("dt", {}, label), h("dd", {}, definition)])));
}

/** The organisations a platform hosts, loaded when asked. */
function hostedButton(p: Platform, row: HTMLTableRowElement, update: Update): HTMLElement {
  if (!p.source_id || !p.organizations_hosted) return h("span", {}, number(p.organizations_hosted));
  const button = h("button", { type: "button", class: "link", "aria-expanded": "false" }, number(p.organizations_hosted));
  let details: HTMLTableRowElement | null = null;
  button.addEventListener("click", async () => {
    if (details) {
      details.remove();
      details = null;
      button.setAttribute("aria-expanded", "false");
      return;
    }
    const { data } = await getJson<{ data: Hosted[] }>(`/api/v1/platforms/${encodeURIComponent(p.source_id!)}/organizations`);
    details = h("tr", { class: "hosted" }, h("td", { colspan: 7 },
      h("ul", { "aria-label": `Organisations hébergées par ${p.name}` }, ...data.map((o) => {
        const link = h("a", { href: `?vue=organisation&organisation=${encodeURIComponent(o.id)}` }, o.name);
        link.addEventListener("click", (event) => {
          event.preventDefault();
          update({ view: "organisation", organisation: o.id });
        });
        return h("li", {}, link, ` (${TYPES[o.type ?? ""] ?? o.type ?? "—"}${o.departement ? `, ${o.departement}` : ""}) : `,
          plural(o.datasets, "jeu", "jeux"));
      }))));
    row.after(details);
    button.setAttribute("aria-expanded", "true");
  });
  return button;
}

function platformTable(platforms: Platform[], update: Update): HTMLElement {
  const headers = ["Plateforme", "Technologie", "Typologie", "Organisations hébergées", "Jeux de données", "Moissonnage", "Demandes de données"];
  const rows = platforms.map((p) => {
    const row = h("tr", {});
    row.append(
      h("th", { scope: "row" }, h("a", { href: p.url, rel: "noopener noreferrer", target: "_blank" }, p.name),
        p.carrier_name ? h("span", { class: "carrier" }, ` porteur : ${p.carrier_name}`) : null),
      h("td", {}, technology(p.technology)),
      h("td", {}, typology(p.typology)),
      h("td", { class: "num" }, hostedButton(p, row, update)),
      h("td", { class: "num" }, number(p.datasets)),
      h("td", {}, p.status ? STATUS[p.status] ?? p.status : "—"),
      h("td", {}, p.data_requests_url && /^https?:\/\//.test(p.data_requests_url)
        ? h("a", { href: p.data_requests_url, rel: "noopener noreferrer" }, "Demander des données") : "—"));
    return row;
  });
  return h("div", { class: "table-wrap" }, h("table", { class: "platforms", id: "plateformes" },
    h("caption", {}, `${plural(platforms.length, "plateforme", "plateformes")}, les plus partagées d'abord`),
    h("thead", {}, h("tr", {}, ...headers.map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, ...rows)));
}

export async function renderPlatforms(view: HTMLElement, update: Update): Promise<void> {
  const [{ data, with_data_requests: asking }, national] = await Promise.all([
    getJson<{ data: Platform[]; with_data_requests: number }>("/api/v1/platforms"),
    getJson<{ data: { values: Values }[] }>("/api/v1/indicators"),
  ]);
  const map = h("a", { href: "?vue=map&indicateur=platforms" }, "la carte des plateformes utilisées par département");
  map.addEventListener("click", (event) => {
    event.preventDefault();
    update({ view: "map", indicator: "platforms" });
  });
  replace(view,
    h("h2", {}, "Plateformes"),
    summary(national.data[0]?.values ?? {}, asking),
    h("p", {}, "Voir aussi ", map, ". Télécharger : ",
      h("a", { href: "/api/v1/exports/platforms.csv?lang=fr", download: "" }, "CSV (tableur)"), " · ",
      h("a", { href: "/api/v1/exports/platforms.json", download: "" }, "JSON")),
    platformTable(data, update));
}
