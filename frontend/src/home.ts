// The home page answers "who opens their data?": the national figures with their definitions, the
// trend, the départements ahead and behind, the legal obligation, and the ways into the other views.
import { getJson, type Values } from "./api";
import { h, replace } from "./dom";
import { number, plural, share } from "./format";
import type { State, Update } from "./state";
import { departementNames } from "./territories";

interface Scope {
  id: string;
  values: Values;
  computed_at: string;
}

interface History {
  series: { at: string; values: Values }[];
}

const day = new Intl.DateTimeFormat("fr-FR", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

function figure(id: string, value: string, label: string, definition: string): HTMLElement {
  return h("div", { class: "figure", id },
    h("p", { class: "value" }, value),
    h("p", { class: "label" }, label),
    h("p", { class: "definition" }, definition));
}

function headline(v: Values): HTMLElement {
  const value = (name: string) => v[name] ?? null;
  return h("div", { class: "figures" },
    figure("chiffre-collectivites", number(value("collectivites_publishing")), "collectivités publient des données",
      "Communes, intercommunalités, départements, régions et collectivités d'outre-mer ayant au moins un jeu de données, " +
      "sur leur portail ou sur data.gouv.fr."),
    figure("chiffre-ouverture", share(value("opening_rate")), "des collectivités obligées publient",
      `${number(value("obligated_publishing"))} sur ${number(value("obligated"))} collectivités soumises à l'obligation d'ouverture, ` +
      "chaque conseil compté une fois."),
    figure("chiffre-population", share(value("coverage_rate")), "de la population couverte",
      `${number(value("population_covered"))} habitants vivent dans une commune dont la commune, l'intercommunalité, ` +
      "le département ou la région publie."),
    figure("chiffre-jeux", number(value("datasets")), "jeux de données",
      "Dédoublonnés : un jeu publié sur un portail local et sur data.gouv.fr compte une fois."),
    figure("chiffre-portails", number(value("platforms")), "portails moissonnés",
      "Plateformes où ces jeux sont listés (data.gouv.fr, OpenDataSoft, CKAN, catalogues DCAT, ArcGIS…)."),
    figure("chiffre-fraicheur", share(value("fresh_share")), "des jeux mis à jour dans l'année",
      "Part des jeux dont la date de modification sur le portail date de moins de 365 jours."));
}

/** The national trend in words, and as a line once there are several days. */
function trend(history: History): HTMLElement {
  const points = history.series.filter((s) => s.values.collectivites_publishing != null);
  if (points.length < 2) {
    const since = points.length ? day.format(new Date(points[0].at)) : "aujourd'hui";
    return h("p", { id: "tendance" }, `La série nationale commence le ${since} : elle s'allonge d'un point chaque jour.`);
  }
  const first = points[0], last = points[points.length - 1];
  const change = (last.values.collectivites_publishing ?? 0) - (first.values.collectivites_publishing ?? 0);
  const sign = change > 0 ? "+" : change < 0 ? "−" : "±";
  const sentence = `Depuis le ${day.format(new Date(first.at))} : ${sign}${number(Math.abs(change))} ` +
    `collectivités qui publient (${number(last.values.collectivites_publishing)} le ${day.format(new Date(last.at))}).`;
  return h("div", { id: "tendance" }, h("p", {}, sentence), sparkline(points.map((p) => p.values.collectivites_publishing ?? 0), sentence));
}

function sparkline(values: number[], label: string): SVGSVGElement {
  const width = 320, height = 60, low = Math.min(...values), high = Math.max(...values);
  const x = (i: number) => (i / (values.length - 1)) * (width - 8) + 4;
  const y = (v: number) => height - 4 - (high === low ? (height - 8) / 2 : ((v - low) / (high - low)) * (height - 8));
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", values.map((v, i) => `${x(i)},${y(v)}`).join(" "));
  svg.append(line);
  return svg;
}

/** Who started and who stopped publishing since the last yearly edition (ODF indicator 3). */
function entriesAndExits(values: Record<string, number | null>): HTMLElement {
  const year = values.since_edition;
  if (year == null) {
    return h("p", { id: "entrees-sorties" }, "Les entrées et les sorties se compteront à partir de la première édition annuelle, le 8 octobre.");
  }
  const entered = values.entered_since_edition ?? 0, left = values.left_since_edition ?? 0, net = entered - left;
  return h("p", { id: "entrees-sorties" },
    `Depuis l'édition ${year} : ${plural(entered, "organisation s'est mise", "organisations se sont mises")} à publier, ` +
    `${plural(left, "a cessé", "ont cessé")} (plus aucun jeu en ligne : disparues du radar) ; ` +
    `solde ${net > 0 ? "+" : net < 0 ? "−" : "±"}${number(Math.abs(net))}.`);
}

/** The five départements with the highest and the lowest opening rate (ties: the most obligated). */
function leaders(scopes: Scope[], names: Map<string, string>, update: Update): HTMLElement {
  const rated = scopes.filter((s) => (s.values.obligated ?? 0) > 0 && s.values.opening_rate != null);
  const byRate = [...rated].sort((a, b) => (b.values.opening_rate! - a.values.opening_rate!) ||
    ((b.values.obligated ?? 0) - (a.values.obligated ?? 0)));
  const lagging = [...rated].sort((a, b) => (a.values.opening_rate! - b.values.opening_rate!) ||
    ((b.values.obligated ?? 0) - (a.values.obligated ?? 0)));
  const item = (s: Scope) => {
    const link = h("a", { href: `?vue=table&departement=${s.id}&obligated=true` }, `${names.get(s.id) ?? s.id} (${s.id})`);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      update({ view: "table", filters: { departement: s.id, obligated: "true" }, page: 1 });
    });
    return h("li", {}, link, ` : ${share(s.values.opening_rate)} — ${number(s.values.obligated_publishing)} sur ${plural(s.values.obligated ?? 0, "obligée", "obligées")}`);
  };
  return h("div", { class: "leaders" },
    h("section", { "aria-labelledby": "en-tete" }, h("h3", { id: "en-tete" }, "Départements en tête"),
      h("ol", { id: "departements-en-tete" }, ...byRate.slice(0, 5).map(item))),
    h("section", { "aria-labelledby": "en-retrait" }, h("h3", { id: "en-retrait" }, "Départements en retrait"),
      h("ol", { id: "departements-en-retrait" }, ...lagging.slice(0, 5).map(item))));
}

