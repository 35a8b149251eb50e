// The public API, same origin.

export interface Page<T> {
  data: T[];
  page: number;
  page_size: number;
  total: number;
  total_exact: boolean; // false: the database's estimate of a large selection
  next_page: string | null;
}

export interface Organisation {
  id: string;
  siren: string | null;
  name: string;
  type: string | null;
  insee_code: string | null;
  departement: string | null;
  region: string | null;
  population: number | null;
  obligated: boolean | null;
  datasets: number;
  publishes: boolean;
}

export type Values = Record<string, number | null>;

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let message = `${response.status}`;
    try {
      message = (await response.json()).error.message;
    } catch {
      // not JSON: keep the status
    }
    throw new Error(message);
  }
  return (await response.json()) as T;
}
