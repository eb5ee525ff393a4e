import type { FastifyReply } from 'fastify';

/** The pages' policy: only this server's own scripts, styles and API; no inline code, no framing. */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The bill report is a self-contained document with its own styles and inline SVG charts: its styles may be
 * inline, nothing may run (sandbox without scripts) or be fetched.
 */
export const BILL_REPORT_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "frame-ancestors 'none'",
  'sandbox',
].join('; ');

/** Sent with every answer (a route may tighten the CSP); HSTS only over TLS. */
export function securityHeaders(reply: FastifyReply, tls: boolean): void {
  if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', PAGE_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-resource-policy', 'same-origin');
  reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  if (tls) reply.header('strict-transport-security', 'max-age=31536000');
}
