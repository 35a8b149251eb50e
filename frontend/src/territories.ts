// The régions and départements, asked once: the filters list them, the table and the home page name them.
import { getJson, type Organisation, type Page } from "./api";

export interface Territory {
  code: string;
  name: string;
  region: string | null;
}

let asked: Promise<{ regions: Territory[]; departements: Territory[] }> | null = null;

/** Régions and départements by code; the overseas collectivités (Polynésie française...) are both. */
export function territories(): Promise<{ regions: Territory[]; departements: Territory[] }> {
  asked ??= Promise.all([
    getJson<Page<Organisation>>("/api/v1/organizations?type=REG&page_size=200"),
    getJson<Page<Organisation>>("/api/v1/organizations?type=DEP&page_size=200&sort=name"),
    getJson<Page<Organisation>>("/api/v1/organizations?type=COLOM&page_size=200&sort=name"),
  ]).then(([regions, departements, overseas]) => ({
    regions: [...regions.data, ...overseas.data].map((o) => ({ code: o.region ?? "", name: o.name, region: o.region })),
    departements: [...departements.data, ...overseas.data]
      .map((o) => ({ code: o.departement ?? "", name: o.name, region: o.region }))
      .sort((a, b) => a.code.localeCompare(b.code)),
  }));
  return asked;
}

export async function departementNames(): Promise<Map<string, string>> {
  return new Map((await territories()).departements.map((d) => [d.code, d.name]));
}
