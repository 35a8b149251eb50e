// The moderation queue: moderators paste their token (kept for this tab only), see each proposal
// beside the registry's current value, and accept or reject it with a comment.
import { h, replace } from "./dom";
import { ORGANISATION_FIELDS } from "./contribute";
import { number, plural } from "./format";

interface Queued {
  id: string;
  field: string;
  value: unknown;
  current_value: unknown;
  organization_id: string | null;
  organization_name: string | null;
  dataset_id: string | null;
  dataset_title: string | null;
  publisher: { portal_url: string; name: string } | null;
  comment: string | null;
  status: string;
  submitted_at: string;
  decided_by: string | null;
  decision_comment: string | null;
}

export const TOKEN_KEY = "observatoire-moderation-token"; // operators' tokens too: the operations page reads it
const STATUSES: Record<string, string> = { pending: "En attente", accepted: "Acceptées", rejected: "Rejetées", spam: "Indésirables" };
const FIELD_LABELS: Record<string, string> = {
  ...ORGANISATION_FIELDS,
  publisher: "Rattachement d'un éditeur (SIREN)",
  title: "Titre du jeu de données",
  description: "Description du jeu de données",
  licence: "Licence du jeu de données",
  organization_id: "Organisation du jeu de données",
};

function shown(value: unknown): string {
  if (value === null || value === undefined || value === "") return "(vide)";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

async function call(path: string, token: string, method = "GET", body?: unknown): Promise<unknown> {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json", "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new Error(answer?.error?.message ?? `erreur ${response.status}`);
  return answer;
}

export function renderModeration(target: HTMLElement): void {
  const token = h("input", { id: "moderation-token", type: "password", autocomplete: "off", value: sessionStorage.getItem(TOKEN_KEY) ?? "" });
  const status = h("select", { id: "moderation-status" },
    ...Object.entries(STATUSES).map(([value, label]) => h("option", { value }, label)));
  const queue = h("div", { id: "moderation-queue", "aria-live": "polite" });
  const form = h("form", { class: "moderation-login" },
    h("label", { for: token.id }, "Jeton de modération"), token,
    h("label", { for: status.id }, "Propositions"), status,
    h("button", { type: "submit" }, "Afficher"));
  const load = async () => {
    sessionStorage.setItem(TOKEN_KEY, token.value.trim());
    target.dataset.state = "loading";
    try {
      const page = (await call(`/api/v1/contributions?status=${status.value}&page_size=100`, token.value.trim())) as { data: Queued[]; total: number };
      replace(queue, h("p", {}, queueSummary(page.total, page.data.length)), ...page.data.map((p) => item(p, token.value.trim(), load)));
    } catch (error) {
      replace(queue, h("p", { role: "alert", class: "error" }, `Accès refusé : ${(error as Error).message}`));
    }
    target.dataset.state = "ready";
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void load();
  });
  status.addEventListener("change", () => void load());
  replace(target, h("h2", {}, "Modération des contributions"), form, queue);
  target.dataset.state = "ready";
  if (token.value) void load();
}

/** "3 propositions", or, past a page, which of them are shown (the oldest first, as the API sorts). */
function queueSummary(total: number, shownCount: number): string {
  const count = plural(total, "proposition", "propositions");
  return shownCount < total ? `${count} ; les ${number(shownCount)} plus anciennes ci-dessous.` : count;
}

function item(p: Queued, token: string, reload: () => Promise<void>): HTMLElement {
  const target = p.dataset_title ?? p.organization_name ?? p.organization_id ?? "";
  const comment = h("input", { id: `decision-${p.id}`, type: "text", maxlength: 2000 });
  const decide = async (decision: "accept" | "reject") => {
    try {
      await call(`/api/v1/contributions/${p.id}/${decision}`, token, "POST", { comment: comment.value.trim() || null });
      await reload();
    } catch (error) {
      replace(outcome, `Échec : ${(error as Error).message}`);
    }
  };
  const outcome = h("p", { role: "status" });
  const pending = p.status === "pending";
  const accept = h("button", { type: "button", class: "accept" }, "Accepter");
  const reject = h("button", { type: "button", class: "reject" }, "Rejeter");
  accept.addEventListener("click", () => void decide("accept"));
  reject.addEventListener("click", () => void decide("reject"));
  return h("article", { class: "proposal", "data-id": p.id },
    h("h3", {}, `${FIELD_LABELS[p.field] ?? p.field} — `,
      p.organization_id ? h("a", { href: `?vue=organisation&organisation=${encodeURIComponent(p.organization_id)}` }, target) : target),
    p.publisher ? h("p", {}, `Éditeur « ${p.publisher.name} » sur ${p.publisher.portal_url}`) : null,
    h("dl", { class: "figures" },
      h("dt", {}, "Valeur actuelle"), h("dd", { class: "current" }, shown(p.current_value)),
      h("dt", {}, "Valeur proposée"), h("dd", { class: "proposed" }, shown(p.value)),
      h("dt", {}, "Commentaire"), h("dd", {}, shown(p.comment)),
      h("dt", {}, "Reçue le"), h("dd", {}, new Date(p.submitted_at).toLocaleString("fr-FR")),
      !pending ? h("dt", {}, "Décision") : null,
      !pending ? h("dd", {}, `${STATUSES[p.status] ?? p.status} par ${p.decided_by ?? "?"}${p.decision_comment ? ` : ${p.decision_comment}` : ""}`) : null),
    pending ? h("div", { class: "decision" }, h("label", { for: comment.id }, "Commentaire de décision"), comment, accept, reject) : null,
    outcome);
}
