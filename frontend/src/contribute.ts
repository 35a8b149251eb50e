// Contributions: the public form (on an organisation's page and for each unmatched publisher), and
// the list of publishers no organisation was found for. Everything contributed is shown as text.
import { getJson, type Page } from "./api";
import { h, replace } from "./dom";
import { number, TYPES } from "./format";
import type { State, Update } from "./state";
import { pager } from "./table";

export const ORGANISATION_FIELDS: Record<string, string> = {
  name: "Nom",
  population: "Population",
  agents: "Nombre d'agents (décide de l'obligation)",
  website: "Site web",
  contact_url: "Page de contact",
  portal: "Portail de données manquant",
  dataset: "Jeu de données manquant",
};
const TECHNOLOGIES: Record<string, string> = { auto: "Je ne sais pas (détectée à l'acceptation)", udata: "udata", ods: "OpenDataSoft", ckan: "CKAN", dcat: "Catalogue DCAT", arcgis: "ArcGIS Hub", csw: "Géocatalogue (CSW, GeoNetwork)" };

export interface Submitted {
  id: string;
  status: string;
  follow: string;
}

interface ApiError {
  error: { status: number; message: string; details?: string[] };
}

/** POST a proposal; the answer's reference, or the API's message (with its details) as an Error. */
export async function propose(body: Record<string, unknown>): Promise<Submitted> {
  const response = await fetch("/api/v1/contributions", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const answer = (await response.json().catch(() => null)) as Submitted | ApiError | null;
  if (!response.ok) {
    const error = (answer as ApiError | null)?.error;
    throw new Error([error?.message ?? `erreur ${response.status}`, ...(error?.details ?? [])].join(" — "));
  }
  return answer as Submitted;
}

let forms = 0;

/** A field, its value and a comment; a hidden trap field robots fill and people do not see. */
function proposalForm(legend: string, fields: HTMLElement[], read: () => Record<string, unknown>,
  validate: () => boolean = () => true): HTMLFormElement {
  const n = ++forms;
  const comment = h("textarea", { id: `contrib-comment-${n}`, name: "comment", maxlength: 2000, rows: 3 });
  const trap = h("input", { id: `contrib-homepage-${n}`, name: "homepage", type: "text", tabindex: -1, autocomplete: "off" });
  const outcome = h("p", { class: "outcome", role: "status" });
  const form = h("form", { class: "contribution", novalidate: true },
    h("fieldset", {},
      h("legend", {}, legend),
      ...fields,
      h("label", { for: comment.id }, "Commentaire ou source (facultatif)"), comment,
      h("div", { class: "trap", "aria-hidden": "true" }, h("label", { for: trap.id }, "Ne pas remplir"), trap),
      h("button", { type: "submit" }, "Envoyer la proposition")),
    outcome);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    outcome.className = "outcome";
    if (!validate()) {
      replace(outcome);
      return;
    }
    try {
      const sent = await propose({ ...read(), comment: comment.value.trim() || null, homepage: trap.value || null });
      replace(outcome, "Merci ! Votre proposition sera relue par l'équipe. Référence : ",
        h("a", { href: `?vue=suivi&proposition=${encodeURIComponent(sent.id)}`, class: "reference" }, sent.id));
      form.reset();
    } catch (error) {
      outcome.className = "outcome error";
      replace(outcome, `Proposition non envoyée : ${(error as Error).message}`);
    }
  });
  return form;
}

/** The same rules as the contributions service (services/contributions/proposals.py), checked
 *  before sending so that a mistake is said at once, in French, beside its field. */
const URL_RULE = (v: string) => (/^https?:\/\/[^\s/]+\.[^\s]*$/i.test(v) && v.length <= 2000 ? null
  : "Une adresse web commence par http:// ou https:// et nomme un site.");
const RULES: Record<string, { max: number; check: (value: string) => string | null }> = {
  name: { max: 300, check: (v) => (v.length >= 2 ? null : "Le nom compte de 2 à 300 caractères.") },
  population: { max: 7, check: (v) => (/^\d+$/.test(v) && Number(v) <= 3_000_000 ? null : "Un nombre entier d'habitants, au plus 3 000 000.") },
  agents: { max: 7, check: (v) => (/^\d+$/.test(v) && Number(v) <= 1_000_000 ? null : "Un nombre entier d'agents, au plus 1 000 000.") },
  website: { max: 2000, check: URL_RULE },
  contact_url: { max: 2000, check: URL_RULE },
  portal: { max: 2000, check: URL_RULE },
  dataset: { max: 2000, check: URL_RULE },
};

