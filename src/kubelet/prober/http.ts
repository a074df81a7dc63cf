// HTTP probes (models pkg/probe/http/{http.go,request.go} as the kubelet configures them).
//
// - The request: GET scheme://host:port/path, host defaulting to the pod IP, the port by number
//   or by the name of a container port, the probe's httpHeaders (names canonicalized as Go's
//   http.Header does; a `Host` header sets the request's Host), `User-Agent: kube-probe/1.30` and
//   `Accept: */*` unless the probe sets them (an empty Accept removes it); no keep-alive, no
//   compression, no proxy; HTTPS without certificate verification.
// - Redirects (followNonLocalRedirects=false, the kubelet's setting): a redirect to the same host
//   name (any port) is followed, at most 10 times ("stopped after 10 redirects" is a Failure); a
//   redirect to another host is not followed and the 3xx answer counts as a Warning ("Probe
//   terminated redirects"), which the prober treats as a success.
// - 200..399 is Success with the body (first 10 KiB) as output; anything else a Failure
//   "HTTP probe failed with statuscode: 500" (without the body, as upstream); a connection error
//   or the timeout is a Failure with Go's error text.
//
// Differences: the timeout is one Clock timer over the whole exchange (Go's Client.Timeout), so
// the fake clock drives it in tests; error texts follow Go's for the common cases only.

