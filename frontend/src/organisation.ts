// An organisation's page: its card, its datasets with the portals listing them, its history.
import * as Plot from "@observablehq/plot";
import { getJson, type Page } from "./api";
import { organisationForm } from "./contribute";
import { asImage, h, replace } from "./dom";
import { dailyAxis, LICENCES, number, plural, share, shortDate, status, TECHNOLOGIES, TYPES } from "./format";

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
  reuses: Reuse[]; // reuses portals list with its datasets, most of them used first
  audience: Counted[]; // its datasets' counters, per software that counts them
  predecessors?: Predecessor[]; // the communes or EPCI it succeeded
  obligation?: Obligation | null;
  territory?: Record<"departement" | "region" | "epci", Place | null>;
  council?: { id: string; name: string | null; serves: { id: string; name: string; type: string | null; code: string | null }[] } | null;
  history: { daily: Snapshot[]; editions: Snapshot[] };
}

const EPCI = ["CC", "CA", "CU", "MET", "EPT"]; // an intercommunality publishes for its communes (cooperation)

interface Counted {
  counted_by: string;
  metric: string;
  count: number;
  measured_at: string | null;
}

const METRICS: Record<string, [string, string]> = {
  views: ["vue", "vues"], downloads: ["téléchargement", "téléchargements"], followers: ["abonné", "abonnés"],
  api_calls: ["appel d'API", "appels d'API"],
};
const COUNTED_BY: Record<string, string> = { udata: "Portails udata (dont data.gouv.fr)", ods: "Portails OpenDataSoft" };

/** One line per software that counts: its counters are never added to another's. */
function audienceList(counted: Counted[]): HTMLElement {
  if (!counted.length) return h("p", {}, "Aucune mesure : seuls udata (data.gouv.fr) et OpenDataSoft publient la leur.");
  const by = [...new Set(counted.map((c) => c.counted_by))];
  return h("ul", { class: "audience", id: "org-audience" }, ...by.map((software) => {
    const mine = counted.filter((c) => c.counted_by === software);
    const at = mine[0].measured_at ? ` (mesuré le ${shortDate(new Date(mine[0].measured_at))})` : "";
    return h("li", {}, `${COUNTED_BY[software] ?? software} : `,
      mine.map((c) => plural(c.count, ...(METRICS[c.metric] ?? [c.metric, c.metric]))).join(", "), at);
  }));
}

interface Reuse {
  id: string;
  title: string;
  type: string | null;
  url: string | null;
  remote_url: string | null;
  datasets: number;
}

/** udata's reuse types, as data.gouv.fr names them. */
const REUSE_TYPES: Record<string, string> = {
  application: "Application", visualization: "Visualisation", api: "API", news_article: "Article de presse",
  paper: "Article scientifique", post: "Billet de blog", idea: "Idée", hardware: "Objet connecté",
};

function reuseItem(r: Reuse): HTMLElement {
  const page = safeUrl(r.remote_url);
  return h("li", {}, link(r.url ?? r.remote_url, r.title),
    h("span", { class: "meta" }, ` · ${REUSE_TYPES[r.type ?? ""] ?? r.type ?? "réutilisation"} · `,
      `${plural(r.datasets, "jeu utilisé", "jeux utilisés")}`, page ? " · " : null,
      page ? h("a", { href: page, rel: "noopener" }, "sa page sur le portail") : null));
}

interface Obligation {
  obligated: boolean | null;
  method: "population_only" | "population_and_agents" | "not_a_collectivite" | "unknown";
  population: number | null;
  population_source: string | null;
  agents: number | null;
  agents_source: string | null;
}

interface Place {
  id: string;
  name: string;
  code: string | null;
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
  resources?: { format: string | null }[];
  sources: { portal_url: string; remote_url: string | null; withdrawn_at: string | null }[];
}

const PAGE = 20; // datasets per page of the table; the download holds them all
const YEAR_MS = 365 * 24 * 3600 * 1000;

