// The operators' page: each source's last harvest, the consumers' lag, the dead letters waiting.
import { getJson } from "./api";
import { TOKEN_KEY } from "./moderation";
import { h, replace } from "./dom";
import { number, plural } from "./format";

interface Status {
  messages_shown: boolean; // raw run messages: with an operator's token only
  sources: { id: string; name: string; family: string; status: string | null; items_seen: number | null;
    errors: number | null; finished_at: string | null; message: string | null; next_run_at: string | null }[];
  lag: { group: string; topic: string; lag: number }[];
  dead_letters: { topic: string; messages: number }[];
}

const RUN_STATUS: Record<string, string> = {
  done: "terminée", "done-errors": "terminée avec erreurs", partial: "partielle", failed: "échouée",
  queued: "en attente", running: "en cours",
};

function table(caption: string, headers: string[], rows: (string | number)[][], id: string): HTMLTableElement {
  return h("table", { class: "operations", id },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, ...headers.map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((cell) => h("td", {}, typeof cell === "number" ? number(cell) : cell))))));
}

/** The status, with the operator's token this tab holds (pasted on the moderation page), if any. */
async function fetchStatus(): Promise<Status> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return getJson<Status>("/api/v1/operations/status");
  const response = await fetch("/api/v1/operations/status", { headers: { Accept: "application/json", Authorization: `Bearer ${token}` } });
  // A moderator's token is not an operator's: the public status then.
  return response.ok ? ((await response.json()) as Status) : getJson<Status>("/api/v1/operations/status");
}

export async function renderOperations(target: HTMLElement): Promise<void> {
  const status = await fetchStatus();
  const waiting = status.dead_letters.reduce((sum, d) => sum + d.messages, 0);
  replace(target,
    h("h2", {}, "Exploitation"),
    h("p", {}, `${plural(status.sources.length, "source", "sources")} · ${plural(waiting, "message", "messages")} mis de côté (illisibles ou refusés, à rejouer) · ` +
      `retard total ${plural(status.lag.reduce((sum, g) => sum + g.lag, 0), "message", "messages")}`),
    table("Sources et dernière moisson", ["Source", "Famille", "Statut", "Jeux vus", "Erreurs", "Fin", "Message", "Prochaine"],
      status.sources.map((s) => [s.name, s.family, s.status ? RUN_STATUS[s.status] ?? s.status : "jamais moissonnée",
        s.items_seen ?? 0, s.errors ?? 0, s.finished_at ? new Date(s.finished_at).toLocaleString("fr-FR") : "", s.message ?? "",
        s.next_run_at ? new Date(s.next_run_at).toLocaleString("fr-FR") : "manuelle"]),
      "operations-sources"),
    status.messages_shown ? null
      : h("p", { class: "meta", id: "operations-messages" }, "Les messages des moissons sont réservés aux jetons d'exploitation (à coller sur la page de modération)."),
    table("Retard des consommateurs", ["Groupe", "Topic", "Messages en attente"],
      status.lag.map((g) => [g.group, g.topic, g.lag]), "operations-lag"),
    table("Messages mis de côté (file des rejets)", ["Flux", "Messages"], status.dead_letters.map((d) => [d.topic, d.messages]), "operations-dlq"));
}
