// An organisation's page: its card, its datasets with the portals listing them, its history.
import * as Plot from "@observablehq/plot";
import { getJson, type Page } from "./api";
import { organisationForm } from "./contribute";
import { asImage, h } from "./dom";
import { dailyAxis, LICENCES, number, plural, share, status, TECHNOLOGIES, TYPES } from "./format";

interface Card {
  id: string;
  name: string;
  type: string | null;
  siren: string | null;
  departement: string | null;
  region: string | null;
  population: number | null;
  obligated: boolean | null;
  website?: string | null;
  indicators: Record<string, number | null>;
  portals: { url: string; kind: string; datasets: number }[]; // those listing its datasets now
  predecessors?: Predecessor[]; // the communes or EPCI it succeeded
  history: { daily: Snapshot[]; editions: Snapshot[] };
}

interface Predecessor {
  name: string;
  kind: "commune-deleguee" | "commune-associee" | "commune" | "epci";
  insee_code: string | null;
  siren: string | null;
  last_edition: string | null;
}

const PREDECESSOR_KINDS: Record<Predecessor["kind"], string> = {
  "commune-deleguee": "commune déléguée",
  "commune-associee": "commune associée",
  commune: "commune fusionnée",
  epci: "intercommunalité fusionnée",
};

/** "Bellegarde-sur-Valserine (commune déléguée, INSEE 01033)": what publishers may still write. */
function predecessorItem(p: Predecessor): HTMLElement {
  const ids = [p.insee_code ? `INSEE ${p.insee_code}` : "", p.siren ? `SIREN ${p.siren}` : ""].filter(Boolean);
  return h("li", {}, p.name, h("span", { class: "meta" }, ` · ${[PREDECESSOR_KINDS[p.kind], ...ids].join(", ")}`));
}

interface Snapshot {
  at: string;
  values: Record<string, number | null>;
}

interface Dataset {
  id: string;
  title: string;
  licence: string | null;
  modified: string | null;
  sources: { portal_url: string; remote_url: string | null; withdrawn_at: string | null }[];
}

const SHOWN = 100; // datasets listed on the page; the download holds them all

function safeUrl(url: string | null | undefined): string | null {
  return url && /^https?:\/\//i.test(url) ? url : null;
}

/** A link where the URL is a web address, else the text alone (a portal may give anything). */
function link(url: string | null | undefined, text: string): HTMLElement | string {
  const safe = safeUrl(url);
  return safe ? h("a", { href: safe, rel: "noopener" }, text) : text;
}

/** A dataset: its title, linked to its page on a portal still listing it, its licence, its portals. */
function datasetItem(dataset: Dataset): HTMLElement {
  const live = dataset.sources.filter((s) => !s.withdrawn_at);
  const licence = LICENCES[dataset.licence ?? "non-specifiee"] ?? dataset.licence;
  return h("li", {}, link(live.find((s) => safeUrl(s.remote_url))?.remote_url, dataset.title),
    h("span", { class: "meta" }, ` · ${licence} · ${plural(live.length, "portail", "portails")}`));
}

export async function renderOrganisation(target: HTMLElement, id: string): Promise<void> {
  target.dataset.state = "loading";
  const encoded = encodeURIComponent(id);
  const [card, datasets] = await Promise.all([
    getJson<Card>(`/api/v1/organizations/${encoded}`),
    getJson<Page<Dataset>>(`/api/v1/organizations/${encoded}/datasets?page_size=${SHOWN}`),
  ]);
  const values = card.indicators;
  const website = safeUrl(card.website);
  const points = card.history.daily.filter((s) => s.values.datasets != null).map((s) => ({ date: new Date(s.at), value: s.values.datasets as number }));
  const chart = Plot.plot({
    height: 180,
    x: dailyAxis(points.map((p) => p.date)),
    y: { label: "jeux de données", grid: true, zero: true, tickFormat: number },
    marks: [Plot.lineY(points, { x: "date", y: "value" }), Plot.dot(points, { x: "date", y: "value" })],
  });
  asImage(chart, "Jeux de données au fil du temps");
  const publishes = (values.publishes ?? 0) > 0;
  target.replaceChildren(
    h("article", { class: "organisation" },
      h("h2", {}, card.name),
      h("p", { class: "subtitle" }, `${TYPES[card.type ?? ""] ?? card.type ?? ""}${card.siren ? ` · SIREN ${card.siren}` : ""}`),
      h("p", {}, h("span", { class: `badge ${publishes ? "yes" : card.obligated ? "no" : "neutral"}` }, status({ publishes, obligated: card.obligated }))),
      h("dl", { class: "figures" },
        h("dt", {}, "Population"), h("dd", {}, number(card.population)),
        h("dt", {}, "Obligation d'ouverture"), h("dd", {}, card.obligated == null ? "Inconnue" : card.obligated ? "Oui" : "Non"),
        h("dt", {}, "Jeux de données"), h("dd", { id: "org-datasets" }, number(values.datasets ?? 0)),
        h("dt", {}, "Portails"), h("dd", {}, number(values.platforms ?? 0)),
        h("dt", {}, "Formats ouverts"), h("dd", {}, share(values.open_format_share)),
        h("dt", {}, "Licence ouverte"), h("dd", {}, share(values.open_licence_share)),
        h("dt", {}, "Mis à jour depuis un an"), h("dd", {}, share(values.fresh_share)),
        h("dt", {}, "Avec un schéma"), h("dd", {}, share(values.schema_share))),
      website ? h("p", {}, h("a", { href: website, rel: "noopener" }, "Site de l'organisation")) : null,
      card.predecessors?.length
        ? h("details", { class: "predecessors" },
            h("summary", {}, `Anciennement : ${plural(card.predecessors.length, "nom ou SIREN", "noms ou SIREN")}`),
            h("p", {}, "Les portails qui les écrivent encore sont rattachés à cette organisation."),
            h("ul", {}, ...card.predecessors.map(predecessorItem)))
        : null,
      h("h3", {}, "Portails"),
      card.portals.length
        ? h("ul", { class: "portals" }, ...card.portals.map((p) => h("li", {}, link(p.url, p.url),
            h("span", { class: "meta" }, ` · ${TECHNOLOGIES[p.kind] ?? p.kind} · ${plural(p.datasets, "jeu de données", "jeux de données")}`))))
        : h("p", {}, "Aucun portail connu."),
      h("h3", {}, `Jeux de données (${number(datasets.total)})`),
      datasets.data.length
        ? h("ul", { class: "datasets" }, ...datasets.data.map(datasetItem))
        : h("p", {}, "Aucun jeu de données trouvé."),
      datasets.total
        ? h("p", { class: "more" }, datasets.total > datasets.data.length ? `Les ${number(datasets.data.length)} premiers, par titre. ` : "",
            h("a", { href: `/api/v1/exports/datasets.csv?organization=${encoded}`, download: "" },
              `Télécharger la liste complète (CSV, ${plural(datasets.total, "jeu", "jeux")})`))
        : null,
      h("h3", {}, "Historique"),
      h("figure", { class: "chart" }, chart),
      h("h3", {}, "Contribuer"),
      h("p", {}, "Une information manque ou est fausse ? Proposez une correction : elle sera relue avant d'être appliquée."),
      organisationForm(card.id)),
  );
  target.dataset.state = "ready";
}