/** Why the organisation must publish, or not, in words: the rule, its figures and their sources. */
export function obligationText(o: Obligation | null | undefined): string {
  if (!o) return "Obligation non déterminée.";
  const source = (name: string | null) => (name ? ` (source : ${name})` : "");
  const inhabitants = `${number(o.population)} habitants${source(o.population_source)}`;
  switch (o.method) {
    case "not_a_collectivite":
      return "Hors du champ de l'obligation : ce n'est pas une collectivité territoriale (syndicat, agence, office…).";
    case "unknown":
      return "Obligation non déterminée : la population n'est pas connue.";
    case "population_and_agents":
      return o.obligated
        ? `Obligée : ${inhabitants}, plus de 3 500, et ${number(o.agents)} agents${source(o.agents_source)}, au moins 50.`
        : `Non obligée : ${inhabitants} et ${number(o.agents)} agents${source(o.agents_source)} ; il faut plus de 3 500 habitants et au moins 50 agents.`;
    default:
      return o.obligated
        ? `Obligée : ${inhabitants}, plus de 3 500. Le nombre d'agents n'est pas connu : comme l'Observatoire, on suppose qu'une collectivité de cette taille en a au moins 50.`
        : `Non obligée : ${inhabitants}, pas plus de 3 500.`;
  }
}

/** "data.quimper.fr" (with its path when the portal lives under one), linked to the portal itself. */
function portalItem(p: Card["portals"][number]): HTMLElement {
  const safe = safeUrl(p.url);
  const home = safe ? new URL(safe) : null;
  const path = home ? home.pathname.replace(/\/+$/, "") : "";
  const name = home ? `${home.hostname.replace(/^www\./, "")}${path}` : p.url;
  return h("li", {}, home ? h("a", { href: `${home.origin}${path}/`, rel: "noopener" }, name) : name,
    h("span", { class: "meta" }, ` · ${TECHNOLOGIES[p.kind] ?? p.kind} · ${plural(p.datasets, "jeu de données", "jeux de données")}`));
}

function territoryList(card: Card): HTMLElement | null {
  const places = card.territory;
  if (!places) return null;
  const item = (label: string, place: Place | null) =>
    place ? [h("dt", {}, label), h("dd", {}, h("a", { href: `?vue=organisation&organisation=${encodeURIComponent(place.id)}` },
      place.code && label !== "Intercommunalité" ? `${place.name} (${place.code})` : place.name))] : [];
  const rows = [...item("Intercommunalité", places.epci), ...item("Département", places.departement), ...item("Région", places.region)];
  return rows.length ? h("dl", { class: "territory" }, ...rows) : null;
}

const SERVED: Record<string, string> = { REG: "la région", DEP: "le département", COM: "la commune", COLOM: "la collectivité" };

/** For a single council (one council, several rows of the COG: the Collectivité de Corse...), the
 *  territories it serves, in each of which its datasets count (docs/indicators.md). */
function councilNote(card: Card): HTMLElement | null {
  const council = card.council;
  if (!council) return null;
  const served = council.serves.map((t, i) => [i ? ", " : "", `${SERVED[t.type ?? ""] ?? ""} `,
    h("a", { href: `?vue=organisation&organisation=${encodeURIComponent(t.id)}` }, t.code ? `${t.name} (${t.code})` : t.name)]).flat();
  return h("p", { id: "conseil" }, "Conseil unique : une même assemblée sert ", ...served,
    ". Ce qu'elle publie compte dans chacun de ces territoires, une fois.");
}

function safeUrl(url: string | null | undefined): string | null {
  return url && /^https?:\/\//i.test(url) ? url : null;
}

/** A link where the URL is a web address, else the text alone (a portal may give anything). */
function link(url: string | null | undefined, text: string): HTMLElement | string {
  const safe = safeUrl(url);
  return safe ? h("a", { href: safe, rel: "noopener" }, text) : text;
}

/** A dataset as a row: its title linked to a portal still listing it, formats, licence, freshness. */
function datasetRow(dataset: Dataset): HTMLElement {
  const live = dataset.sources.filter((s) => !s.withdrawn_at);
  const licence = LICENCES[dataset.licence ?? "non-specifiee"] ?? dataset.licence ?? "—";
  const formats = [...new Set((dataset.resources ?? []).map((r) => (r.format ?? "").toUpperCase()).filter(Boolean))].sort();
  const modified = dataset.modified ? new Date(dataset.modified) : null;
  const fresh = modified !== null && Date.now() - modified.getTime() < YEAR_MS;
  return h("tr", {},
    h("th", { scope: "row" }, link(live.find((s) => safeUrl(s.remote_url))?.remote_url, dataset.title)),
    h("td", {}, formats.join(", ") || "—"),
    h("td", {}, licence),
    h("td", {}, modified ? shortDate(modified) : "non datée", fresh ? h("span", { class: "badge yes" }, " dans l'année") : null),
    h("td", { class: "num" }, String(live.length)));
}