export interface CurrentValues {
  name: string;
  population: number | null;
  agents: number | null;
  website: string | null;
}

/** On an organisation's page: correct or complete one of its fields, its current value in view. */
export function organisationForm(organizationId: string, current: CurrentValues): HTMLFormElement {
  const n = forms + 1;
  const field = h("select", { id: `contrib-field-${n}`, name: "field" },
    ...Object.entries(ORGANISATION_FIELDS).map(([value, label]) => h("option", { value }, label)));
  const value = h("input", { id: `contrib-value-${n}`, name: "value", type: "text", maxlength: RULES.name.max,
    "aria-describedby": `contrib-current-${n} contrib-problem-${n}` });
  const shown = h("p", { id: `contrib-current-${n}`, class: "current" });
  const problem = h("p", { id: `contrib-problem-${n}`, class: "problem", role: "alert" });
  const technology = h("select", { id: `contrib-technology-${n}`, name: "technology" },
    ...Object.entries(TECHNOLOGIES).map(([key, label]) => h("option", { value: key }, label)));
  const technologyRow = h("div", { hidden: true }, h("label", { for: technology.id }, "Technologie du portail"), technology);
  const title = h("input", { id: `contrib-title-${n}`, name: "title", type: "text", maxlength: 500 });
  const titleRow = h("div", { hidden: true }, h("label", { for: title.id }, "Titre du jeu de données"), title);
  const valueLabel = h("label", { for: value.id }, "Valeur proposée");
  const describe = () => {
    const known = field.value in current ? current[field.value as keyof CurrentValues] : undefined;
    shown.textContent = known === undefined ? "" : `Valeur actuelle : ${known == null || known === "" ? "non renseignée"
      : typeof known === "number" ? number(known) : known}`;
  };
  field.addEventListener("change", () => {
    const numeric = field.value === "population" || field.value === "agents";
    value.type = numeric ? "number" : ["website", "contact_url", "portal", "dataset"].includes(field.value) ? "url" : "text";
    value.min = numeric ? "0" : "";
    value.maxLength = RULES[field.value]?.max ?? 2000;
    valueLabel.textContent = field.value === "portal" ? "Adresse du portail"
      : field.value === "dataset" ? "Adresse du jeu de données" : "Valeur proposée";
    technologyRow.hidden = field.value !== "portal";
    titleRow.hidden = field.value !== "dataset";
    problem.textContent = "";
    value.removeAttribute("aria-invalid");
    describe();
  });
  describe();
  const check = (): string | null => {
    const raw = value.value.trim();
    if (!raw) return "Indiquez la valeur proposée.";
    if (field.value === "dataset" && title.value.trim().length < 2) return "Indiquez le titre du jeu de données (2 caractères au moins).";
    return RULES[field.value]?.check(raw) ?? null;
  };
  const read = () => {
    const raw = value.value.trim();
    const proposed = field.value === "portal" ? { url: raw, technology: technology.value }
      : field.value === "dataset" ? { title: title.value.trim(), url: raw }
      : field.value === "population" || field.value === "agents" ? (raw === "" ? null : Number(raw)) : raw;
    return { organization_id: organizationId, field: field.value, value: proposed };
  };
  const validate = (): boolean => {
    const message = check();
    problem.textContent = message ?? "";
    if (message) {
      value.setAttribute("aria-invalid", "true");
      value.focus();
    } else value.removeAttribute("aria-invalid");
    return message === null;
  };
  return proposalForm("Proposer une correction",
    [h("label", { for: field.id }, "Information"), field, shown, titleRow, valueLabel, value, problem, technologyRow], read, validate);
}

export interface UnmatchedPublisher {
  portal_url: string;
  name: string;
  remote_id: string;
  sightings: number;
  reason: string | null;
  candidates: Candidate[];
}

interface Candidate {
  organization_id: string;
  name: string;
  type: string | null;
  departement: string | null;
  confidence: number;
}

const PUBLISHERS_PER_PAGE = 20;

