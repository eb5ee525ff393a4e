/**
 * Small DOM builders. Everything the pages show is built with createElement and textContent, never innerHTML,
 * so ledger data can never become markup; and no element gets a style attribute or an inline handler, which the
 * portal's Content-Security-Policy would refuse anyway.
 */

export type Child = Node | string | number | null | undefined | false;
export type Attributes = Record<string, string | number | boolean | undefined>;

/** An element with attributes (true: present, false/undefined: absent) and children (strings become text). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) setAttribute(element, name, value);
  append(element, ...children);
  return element;
}

function setAttribute(element: Element, name: string, value: Attributes[string]): void {
  // Fail loudly in development rather than have the CSP silently drop the attribute in the browser.
  if (name === 'style' || name.toLowerCase().startsWith('on'))
    throw new Error(`attribute ${name} is not allowed: use a CSS class or addEventListener`);
  if (value === undefined || value === false) return;
  element.setAttribute(name, value === true ? '' : String(value));
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** The element with this id in the page's static shell (index.html); the app cannot run without it. */
export function shellElement(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no element #${id}`);
  return element;
}

/**
 * An id built from parts such as a bill id: stable across re-renders (so typed text can be kept when a ledger
 * event refreshes the page) and safe in a `for` attribute.
 */
export function idFor(...parts: string[]): string {
  return parts.join('-').replace(/[^A-Za-z0-9_-]/g, '_');
}

/** A table in a wrapper that scrolls sideways on narrow screens, so the page itself never does. */
export function dataTable(options: {
  caption: string;
  headers: string[];
  rows: HTMLTableRowElement[];
  testId?: string;
}): HTMLElement {
  const head = h(
    'thead',
    {},
    h('tr', {}, ...options.headers.map((header) => h('th', { scope: 'col' }, header))),
  );
  const table = h(
    'table',
    { 'data-testid': options.testId },
    h('caption', {}, options.caption),
    head,
    h('tbody', {}, ...options.rows),
  );
  // tabindex: keyboard users can scroll a wide table; the region's name says what it holds.
  return h(
    'div',
    { class: 'table-scroll', role: 'region', 'aria-label': options.caption, tabindex: 0 },
    table,
  );
}

export function tableRow(cells: Child[], attributes: Attributes = {}): HTMLTableRowElement {
  return h(
    'tr',
    attributes,
    ...cells.map((cell) => (cell instanceof HTMLTableCellElement ? cell : h('td', {}, cell))),
  );
}

/** A term/description list of facts, e.g. a bill's figures. */
export function facts(pairs: [string, Child, Attributes?][]): HTMLDListElement {
  const list = h('dl', { class: 'facts' });
  for (const [term, description, attributes] of pairs)
    append(list, h('div', {}, h('dt', {}, term), h('dd', attributes ?? {}, description)));
  return list;
}

/** A link to a route of the app. */
export function routeLink(route: string, text: string, attributes: Attributes = {}): HTMLAnchorElement {
  return h('a', { href: `#${route}`, ...attributes }, text);
}