/** The datasets as a table with its own search and pages (the page's URL keeps the organisation only). */
function datasetTable(encoded: string, first: Page<Dataset>): HTMLElement {
  const search = h("input", { id: "org-recherche", type: "search", autocomplete: "off" });
  const body = h("tbody", {});
  const caption = h("caption", {});
  const previous = h("button", { type: "button" }, "Précédents");
  const next = h("button", { type: "button" }, "Suivants");
  let page = 1, asked = 0;
  const show = (answer: Page<Dataset>) => {
    const pages = Math.max(1, Math.ceil(answer.total / PAGE));
    replace(body, ...(answer.data.length ? answer.data.map(datasetRow)
      : [h("tr", {}, h("td", { colspan: 5 }, "Aucun jeu de données ne correspond."))]));
    const about = answer.total_exact === false ? "environ " : "";
    caption.textContent = `${about}${plural(answer.total, "jeu de données", "jeux de données")}, page ${answer.page} sur ${pages}`;
    previous.disabled = answer.page <= 1;
    next.disabled = answer.page >= pages;
  };
  const load = async () => {
    const mine = ++asked;
    const q = search.value.trim();
    const answer = await getJson<Page<Dataset>>(
      `/api/v1/organizations/${encoded}/datasets?page_size=${PAGE}&page=${page}${q ? `&q=${encodeURIComponent(q)}` : ""}`);
    if (mine === asked) show(answer);
  };
  let typing: number | undefined;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = window.setTimeout(() => { page = 1; void load(); }, 250);
  });
  previous.addEventListener("click", () => { page -= 1; void load(); });
  next.addEventListener("click", () => { page += 1; void load(); });
  show(first);
  return h("div", { class: "org-datasets" },
    h("label", { for: "org-recherche" }, "Chercher un jeu de données "), search,
    h("div", { class: "table-wrap" }, h("table", { id: "jeux" }, caption,
      h("thead", {}, h("tr", {}, ...["Titre", "Formats", "Licence", "Mis à jour", "Portails"].map((x) => h("th", { scope: "col" }, x)))),
      body)),
    h("nav", { class: "pager", "aria-label": "Pages des jeux de données" }, previous, next));
}

/** The history as a time series once there are two days of it; before that, said in words. */
function historyOf(card: Card): HTMLElement {
  const points = card.history.daily.filter((s) => s.values.datasets != null)
    .map((s) => ({ date: new Date(s.at), value: s.values.datasets as number }));
  if (points.length < 2) {
    const since = points.length ? shortDate(points[0].date) : "aujourd'hui";
    return h("p", { id: "org-historique" }, `L'historique commence le ${since} : un point s'y ajoute chaque jour où ses indicateurs changent.`);
  }
  const high = Math.max(...points.map((p) => p.value));
  const chart = Plot.plot({
    height: 180,
    x: dailyAxis(points.map((p) => p.date)),
    y: { label: "jeux de données", grid: true, domain: [0, Math.max(1, Math.ceil(high * 1.15))], tickFormat: number },
    marks: [Plot.lineY(points, { x: "date", y: "value", curve: "step-after" }), Plot.dot(points, { x: "date", y: "value" })],
  });
  asImage(chart, "Jeux de données au fil du temps");
  return h("figure", { class: "chart", id: "org-historique" }, chart);
}

