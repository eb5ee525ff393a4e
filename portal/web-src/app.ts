/**
 * The portal's single page: signs in with the launch token from the address's fragment, loads the session,
 * routes #/... to the party's pages, and re-renders the current page whenever the ledger changes (server-sent
 * events on /api/events).
 *
 * Nothing is kept in browser storage: the session cookie is HttpOnly, and the CSRF token lives in memory only.
 */
import type { LedgerEvent, Party, SessionInfo } from '../src/api';
import { authorityPages } from './authority.js';
import { disposeDetachedCharts } from './charts.js';
import { distributorPages } from './distributor.js';
import { h, routeLink, shellElement } from './dom.js';
import { errorAlert } from './forms.js';
import { householdPages } from './household.js';
import { ApiFailure, getJson, postJson, useCsrfToken } from './http.js';
import { page, type PartyPages, type Route, type ViewContext } from './views.js';

const APP_NAME = 'Smart meter portal';
const TOKEN_FRAGMENT = '#token=';
const NOTICE_MILLISECONDS = 8000;
/** Events come in bursts (a batch of readings, a bill and its event): one refresh for the burst. */
const EVENT_REFRESH_DELAY_MILLISECONDS = 300;

interface Shell {
  whoami: HTMLElement;
  nav: HTMLElement;
  main: HTMLElement;
  status: HTMLElement;
  logout: HTMLFormElement;
}

function findShell(): Shell {
  const logout = shellElement('logout-form');
  if (!(logout instanceof HTMLFormElement)) throw new Error('#logout-form is not a form');
  return {
    whoami: shellElement('whoami'),
    nav: shellElement('nav-list'),
    main: shellElement('main'),
    status: shellElement('status'),
    logout,
  };
}

