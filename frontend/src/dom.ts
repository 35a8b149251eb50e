// Elements built with text nodes only: no contributed or harvested text is ever parsed as HTML.

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

export function replace(target: Element, ...children: Child[]): void {
  target.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

/** A chart as one image with its title: Plot labels its inner groups (`aria-label` on `<g>`, which
 * ARIA forbids without a role), so those labels go and the figure's data table says the rest. */
export function asImage<T extends Element>(chart: T, title: string): T {
  for (const labelled of chart.querySelectorAll("[aria-label], [aria-description]")) {
    labelled.removeAttribute("aria-label");
    labelled.removeAttribute("aria-description");
  }
  chart.setAttribute("role", "img");
  chart.setAttribute("aria-label", title);
  return chart;
}
