// French number formatting and labels.

const integer = new Intl.NumberFormat("fr-FR");
const percent = new Intl.NumberFormat("fr-FR", { style: "percent", maximumFractionDigits: 1 });

export const number = (value: number | null | undefined): string => (value == null ? "—" : integer.format(value));
export const share = (value: number | null | undefined): string => (value == null ? "—" : percent.format(value));

/** "0 jeu", "1 jeu", "2 jeux": French counts are singular up to 1. */
export function plural(n: number, one: string, many: string): string {
  return `${number(n)} ${n > 1 ? many : one}`;
}

const day = new Intl.DateTimeFormat("fr-FR", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

/** "2 déc. 2026" */
export const shortDate = (date: Date): string => day.format(date);

/** Plot's x axis over daily snapshots, in French: one tick per day when they are few (Plot's own
 *  ticks would fall every few hours, in English), else six on whole days. */
export function dailyAxis(dates: Date[]): { type: "utc"; label: null; ticks: Date[] | number; tickFormat: (date: Date) => string } {
  return { type: "utc", label: null, ticks: dates.length <= 8 ? dates : 6, tickFormat: (date) => day.format(date) };
}

export const TYPES: Record<string, string> = {
  REG: "Région",
  DEP: "Département",
  COLOM: "Collectivité d'outre-mer",
  MET: "Métropole",
  CU: "Communauté urbaine",
  CA: "Communauté d'agglomération",
  CC: "Communauté de communes",
  EPT: "Établissement public territorial",
  COM: "Commune",
  AGCT: "Agence",
  OACT: "Office",
  DSPT: "Délégataire",
};

export const BINS: Record<string, string> = {
  p_na: "Population inconnue",
  na: "Moins de 1 000 hab.",
  p_1_5: "1 000 à 5 000 hab.",
  p_5_10: "5 000 à 10 000 hab.",
  p_10_25: "10 000 à 25 000 hab.",
  p_25_50: "25 000 à 50 000 hab.",
  p_50_100: "50 000 à 100 000 hab.",
  p_100_250: "100 000 à 250 000 hab.",
  p_250_500: "250 000 à 500 000 hab.",
  p_500_1000: "500 000 à 1 million hab.",
  "p_1000_5000.001": "Plus d'un million hab.",
};

export const TECHNOLOGIES: Record<string, string> = {
  udata: "udata (data.gouv.fr)",
  ods: "OpenDataSoft",
  ckan: "CKAN",
  dcat: "Catalogue DCAT",
  arcgis: "ArcGIS Hub",
  csw: "Géocatalogue (CSW)",
};

/** The licence codes of shared/vocabulary.py, as the public knows them. */
export const LICENCES: Record<string, string> = {
  "licence-ouverte": "Licence Ouverte",
  odbl: "ODbL",
  "cc-by": "CC BY",
  "cc-by-sa": "CC BY-SA",
  cc0: "CC0",
  autre: "autre licence",
  "non-specifiee": "licence non précisée",
};

export const INDICATORS: Record<string, string> = {
  opening_rate: "Taux d'ouverture (collectivités obligées qui publient)",
  coverage_rate: "Population couverte",
  organizations_publishing: "Organisations qui publient",
  datasets: "Jeux de données",
  open_format_share: "Part en formats ouverts",
  open_licence_share: "Part sous licence ouverte",
  fresh_share: "Part mise à jour depuis un an",
  schema_share: "Part avec un schéma",
  platforms: "Plateformes utilisées par les organisations du territoire",
  organizations_on_shared_platforms: "Organisations publiant sur une plateforme partagée",
  communes_served_by_epci: "Communes dont l'intercommunalité publie des données",
  reuses: "Réutilisations",
  reused_share: "Part des jeux réutilisés",
  entered_since_edition: "Entrées depuis la dernière édition",
  left_since_edition: "Sorties depuis la dernière édition (disparues du radar)",
};

export function status(o: { publishes: boolean; obligated: boolean | null }): string {
  if (o.publishes) return "Publie";
  return o.obligated ? "Obligée, ne publie pas" : "Ne publie pas";
}
