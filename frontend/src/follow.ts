// A proposal followed by its reference: where it stands, in words (the API's JSON is for machines).
import { getJson } from "./api";
import { h, replace } from "./dom";
import { ORGANISATION_FIELDS } from "./contribute";

interface Proposal {
  id: string;
  field: string;
  value: unknown;
  organization_id: string | null;
  comment: string | null;
  status: "pending" | "accepted" | "rejected";
  submitted_at: string;
  decided_at: string | null;
  decision_comment: string | null;
}

const STATUSES: Record<Proposal["status"], string> = {
  pending: "En attente de relecture",
  accepted: "Acceptée : la correction est appliquée",
  rejected: "Non retenue par l'équipe",
};
const when = new Intl.DateTimeFormat("fr-FR", { dateStyle: "long", timeStyle: "short" });

function shown(value: unknown): string {
  if (value && typeof value === "object") return Object.values(value as Record<string, unknown>).map(String).join(" · ");
  return String(value ?? "—");
}

export async function renderFollow(target: HTMLElement, id: string): Promise<void> {
  const proposal = await getJson<Proposal>(`/api/v1/contributions/${encodeURIComponent(id)}`);
  const organisation = proposal.organization_id
    ? h("a", { href: `?vue=organisation&organisation=${encodeURIComponent(proposal.organization_id)}` }, "la fiche de l'organisation")
    : null;
  replace(target, h("article", { class: "organisation", id: "suivi" },
    h("h2", {}, "Suivi d'une proposition"),
    h("p", { class: `badge ${proposal.status === "accepted" ? "yes" : proposal.status === "rejected" ? "no" : "neutral"}`, id: "suivi-statut" },
      STATUSES[proposal.status] ?? proposal.status),
    h("dl", {},
      h("dt", {}, "Référence"), h("dd", {}, proposal.id),
      h("dt", {}, "Information"), h("dd", {}, ORGANISATION_FIELDS[proposal.field] ?? proposal.field),
      h("dt", {}, "Valeur proposée"), h("dd", {}, shown(proposal.value)),
      h("dt", {}, "Envoyée le"), h("dd", {}, when.format(new Date(proposal.submitted_at))),
      proposal.decided_at ? h("dt", {}, "Décidée le") : null,
      proposal.decided_at ? h("dd", {}, when.format(new Date(proposal.decided_at))) : null,
      proposal.decision_comment ? h("dt", {}, "Mot de l'équipe") : null,
      proposal.decision_comment ? h("dd", {}, proposal.decision_comment) : null),
    organisation ? h("p", {}, "Voir ", organisation, ".") : null));
}