/** For a publisher no organisation was found for: the SIREN (or SIRET) of the body behind it. */
export function publisherForm(publisher: UnmatchedPublisher): HTMLFormElement {
  const n = forms + 1;
  const siren = h("input", { id: `contrib-siren-${n}`, name: "siren", type: "text", inputmode: "numeric", maxlength: 20,
    autocomplete: "off" });
  // Homonyms (two communes named Buxerolles) are told apart by their type and département; one with
  // a SIREN (its id) can be chosen in one click, the proposal still goes to moderation.
  const candidates = publisher.candidates.slice(0, 5).map((candidate) => {
    const details = [TYPES[candidate.type ?? ""] ?? candidate.type, candidate.departement].filter(Boolean).join(", ");
    const label = details ? `${candidate.name} (${details})` : candidate.name;
    if (!/^\d{9}$/.test(candidate.organization_id)) return h("li", {}, label);
    const choose = h("button", { type: "button", "aria-label": `Choisir ${label}` }, "Choisir");
    choose.addEventListener("click", () => {
      siren.value = candidate.organization_id;
      siren.focus();
    });
    return h("li", {}, `${label} · SIREN ${candidate.organization_id} `, choose);
  });
  const fields: HTMLElement[] = [h("label", { for: siren.id }, "SIREN ou SIRET de l'organisation"), siren];
  if (candidates.length) fields.unshift(h("p", {}, "Organisations possibles :"), h("ul", { class: "candidates" }, ...candidates));
  const read = () => ({
    field: "publisher",
    value: siren.value,
    publisher: { portal_url: publisher.portal_url, name: publisher.name, remote_id: publisher.remote_id },
  });
  return proposalForm(`Rattacher « ${publisher.name} »`, fields, read);
}

/** The publishers as a table, most seen first, searchable; each row opens its own form. */
export async function renderPublishers(target: HTMLElement, state: State, update: Update): Promise<void> {
  target.dataset.state = "loading";
  const q = state.publisherSearch;
  const page = await getJson<Page<UnmatchedPublisher>>(
    `/api/v1/publishers/unmatched?page=${state.page}&page_size=${PUBLISHERS_PER_PAGE}${q ? `&q=${encodeURIComponent(q)}` : ""}`,
  );
  const search = h("input", { id: "editeurs-recherche", type: "search", value: q, autocomplete: "off" });
  let typing: number | undefined;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = window.setTimeout(() => update({ publisherSearch: search.value.trim(), page: 1 }), 300);
  });
  const typingHere = document.activeElement?.id === search.id; // the view is drawn again: keep the typing hand
  const host = (url: string) => { try { return new URL(url).hostname; } catch { return url; } };
  const row = (p: UnmatchedPublisher) => h("tr", { class: "publisher", "data-portal": p.portal_url },
    h("th", { scope: "row" }, p.name),
    h("td", {}, host(p.portal_url)),
    h("td", { class: "num" }, number(p.sightings)),
    h("td", {}, p.candidates.length ? number(p.candidates.length) : "aucune"),
    h("td", {}, h("details", {}, h("summary", {}, "Rattacher"), publisherForm(p))));
  replace(target,
    h("h2", {}, "Éditeurs non rattachés"),
    h("p", {}, page.total > 1
      ? `${number(page.total)} éditeurs trouvés sur les portails ne sont rattachés à aucune organisation${q ? ` pour « ${q} »` : ""}. ` +
        "Si vous connaissez l'organisation derrière l'un d'eux, indiquez son SIREN."
      : page.total === 1
        ? "1 éditeur trouvé sur les portails n'est rattaché à aucune organisation. " +
          "Si vous connaissez l'organisation derrière lui, indiquez son SIREN."
        : q ? `Aucun éditeur non rattaché pour « ${q} ».` : "Tous les éditeurs trouvés sur les portails sont rattachés à une organisation."),
    h("p", {}, h("label", { for: search.id }, "Chercher un éditeur ou un portail "), search),
    page.data.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "publishers" },
          h("caption", {}, `Éditeurs, les plus vus d'abord, page ${page.page} sur ${Math.max(1, Math.ceil(page.total / page.page_size))}`),
          h("thead", {}, h("tr", {}, ...["Éditeur", "Portail", "Vu", "Organisations possibles", "Proposition"].map((x) => h("th", { scope: "col" }, x)))),
          h("tbody", {}, ...page.data.map(row))))
      : null,
    page.total > page.page_size ? pager(page, update) : null);
  if (typingHere) {
    search.focus();
    search.setSelectionRange(search.value.length, search.value.length);
  }
  target.dataset.state = "ready";
}