function ways(update: Update): HTMLElement {
  const way = (view: State["view"], label: string, text: string) => {
    const link = h("a", { href: `?vue=${view}`, class: "way" }, h("strong", {}, label), h("span", {}, text));
    link.addEventListener("click", (event) => {
      event.preventDefault();
      update({ view, page: 1 });
    });
    return link;
  };
  return h("nav", { class: "ways", "aria-label": "Explorer" },
    way("table", "Tableau", "chercher une collectivité, filtrer, trier, télécharger"),
    way("map", "Carte", "les taux d'ouverture par département et par région"),
    way("charts", "Graphiques", "qui publie, par type et par région, et l'évolution"));
}

/** Draws the home page into `view`, unless the visitor has gone elsewhere meanwhile (`current`). */
export async function renderHome(view: HTMLElement, update: Update, current: () => boolean): Promise<void> {
  const [national, departements, history, names] = await Promise.all([
    getJson<{ data: Scope[] }>("/api/v1/indicators?scope=national"),
    getJson<{ data: Scope[] }>("/api/v1/indicators?scope=departement"),
    getJson<History>("/api/v1/indicators/history?scope=national&indicator=collectivites_publishing"),
    departementNames(),
  ]);
  if (!current()) return;
  const values = national.data[0]?.values ?? {};
  const updated = national.data[0] ? ` Chiffres du ${day.format(new Date(national.data[0].computed_at))}.` : "";
  replace(view,
    h("h2", {}, "Qui ouvre ses données ?"),
    h("p", { class: "lede" }, "Les collectivités françaises publient-elles leurs données ? L'Observatoire moissonne en continu " +
      "les portails où elles publient et recalcule ces indicateurs à chaque changement." + updated),
    headline(values),
    h("p", { class: "obligation" }, "Depuis la loi pour une République numérique (2016), les collectivités de plus de 3 500 habitants " +
      "employant au moins 50 agents doivent publier en ligne leurs principales bases de données (article L. 312-1-1 du " +
      "code des relations entre le public et l'administration)."),
    h("h3", {}, "Évolution nationale"),
    trend(history),
    entriesAndExits(values),
    leaders(departements.data, names, update),
    ways(update));
}
