import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { IncomingMessage } from 'node:http';
import { UserError } from '../util/errors.js';

/**
 * Who may connect (docs/architecture.md, "Reliability"): loopback needs nothing; any other
 * address needs a token, which every HTTP request and WebSocket must then carry; browsers'
 * WebSockets must come from an allowed origin.
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
export function originAllowed(origin: string | undefined, ownOrigins: readonly string[], allowList: readonly string[]): boolean {
  if (origin === undefined) return true;
  const normalized = origin.toLowerCase().replace(/\/$/, '');
  return [...ownOrigins, ...allowList].some((allowed) => allowed.toLowerCase() === normalized);
}

/**
 * The origins of this server's own page: the names it was bound to, with its port, never the
 * request's own `Host` (a page on evil.example that sends `Host: evil.example` must not pass
 * as same-origin). Bound to loopback, the loopback names; bound to every interface, the
 * machine's name and addresses.
 */
export function ownOrigins(scheme: 'http' | 'https', boundHost: string, port: number): string[] {
  const bare = boundHost.replace(/^\[|\]$/g, '');
  const names = isLoopback(bare) ? [bare, 'localhost', '127.0.0.1', '::1'] : bare === '0.0.0.0' || bare === '::' ? machineNames() : [bare];
  // URL drops the scheme's default port, as browsers do in Origin.
  return [...new Set(names.map((name) => new URL(`${scheme}://${isIP(name) === 6 ? `[${name}]` : name}:${port}`).origin))];
}

function machineNames(): string[] {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address));
  return [hostname(), 'localhost', ...addresses];
}

/**
 * A Host header as browsers send it: a DNS name, an IPv4 address or a bracketed IPv6 one,
 * then an optional port. Anything else (`evil.example@127.0.0.1`, `127.0.0.1/x`,
 * `127.0.0.1#x`, spaces) is no Host a browser sends, and URL parsing would read some of them
 * as this machine: they are refused.
 */
export function parseHostHeader(value: string): string | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?))(?::(\d{1,5}))?$/i.exec(value);
  if (!match) return undefined;
  if (match[3] !== undefined && Number(match[3]) > 65535) return undefined;
  if (match[1] !== undefined) return isIP(match[1]) === 6 ? match[1].toLowerCase() : undefined;
  return match[2].toLowerCase();
}

/**
 * Without a token the service trusts whoever can reach loopback, so it also checks that
 * requests name this machine: a web page that rebinds its own domain to 127.0.0.1 (DNS
 * rebinding) sends its domain as `Host` and is refused.
 */
export function hostHeaderAllowed(hostHeader: string | undefined, boundHost: string): boolean {
  const name = hostHeader === undefined ? undefined : parseHostHeader(hostHeader);
  if (name === undefined) return false;
  return isLoopback(name) || name === boundHost.replace(/^\[|\]$/g, '').toLowerCase();
}

export interface AccessPolicy {
  /** Required on every request when set. */
  token?: string;
  /** The address the server listens on. */
  host: string;
  scheme: 'http' | 'https';
  /** The port listened on (known once listening; asked per request). */
  port: () => number;
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
    if (upgrade && !originAllowed(request.headers.origin, ownOrigins(policy.scheme, policy.host, policy.port()), policy.allowOrigins)) {
      return { status: 403, reason: 'origin' };
    }
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
