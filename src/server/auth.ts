import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { UserError } from '../util/errors.js';

/**
 * Who may connect (docs/architecture.md, "Reliability"): loopback needs nothing; any other address needs a token, which
 * every HTTP request and WebSocket must then carry; browsers' WebSockets must come from an
 * allowed origin.
 */

/** True for 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::ffff:127.0.0.1';
}

/** Refuses to expose the stream beyond this machine without a token. */
export function checkBindPolicy(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new UserError(
      `--host ${host} would let other machines see the stream: pass --token <secret> (or set BONESTREAM_TOKEN), or bind 127.0.0.1`,
    );
  }
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * A token check in constant time: both sides are hashed first, so neither the content
 * nor the length of the expected token leaks through timing.
 */
export function tokenMatcher(expected: string): (given: string | undefined) => boolean {
  const want = digest(expected);
  return (given) => given !== undefined && timingSafeEqual(digest(given), want);
}

/** The token a request carries: `Authorization: Bearer …`, else the `token` query parameter. */
export function requestToken(request: IncomingMessage, url: URL): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    return match ? match[1] : undefined;
  }
  return url.searchParams.get('token') ?? undefined;
}

/**
 * Browsers always send `Origin` on a WebSocket; it must be this server's own origin or one
 * in the allow-list. Clients that are not browsers send none and are let through (the token,
 * when set, still applies): the check exists to stop other web pages from riding on a
 * user's browser.
 */
export function originAllowed(origin: string | undefined, ownOrigin: string, allowList: readonly string[]): boolean {
  if (origin === undefined) return true;
  const normalized = origin.toLowerCase().replace(/\/$/, '');
  return normalized === ownOrigin.toLowerCase() || allowList.some((allowed) => allowed.toLowerCase() === normalized);
}

/**
 * Without a token the service trusts whoever can reach loopback, so it also checks that
 * requests name this machine: a web page that rebinds its own domain to 127.0.0.1 (DNS
 * rebinding) sends its domain as `Host` and is refused.
 */
export function hostHeaderAllowed(hostHeader: string | undefined, boundHost: string): boolean {
  if (!hostHeader) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${hostHeader}`).hostname;
  } catch {
    return false;
  }
  return isLoopback(hostname) || hostname === boundHost.toLowerCase();
}

export interface AccessPolicy {
  /** Required on every request when set. */
  token?: string;
  /** The address the server listens on. */
  host: string;
  scheme: 'http' | 'https';
  /** Origins besides the server's own whose pages may open the stream. */
  allowOrigins: readonly string[];
}

export interface Refusal {
  status: 401 | 403;
  reason: 'host' | 'token' | 'origin';
}

/** Decides whether a request (or, with `upgrade`, a WebSocket upgrade) gets in; undefined admits it. */
export type Gate = (request: IncomingMessage, url: URL, upgrade: boolean) => Refusal | undefined;

/**
 * One place that decides who gets in, for HTTP requests and WebSocket upgrades alike.
 * The Origin check applies to upgrades: plain GETs from other pages cannot read the answers.
 */
export function accessGate(policy: AccessPolicy): Gate {
  const tokenOk = policy.token ? tokenMatcher(policy.token) : () => true;
  return (request, url, upgrade) => {
    if (!policy.token && !hostHeaderAllowed(request.headers.host, policy.host)) return { status: 403, reason: 'host' };
    if (!tokenOk(requestToken(request, url))) return { status: 401, reason: 'token' };
    const own = `${policy.scheme}://${request.headers.host ?? ''}`;
    if (upgrade && !originAllowed(request.headers.origin, own, policy.allowOrigins)) return { status: 403, reason: 'origin' };
    return undefined;
  };
}

/** Validates `--allow-origin a,b`: each entry an http(s) origin, without path. */
export function parseOrigins(raw: string): string[] {
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((origin) => {
      const url = URL.canParse(origin) ? new URL(origin) : undefined;
      if (!url || !/^https?:$/.test(url.protocol) || url.pathname !== '/' || origin.replace(/\/$/, '') !== url.origin) {
        throw new UserError(`--allow-origin: ${origin} is not an origin such as https://display.example:8443`);
      }
      return url.origin;
    });
}