function pagesOf(party: Party): PartyPages {
  switch (party) {
    case 'household':
      return householdPages;
    case 'distributor':
      return distributorPages;
    case 'authority':
      return authorityPages;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Signing in

async function boot(): Promise<void> {
  const shell = findShell();
  try {
    const loginError = await signInFromFragment();
    const session = await currentSession();
    if (session) new PortalApp(shell, session).start();
    else showLoginNeeded(shell, loginError);
  } catch (error) {
    shell.main.replaceChildren(page(APP_NAME, errorAlert(error)));
  }
}

/** Posts the launch token of a #token=... address; what went wrong, if anything, to show with the sign-in hint. */
async function signInFromFragment(): Promise<unknown> {
  if (!location.hash.startsWith(TOKEN_FRAGMENT)) return undefined;
  const token = decodeURIComponent(location.hash.slice(TOKEN_FRAGMENT.length));
  try {
    await postJson<SessionInfo>('/api/login', { token });
    return undefined;
  } catch (error) {
    return error;
  } finally {
    // The token must not stay in the address bar, the history or a bookmark, whether or not it worked.
    history.replaceState(null, '', '/');
  }
}

async function currentSession(): Promise<SessionInfo | undefined> {
  try {
    return await getJson<SessionInfo>('/api/session');
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) return undefined;
    throw error;
  }
}

function showLoginNeeded(shell: Shell, reason: unknown, lead?: string): void {
  useCsrfToken(undefined);
  shell.whoami.replaceChildren();
  shell.nav.replaceChildren();
  shell.logout.hidden = true;
  document.title = `Sign in — ${APP_NAME}`;
  shell.main.replaceChildren(
    page(
      'Sign in',
      lead === undefined ? null : h('p', {}, lead),
      h(
        'p',
        { 'data-testid': 'login-needed' },
        'To sign in, open the address that meterctl serve printed (it carries this launch’s access token).',
      ),
      reason === undefined ? null : errorAlert(reason),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The signed-in app

type RenderMode = 'navigate' | 'refresh' | 'event';

class PortalApp {
  private readonly pages: PartyPages;
  /** The route path shown ("/bills/abc"); kept because not every hash is a route (the skip link's #main). */
  private currentPath = '';
  /** Only the newest render may replace the page: an older one that finishes later is dropped. */
  private generation = 0;
  private events: EventSource | undefined;
  private refreshTimer: number | undefined;
  private noticeTimer: number | undefined;
  private readonly onHashChange = (): void => {
    if (!location.hash.startsWith('#/')) return;
    this.currentPath = location.hash.slice(1);
    void this.render('navigate');
  };

  constructor(
    private readonly shell: Shell,
    private readonly session: SessionInfo,
  ) {
    this.pages = pagesOf(session.party);
  }

  start(): void {
    useCsrfToken(this.session.csrfToken);
    this.showIdentity();
    this.shell.logout.hidden = false;
    this.shell.logout.addEventListener('submit', this.onLogout);
    window.addEventListener('hashchange', this.onHashChange);
    if (!location.hash.startsWith('#/')) history.replaceState(null, '', `#${this.pages.landing}`);
    this.currentPath = location.hash.slice(1);
    this.buildNav();
    this.connectEvents();
    void this.render('navigate');
  }

  private showIdentity(): void {
    const { identity, party, org, mspId, channel } = this.session;
    this.shell.whoami.replaceChildren(
      h('span', { class: 'identity' }, identity),
      ` · ${party} · ${org} (${mspId}) · channel ${channel}`,
    );
  }

  private context(param: string | undefined): ViewContext {
    return {
      session: this.session,
      param,
      refresh: () => void this.render('refresh'),
      announce: (message) => {
        this.announce(message);
      },
      updateNav: () => {
        this.buildNav();
      },
    };
  }

  // -- routing

  private resolve(): { route: Route; param: string | undefined } | undefined {
    const hasHome = this.pages.routes.some((route) => route.path === '/');
    const path = this.currentPath === '/' && !hasHome ? this.pages.landing : this.currentPath;
    for (const route of this.pages.routes) {
      if (route.path === path) return { route, param: undefined };
      const prefix = `${route.path}/`;
      if (route.takesParam && path.startsWith(prefix) && path.length > prefix.length)
        return { route, param: decodeParam(path.slice(prefix.length)) };
    }
    return undefined;
  }

  private async render(mode: RenderMode): Promise<void> {
    const generation = ++this.generation;
    const target = this.resolve();
    this.markCurrentNav(target?.route);
    this.shell.main.setAttribute('aria-busy', 'true');
    const view = target ? await this.viewOf(target.route, target.param) : this.notFound();
    if (generation !== this.generation || view === undefined) return;
    const kept = mode === 'navigate' ? undefined : keepState(this.shell.main);
    if (kept) restoreState(view, kept);
    this.shell.main.replaceChildren(view);
    this.shell.main.removeAttribute('aria-busy');
    disposeDetachedCharts();
    if (kept) restoreFocus(this.shell.main, kept);
    if (mode === 'navigate') {
      document.title = `${target?.route.label ?? 'Not found'} — ${APP_NAME}`;
      focusHeading(this.shell.main);
    }
  }

  /** The route's page, its refusal shown in place, or undefined when the session has ended. */
  private async viewOf(route: Route, param: string | undefined): Promise<Node | undefined> {
    try {
      return await route.render(this.context(param));
    } catch (error) {
      if (error instanceof ApiFailure && error.status === 401) {
        this.stop();
        showLoginNeeded(this.shell, undefined, 'Your session has ended.');
        return undefined;
      }
      return page(route.label, errorAlert(error));
    }
  }

  private notFound(): Node {
    return page(
      'Page not found',
      h('p', {}, `There is no page at #${this.currentPath}.`),
      h('p', {}, routeLink(this.pages.landing, 'Go to the start page')),
    );
  }

  // -- navigation

  private buildNav(): void {
    const shown = this.pages.routes.filter((route) => route.visible?.() ?? true);
    this.shell.nav.replaceChildren(
      ...shown.map((route) =>
        h('li', {}, h('a', { href: `#${route.path}`, 'data-route': route.path }, route.label)),
      ),
    );
    this.markCurrentNav(this.resolve()?.route);
  }

  private markCurrentNav(route: Route | undefined): void {
    for (const link of this.shell.nav.querySelectorAll('a')) {
      if (route !== undefined && link.dataset.route === route.path) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }

  // -- notices and live updates

  private announce(message: string): void {
    this.shell.status.textContent = message;
    window.clearTimeout(this.noticeTimer);
    this.noticeTimer = window.setTimeout(() => {
      this.shell.status.textContent = '';
    }, NOTICE_MILLISECONDS);
  }

  private connectEvents(): void {
    const source = new EventSource('/api/events');
    source.addEventListener('ledger', (event: MessageEvent) => {
      const data: unknown = event.data;
      this.onLedgerEvent(parseLedgerEvent(data));
    });
    source.addEventListener('error', () => {
      // The browser reconnects by itself unless the server refused the stream (e.g. the session ended).
      if (source.readyState === EventSource.CLOSED)
        this.announce('Live updates stopped: reload the page to resume.');
    });
    this.events = source;
  }

  private onLedgerEvent(event: LedgerEvent | undefined): void {
    if (!event) return;
    this.pages.onLedgerEvent?.(event);
    this.announce(`New on the ledger: ${event.name}`);
    this.scheduleEventRefresh();
  }

  private scheduleEventRefresh(): void {
    window.clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => {
      // A form still waiting for the ledger would lose its answer with the page: refresh after it.
      if (this.shell.main.querySelector('form[aria-busy="true"]')) this.scheduleEventRefresh();
      else void this.render('event');
    }, EVENT_REFRESH_DELAY_MILLISECONDS);
  }

  // -- signing out

  private readonly onLogout = (event: SubmitEvent): void => {
    event.preventDefault();
    void this.logout();
  };

  private async logout(): Promise<void> {
    this.stop();
    let failure: unknown;
    try {
      await postJson('/api/logout');
    } catch (error) {
      failure = error;
    }
    showLoginNeeded(this.shell, failure, failure === undefined ? 'You have signed out.' : undefined);
  }

  /** No more events, refreshes or route changes for this session. */
  private stop(): void {
    this.events?.close();
    this.events = undefined;
    this.generation++;
    window.clearTimeout(this.refreshTimer);
    window.removeEventListener('hashchange', this.onHashChange);
    this.shell.logout.removeEventListener('submit', this.onLogout);
  }
}

/** Ids in routes are percent-encoded (routeLink callers encode them); a malformed one is taken as it is. */
function decodeParam(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function parseLedgerEvent(data: unknown): LedgerEvent | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && typeof parsed.name === 'string')
      return parsed as LedgerEvent;
  } catch {
    // A malformed event is not worth a refresh.
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Keeping what the user typed and was told when a page is rendered again

type Control = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

interface KeptState {
  /** Values the user changed and has not sent, by control id. */
  values: Map<string, string>;
  /** What [data-keep] elements show (a form's refusal, a key grant check), by id. */
  contents: Map<string, Node[]>;
  focusedId: string | undefined;
  focusWasInside: boolean;
}

function keepState(root: HTMLElement): KeptState {
  const values = new Map<string, string>();
  for (const control of root.querySelectorAll<Control>('input[id], textarea[id], select[id]'))
    if (isEdited(control)) values.set(control.id, control.value);
  const contents = new Map<string, Node[]>();
  for (const element of root.querySelectorAll('[data-keep][id]'))
    if (element.hasChildNodes()) contents.set(element.id, [...element.childNodes]);
  const active = document.activeElement;
  const focusWasInside = active instanceof HTMLElement && root.contains(active);
  return {
    values,
    contents,
    focusedId: focusWasInside && active.id !== '' ? active.id : undefined,
    focusWasInside,
  };
}

/** Controls hold their defaults in the value attribute, the textarea's text and the selected option (forms.ts). */
function isEdited(control: Control): boolean {
  if (control instanceof HTMLSelectElement) {
    const chosen = control.selectedOptions.item(0);
    return chosen === null || !chosen.defaultSelected;
  }
  return control.value !== control.defaultValue;
}

/** Into the new view before it is shown, so nothing flickers and no alert is announced twice. */
function restoreState(view: Node, kept: KeptState): void {
  if (!(view instanceof Element || view instanceof DocumentFragment)) return;
  const byId = (id: string) => view.querySelector(`#${CSS.escape(id)}`);
  for (const [id, value] of kept.values) {
    const control = byId(id);
    if (isControl(control)) control.value = value;
  }
  for (const [id, nodes] of kept.contents) byId(id)?.replaceChildren(...nodes);
}

function restoreFocus(root: HTMLElement, kept: KeptState): void {
  if (!kept.focusWasInside) return;
  const focused = kept.focusedId === undefined ? null : document.getElementById(kept.focusedId);
  if (focused && root.contains(focused)) focused.focus();
  else focusHeading(root);
}

function isControl(element: Element | null): element is Control {
  return (
    element instanceof HTMLInputElement ||
    element instanceof HTMLTextAreaElement ||
    element instanceof HTMLSelectElement
  );
}

function focusHeading(root: HTMLElement): void {
  const heading = root.querySelector('h1');
  if (heading) heading.focus();
}

// A launch address opened in this tab changes only the fragment: start afresh to sign in with its token.
window.addEventListener('hashchange', () => {
  if (location.hash.startsWith(TOKEN_FRAGMENT)) location.reload();
});
void boot();
