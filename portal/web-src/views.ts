/**
 * What a party's pages give the router (routes) and get from it (a ViewContext), and the page furniture they
 * share: a page with its heading, sections, notes.
 */
import type { LedgerEvent, SessionInfo } from '../src/api';
import { h, type Child } from './dom.js';

export interface ViewContext {
  readonly session: SessionInfo;
  /** What follows the route's path, e.g. the bill id of #/bills/<id>; undefined when nothing does. */
  readonly param: string | undefined;
  /** Renders the current view again with fresh data (after a change this page made). */
  refresh(): void;
  /** A short notice in the status region, read out by screen readers. */
  announce(message: string): void;
  /** Builds the navigation again (a route's visibility changed, e.g. a wallet was found). */
  updateNav(): void;
}

export interface Route {
  /** "/bills": matched against the part of the hash after "#". */
  path: string;
  /** Its name in the navigation and the document title. */
  label: string;
  /** Whether "#<path>/<param>" belongs to this route too (#/bills/<billId>). */
  takesParam?: boolean;
  /** Whether the navigation lists it now (default: always). */
  visible?: () => boolean;
  render(ctx: ViewContext): Promise<Node>;
}

/** A page: its heading is focusable so that the router can move focus to it after navigation. */
export function page(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'page' }, h('h1', { tabindex: -1 }, title), ...children);
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...children);
}

export function note(text: string, testId?: string): HTMLElement {
  return h('p', { class: 'note', 'data-testid': testId }, text);
}

/** After a change a page made: say what happened, and show the page again with the new state. */
export function afterChange(ctx: ViewContext): (notice: string) => void {
  return (notice) => {
    ctx.announce(notice);
    ctx.refresh();
  };
}

/** A status shown as a badge: its class follows the value so colour is never the only cue (the text is there). */
export function statusBadge(status: string, testId?: string): HTMLElement {
  return h('span', { class: `badge status-${status.toLowerCase()}`, 'data-testid': testId }, status);
}

/** One party's pages: its routes, where it lands after sign-in, and what it does when the ledger changes. */
export interface PartyPages {
  routes: Route[];
  landing: string;
  /** Called before the current view is rendered again for a ledger event. */
  onLedgerEvent?: (event: LedgerEvent) => void;
}