import type { ClientRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { V1Container, V1HTTPGetAction } from '@kubernetes/client-node';
import type { Clock } from '../../util/clock.js';
import { rawGet, type RawRequest, type RawResponse } from './rawhttp.js';
import { joinHostPort, maxProbeOutputBytes, messageOf, probeUserAgent, resolveContainerPort, type HandlerOutcome } from './probe.js';

export interface HTTPProbeRequest {
  url: URL;
  /** Canonical header name -> values, in insertion order. `Host` is not sent as a header: see host. */
  headers: Map<string, string[]>;
  /** The request's Host (from a `Host` header); '' for the URL's host. */
  host: string;
}

const maxRedirects = 10;
const redirectCodes = new Set([301, 302, 303, 307, 308]);

/** textproto.CanonicalMIMEHeaderKey: `x-custom-header` -> `X-Custom-Header`. */
export function canonicalHeaderKey(name: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return name;
  return name
    .split('-')
    .map((p) => (p ? p[0]!.toUpperCase() + p.slice(1).toLowerCase() : p))
    .join('-');
}

/** probe.http.NewRequestForHTTPGetAction. Throws when the port cannot be resolved. */
export function newRequestForHTTPGetAction(httpGet: V1HTTPGetAction, container: Pick<V1Container, 'ports'>, podIP: string, purpose = 'probe'): HTTPProbeRequest {
  const scheme = (httpGet.scheme || 'HTTP').toLowerCase();
  const host = httpGet.host || podIP;
  const port = resolveContainerPort(httpGet.port, container);
  const url = formatURL(scheme, host, port, httpGet.path ?? '');
  const headers = new Map<string, string[]>();
  for (const h of httpGet.httpHeaders ?? []) {
    const k = canonicalHeaderKey(h.name);
    const list = headers.get(k) ?? [];
    list.push(h.value);
    headers.set(k, list);
  }
  if (!headers.has('User-Agent')) headers.set('User-Agent', [probeUserAgent(purpose)]);
  if (!headers.has('Accept')) headers.set('Accept', ['*/*']);
  else if ((headers.get('Accept')![0] ?? '') === '') headers.delete('Accept');
  return { url, headers, host: headers.get('Host')?.[0] ?? '' };
}

function formatURL(scheme: string, host: string, port: number, path: string): URL {
  const u = new URL(`${scheme}://${joinHostPort(host, port)}`);
  let rest = path;
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  const p = q >= 0 ? rest.slice(0, q) : rest;
  u.pathname = p.startsWith('/') ? p : `/${p}`;
  if (q >= 0) u.search = rest.slice(q);
  return u;
}

/** Go's text for a failed dial, for the common errors. */
export function dialErrorMessage(err: unknown, addr: string): string {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `read tcp ${addr}: read: connection reset by peer`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${addr.replace(/:\d+$/, '')}: no such host`;
    default:
      return messageOf(err);
  }
}

/**
 * Runs an HTTP probe (httpProber.Probe + DoHTTPProbe with the kubelet's redirect checker).
 * timeoutMs <= 0 means no timeout.
 */
export function httpProbe(clock: Clock, req: HTTPProbeRequest, timeoutMs: number): Promise<HandlerOutcome> {
  return new Promise<HandlerOutcome>((resolve) => {
    let done = false;
    let current: ClientRequest | RawRequest | undefined;
    let currentRes: IncomingMessage | RawResponse | undefined;
    let currentURL = req.url;
    let readingBody = false;
    const finish = (o: HandlerOutcome): void => {
      if (done) return;
      done = true;
      timer?.stop();
      currentRes?.destroy();
      current?.destroy();
      resolve(o);
    };
    const timer =
      timeoutMs > 0
        ? clock.setTimeout(() => {
            if (done) return;
            if (readingBody) {
              const e = new Error('context deadline exceeded (Client.Timeout or context cancellation while reading body)');
              finish({ result: 'Failure', output: '', error: e });
            } else {
              finish({ result: 'Failure', output: `Get ${JSON.stringify(currentURL.href)}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
            }
          }, timeoutMs)
        : undefined;

    const send = (url: URL, host: string, requestsSoFar: number): void => {
      currentURL = url;
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of req.headers) if (k !== 'Host') headers[k] = v.length === 1 ? v[0]! : v;
      if (host) headers['Host'] = host;
      const addr = joinHostPort(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || (url.protocol === 'https:' ? 443 : 80)));
      const hostname = url.hostname.replace(/^\[|\]$/g, '');
      const https = url.protocol === 'https:';
      // plain HTTP takes the lean client (rawhttp.ts); HTTPS goes through node:https
      const r: ClientRequest | RawRequest = https
        ? httpsRequest({
            method: 'GET',
            protocol: url.protocol,
            hostname,
            port: url.port || 443,
            path: `${url.pathname}${url.search}`,
            headers,
            agent: false,
            rejectUnauthorized: false,
            servername: isIP(hostname) ? '' : hostname,
          })
        : rawGet({ hostname, port: Number(url.port || 80), path: `${url.pathname}${url.search}`, headers });
      current = r;
      r.on('error', (err) => {
        if (done || r !== current) return; // a redirected request's late error
        if (readingBody) {
          finish({ result: 'Failure', output: '', error: err });
          return;
        }
        finish({ result: 'Failure', output: `Get ${JSON.stringify(url.href)}: ${dialErrorMessage(err, addr)}` });
      });
      r.on('response', (res: IncomingMessage | RawResponse) => {
        if (done) {
          res.destroy();
          return;
        }
        currentRes = res;
        const code = res.statusCode ?? 0;
        const location = res.headers.location;
        if (redirectCodes.has(code) && location) {
          let next: URL;
          try {
            next = new URL(location, url);
          } catch (e) {
            finish({ result: 'Failure', output: `Get ${JSON.stringify(url.href)}: failed to parse Location header ${JSON.stringify(location)}: ${messageOf(e)}` });
            return;
          }
          if (next.hostname === req.url.hostname) {
            res.on('error', () => {}); // its connection is dropped: nothing to hear from it
            res.resume();
            r.destroy();
            if (requestsSoFar >= maxRedirects) {
              finish({ result: 'Failure', output: `Get ${JSON.stringify(next.href)}: stopped after ${maxRedirects} redirects` });
              return;
            }
            // a custom Host survives a relative redirect only (Go's issue 22233 rule)
            const relative = !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(location);
            send(next, req.host && relative ? req.host : '', requestsSoFar + 1);
            return;
          }
          // another host: ErrUseLastResponse, this 3xx is the answer
        }
        readingBody = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (done) return;
          const room = maxProbeOutputBytes - size;
          if (c.length >= room) {
            chunks.push(c.subarray(0, room));
            size += room;
            classify(code, Buffer.concat(chunks).toString('utf8'));
            return;
          }
          chunks.push(c);
          size += c.length;
        });
        res.on('end', () => classify(code, Buffer.concat(chunks).toString('utf8')));
        res.on('error', (err) => finish({ result: 'Failure', output: '', error: err }));
      });
      r.end();
    };

    const classify = (code: number, body: string): void => {
      if (code >= 200 && code < 400) {
        if (code >= 300) finish({ result: 'Warning', output: `Probe terminated redirects, Response body: ${body}` });
        else finish({ result: 'Success', output: body });
        return;
      }
      finish({ result: 'Failure', output: `HTTP probe failed with statuscode: ${code}` });
    };

    try {
      send(req.url, req.host, 1);
    } catch (e) {
      finish({ result: 'Failure', output: `Get ${JSON.stringify(req.url.href)}: ${messageOf(e)}` });
    }
  });
}
