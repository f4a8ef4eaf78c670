// What stands between the page and anything else on the machine or the network:
// - a random token in the printed URL, required on every request; the first visit turns it into
//   an HttpOnly, SameSite=Strict cookie and drops it from the address bar;
// - the Host header must name the address the server listens on (localhost, an IP literal, or
//   the --host given), which defeats DNS rebinding: a page on evil.example that re-points its
//   name at 127.0.0.1 still sends `Host: evil.example`;
// - only GET and HEAD: nothing in the API changes anything;
// - headers that keep the page out of frames, its token out of Referer and scripts to its own.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function cookieName(port: number): string {
  // Cookies are not kept apart by port: two UIs on one machine get a name each.
  return `pipeline_ui_${port}`;
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The Host header values the server answers: its own names with its port. */
export function hostAllowed(hostHeader: string | undefined, bindHost: string, port: number): boolean {
  if (!hostHeader) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.trim().toLowerCase());
  if (!m) return false;
  const name = m[1]!.replace(/^\[|\]$/g, '');
  const p = m[2] === undefined ? 80 : Number(m[2]);
  if (p !== port) return false;
  if (name === 'localhost' || name === bindHost.toLowerCase()) return true;
  // An IP literal cannot be a rebound name; on 0.0.0.0 / :: the machine's addresses are reached by IP.
  if (isIP(name) !== 0) return name === '127.0.0.1' || name === '::1' || bindHost === '0.0.0.0' || bindHost === '::' || name === bindHost;
  return false;
}

/** A warning for a bind address other than loopback, or undefined. */
export function exposureWarning(host: string): string | undefined {
  if (host === '127.0.0.1' || host === 'localhost' || host === '::1') return undefined;
  return (
    `warning: --host ${host} serves this workspace's runs, params and artifacts beyond this machine ` +
    '(to anyone who can reach the port and has the token); use the default 127.0.0.1 with an SSH tunnel instead where you can'
  );
}

export interface Guard {
  token: string;
  host: string;
  /** The port, once the server listens (port 0 picks one). */
  port: () => number;
}

export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cross-Origin-Resource-Policy', 'same-origin');
    c.header('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  };
}

export function guard(g: Guard): MiddlewareHandler {
  return async (c, next) => {
    const api = c.req.path.startsWith('/api/');
    const deny = (status: 401 | 403 | 405, message: string) =>
      api || c.req.header('accept')?.includes('text/html') !== true
        ? c.json({ error: message }, status)
        : c.html(`<!doctype html><meta charset="utf-8"><title>pipeline ui</title><p>${message}</p>`, status);
    if (!hostAllowed(c.req.header('host'), g.host, g.port())) {
      return deny(403, `forbidden: Host '${c.req.header('host') ?? ''}' is not this server (open the URL \`pipeline ui\` printed)`);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      c.header('Allow', 'GET, HEAD');
      return deny(405, `${c.req.method} is not allowed: the UI only reads the workspace`);
    }
    const name = cookieName(g.port());
    const fromQuery = c.req.query('token');
    const auth = c.req.header('authorization');
    const fromHeader = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (sameToken(fromQuery, g.token) && !api) {
      // First visit: keep the token in a cookie, take it out of the address bar (and history).
      setCookie(c, name, g.token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}${url.hash}`, 302);
    }
    if (!(sameToken(getCookie(c, name), g.token) || sameToken(fromHeader, g.token) || sameToken(fromQuery, g.token))) {
      return deny(
        401,
        fromQuery !== undefined || fromHeader !== undefined
          ? 'wrong token: open the URL `pipeline ui` printed (a new token each time it starts)'
          : 'a token is needed: open the URL `pipeline ui` printed (it ends with ?token=...)',
      );
    }
    await next();
  };
}