export async function renderOrganisation(target: HTMLElement, id: string): Promise<void> {
  target.dataset.state = "loading";
  const encoded = encodeURIComponent(id);
  const [card, datasets] = await Promise.all([
    getJson<Card>(`/api/v1/organizations/${encoded}`),
    getJson<Page<Dataset>>(`/api/v1/organizations/${encoded}/datasets?page_size=${PAGE}`),
  ]);
  const values = card.indicators;
  const website = safeUrl(card.website);
  const publishes = (values.publishes ?? 0) > 0;
  target.replaceChildren(
    h("article", { class: "organisation" },
      h("h2", {}, card.name),
      h("p", { class: "subtitle" }, `${TYPES[card.type ?? ""] ?? card.type ?? ""}${card.siren ? ` · SIREN ${card.siren}` : ""}`),
      h("p", {}, h("span", { class: `badge ${publishes ? "yes" : card.obligated ? "no" : "neutral"}` }, status({ publishes, obligated: card.obligated }))),
      territoryList(card),
      councilNote(card),
      h("p", { class: "obligation", id: "org-obligation" }, obligationText(card.obligation)),
      h("dl", { class: "figures" },
        h("dt", {}, "Population"), h("dd", {}, number(card.population)),
        h("dt", {}, "Obligation d'ouverture"), h("dd", {}, card.obligated == null ? "Inconnue" : card.obligated ? "Oui" : "Non"),
        h("dt", {}, "Jeux de données"), h("dd", { id: "org-datasets" }, number(values.datasets ?? 0)),
        h("dt", {}, "Portails"), h("dd", {}, number(values.platforms ?? 0)),
        h("dt", {}, "Formats ouverts"), h("dd", {}, share(values.open_format_share)),
        h("dt", {}, "Licence ouverte"), h("dd", {}, share(values.open_licence_share)),
        h("dt", {}, "Mis à jour depuis un an"), h("dd", {}, share(values.fresh_share)),
        h("dt", {}, "Avec un schéma"), h("dd", {}, share(values.schema_share)),
        h("dt", {}, "Réutilisations"), h("dd", { id: "org-reuses" }, number(values.reuses ?? 0)),
        ...(EPCI.includes(card.type ?? "")
          ? [h("dt", {}, "Communes membres nommées par ses jeux"), h("dd", { id: "org-communes" }, number(values.member_communes_served ?? 0))]
          : [])),
      website ? h("p", {}, h("a", { href: website, rel: "noopener" }, "Site de l'organisation")) : null,
      card.predecessors?.length
        ? h("details", { class: "predecessors" },
            h("summary", {}, `Anciennement : ${plural(card.predecessors.length, "nom ou SIREN", "noms ou SIREN")}`),
            h("p", {}, "Les portails qui les écrivent encore sont rattachés à cette organisation."),
            h("ul", {}, ...card.predecessors.map(predecessorItem)))
        : null,
      h("h3", {}, "Portails"),
      card.portals.length ? h("ul", { class: "portals" }, ...card.portals.map(portalItem)) : h("p", {}, "Aucun portail connu."),
      h("h3", {}, `Réutilisations (${number(values.reuses ?? 0)})`),
      card.reuses.length
        ? h("ul", { class: "reuses", id: "org-reuses-list" }, ...card.reuses.map(reuseItem))
        : h("p", {}, "Aucune réutilisation connue : seuls les portails qui les publient (udata, data.gouv.fr) les font connaître."),
      h("h3", {}, "Audience"),
      audienceList(card.audience ?? []),
      h("h3", {}, `Jeux de données (${datasets.total_exact === false ? "environ " : ""}${number(datasets.total)})`),
      datasets.total ? datasetTable(encoded, datasets) : h("p", {}, "Aucun jeu de données trouvé."),
      datasets.total
        ? h("p", { class: "more" }, h("a", { href: `/api/v1/exports/datasets.csv?organization=${encoded}&lang=fr`, download: "" },
            `Télécharger la liste complète (CSV, ${plural(datasets.total, "jeu", "jeux")})`))
        : null,
      h("h3", {}, "Historique"),
      historyOf(card),
      h("p", {}, h("a", { href: `/api/v1/feeds/organizations/${encoded}.atom`, type: "application/atom+xml" },
        "Suivre ses nouveaux jeux de données, ses retraits et ses seuils franchis (flux Atom)")),
      embedCodes(card.id, card.name),
      h("h3", {}, "Contribuer"),
      h("p", {}, "Une information manque ou est fausse ? Proposez une correction : elle sera relue avant d'être appliquée."),
      organisationForm(card.id, { name: card.name, population: card.population, agents: card.obligation?.agents ?? null,
        website: card.website ?? null })),
  );
  target.dataset.state = "ready";
}

/** The organisation's card and badge, as code another site pastes in its pages (served by /embed/). */
function embedCodes(id: string, name: string): HTMLElement {
  const encoded = encodeURIComponent(id);
  const page = `${location.origin}/?vue=organisation&amp;organisation=${encoded}`;
  const badge = `${location.origin}/embed/organisations/${encoded}/badge.svg`;
  const title = name.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");
  const card = `<iframe src="${location.origin}/embed/organisations/${encoded}" title="${title} sur l'Observatoire de l'open data des territoires" width="420" height="280" style="border:0"></iframe>`;
  const link = `<a href="${page}"><img src="${badge}" alt="${title} : jeux de données ouverts, selon l'Observatoire de l'open data des territoires"></a>`;
  return h("section", { class: "embed-code", "aria-labelledby": "integrer" },
    h("h3", { id: "integrer" }, "Intégrer sur votre site"),
    h("p", {}, "Copiez ce code dans une page de votre site : la carte et le badge suivent l'Observatoire."),
    h("label", { for: "code-carte" }, "Carte"),
    h("textarea", { id: "code-carte", readonly: true, rows: 3 }, card),
    h("label", { for: "code-badge" }, "Badge"),
    h("textarea", { id: "code-badge", readonly: true, rows: 3 }, link),
    h("p", {}, h("img", { src: badge, alt: `Badge de ${name}` })));
}
