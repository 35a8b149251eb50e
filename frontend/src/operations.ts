// The operators' page: each source's last harvest, the consumers' lag, the dead letters waiting.
import { getJson } from "./api";
import { TOKEN_KEY } from "./moderation";
import { h, replace } from "./dom";
import { number, plural } from "./format";

interface Status {
  messages_shown: boolean; // raw run messages: with an operator's token only
  sources: Source[];
  lag: { group: string; topic: string; lag: number }[];
  dead_letters: { topic: string; messages: number }[];
}

interface Source {
  id: string; name: string; family: string; status: string | null; items_seen: number | null; errors: number | null;
  finished_at: string | null; message: string | null; next_run_at: string | null; enabled: boolean; removed_at: string | null;
}

const RUN_STATUS: Record<string, string> = {
  done: "terminée", "done-errors": "terminée avec erreurs", partial: "partielle", failed: "échouée",
  queued: "en attente", running: "en cours",
};

function table(caption: string, headers: string[], rows: (string | number | HTMLElement)[][], id: string): HTMLTableElement {
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

/** Whether the source is harvested: active, paused, or removed (its records withdrawn after the grace). */
function activity(s: Source): string {
  if (s.removed_at) return `supprimée le ${new Date(s.removed_at).toLocaleDateString("fr-FR")}`;
  return s.enabled ? "active" : "en pause";
}

/** An operator's buttons for a source: pause or resume, remove (after a confirmation). */
function actions(s: Source, token: string, redraw: (notice: string) => void): HTMLElement {
  const act = async (label: string, method: string, path: string) => {
    const response = await fetch(`/api/v1/sources/${encodeURIComponent(s.id)}${path}`,
      { method, headers: { Accept: "application/json", Authorization: `Bearer ${token}` } });
    const body = await response.json().catch(() => null);
    redraw(response.ok ? `${s.name} : ${label}.` : `${s.name} : refusé — ${body?.error?.message ?? response.statusText}`);
  };
  const button = (label: string, done: string, method: string, path: string, ask?: string) => {
    const element = h("button", { type: "button", "data-action": path.replace("/", "") || "remove" }, label);
    element.addEventListener("click", () => { if (!ask || window.confirm(ask)) void act(done, method, path); });
    return element;
  };
  return h("span", { class: "actions" },
    s.enabled && !s.removed_at ? button("Mettre en pause", "mise en pause", "POST", "/pause") : button("Reprendre", "reprise", "POST", "/resume"),
    s.removed_at ? null : button("Supprimer", "supprimée ; ses jeux seront retirés après le délai de grâce", "DELETE", "",
      `Supprimer la source « ${s.name} » ? Elle ne sera plus moissonnée et ses jeux seront retirés après le délai de grâce, sauf ceux qu'une autre source liste.`));
}

export async function renderOperations(target: HTMLElement, notice = ""): Promise<void> {
  const status = await fetchStatus();
  const token = status.messages_shown ? sessionStorage.getItem(TOKEN_KEY) : null;
  const waiting = status.dead_letters.reduce((sum, d) => sum + d.messages, 0);
  const redraw = (text: string) => void renderOperations(target, text);
  const headers = ["Source", "Famille", "Activité", "Statut", "Jeux vus", "Erreurs", "Fin", "Message", "Prochaine", ...(token ? ["Actions"] : [])];
  replace(target,
    h("h2", {}, "Exploitation"),
    h("p", {}, `${plural(status.sources.length, "source", "sources")} · ${plural(waiting, "message", "messages")} mis de côté (illisibles ou refusés, à rejouer) · ` +
      `retard total ${plural(status.lag.reduce((sum, g) => sum + g.lag, 0), "message", "messages")}`),
    h("p", { id: "operations-notice", role: "status" }, notice),
    table("Sources et dernière moisson", headers,
      status.sources.map((s) => [s.name, s.family, activity(s), s.status ? RUN_STATUS[s.status] ?? s.status : "jamais moissonnée",
        s.items_seen ?? 0, s.errors ?? 0, s.finished_at ? new Date(s.finished_at).toLocaleString("fr-FR") : "", s.message ?? "",
        s.next_run_at ? new Date(s.next_run_at).toLocaleString("fr-FR") : "manuelle",
        ...(token ? [actions(s, token, redraw)] : [])]),
      "operations-sources"),
    status.messages_shown ? null
      : h("p", { class: "meta", id: "operations-messages" }, "Les messages des moissons et les actions sur les sources sont réservés aux jetons d'exploitation (à coller sur la page de modération)."),
    table("Retard des consommateurs", ["Groupe", "Topic", "Messages en attente"],
      status.lag.map((g) => [g.group, g.topic, g.lag]), "operations-lag"),
    table("Messages mis de côté (file des rejets)", ["Flux", "Messages"], status.dead_letters.map((d) => [d.topic, d.messages]), "operations-dlq"));
}
