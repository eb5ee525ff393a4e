/**
 * The portal's JSON API over fetch: same origin, the HttpOnly session cookie sent by the browser, and the CSRF
 * token of the session on every POST. A refusal becomes an ApiFailure carrying the server's ApiError, so the
 * pages show its stable code instead of parsing message text.
 */
import type { ApiError } from '../src/api';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly apiError: ApiError,
  ) {
    super(`${apiError.code}: ${apiError.message}`);
    this.name = 'ApiFailure';
  }

  get code(): string {
    return this.apiError.code;
  }
}

/** Kept in memory only: the page is the session's only holder of it (never in browser storage). */
let csrfToken: string | undefined;

export function useCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export type Query = Record<string, string | number | undefined>;

export async function getJson<T>(path: string, query: Query = {}): Promise<T> {
  const response = await send(withQuery(path, query), { method: 'GET' });
  return (await readBody(response)) as T;
}

export async function postJson<T>(path: string, body: unknown = {}): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  const response = await send(path, { method: 'POST', headers, body: JSON.stringify(body) });
  return (await readBody(response)) as T;
}

/** A path segment from data (ids may hold characters that mean something in a URL). */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

function withQuery(path: string, query: Query): string {
  const parameters = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') parameters.set(name, String(value));
  const search = parameters.toString();
  return search === '' ? path : `${path}?${search}`;
}

async function send(path: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiFailure(0, {
      code: 'UNREACHABLE',
      message: 'cannot reach the portal server; is meterctl serve still running?',
    });
  }
  if (!response.ok) throw new ApiFailure(response.status, await errorOf(response));
  return response;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

async function errorOf(response: Response): Promise<ApiError> {
  const fallback: ApiError = {
    code: `HTTP_${response.status}`,
    message: response.statusText || 'request failed',
  };
  try {
    const body = (await response.json()) as unknown;
    return isErrorBody(body) ? body.error : fallback;
  } catch {
    return fallback;
  }
}

function isErrorBody(value: unknown): value is { error: ApiError } {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error: unknown = value.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    'message' in error &&
    typeof error.message === 'string'
  );
}

/** Whether an error is the API's refusal with this code (e.g. NOT_FOUND for a subscription without a wallet). */
export function isFailureWithCode(error: unknown, code: string): error is ApiFailure {
  return error instanceof ApiFailure && error.code === code;
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A request whose failure the page shows in place (e.g. a bill's verification) rather than failing the page. */
export async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}
