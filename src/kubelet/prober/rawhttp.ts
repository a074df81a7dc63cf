// A lean HTTP/1.1 GET for plain-HTTP probes: one socket, the request written in one go, the
// status line and headers parsed by hand, the body streamed (Content-Length, chunked, or until
// the server closes). It has the small part of node:http's ClientRequest/IncomingMessage surface
// that http.ts uses ('response', 'error', 'data', 'end', destroy, resume), at about a third of
// node:http's CPU per request: probes open a fresh connection every period (no keep-alive, as the
// kubelet), so the per-request cost is what 60 pods x 3 probes a second pay. Connections end
// with a RST (closeProbeSocket), as the kubelet's probe dialer closes them.

import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { closeProbeSocket } from './probe.js';

export interface RawResponse extends EventEmitter {
  statusCode: number;
  headers: Record<string, string>;
  resume(): void;
  destroy(): void;
}

export interface RawRequest extends EventEmitter {
  end(): void;
  destroy(): void;
}

export interface RawRequestOptions {
  hostname: string;
  port: number;
  path: string;
  /** Header name -> value(s), written as given. */
  headers: Record<string, string | string[]>;
}

const maxHeaderBytes = 64 * 1024;
/**
 * Every probe socket reads into this one buffer (net's `onread`): no Buffer and no stream push
 * per chunk. A chunk is handled before the next read, and what is kept is copied.
 */
const readBuffer = Buffer.alloc(16 * 1024);

class Response extends EventEmitter implements RawResponse {
  statusCode = 0;
  headers: Record<string, string> = {};
  constructor(private readonly socket: Socket) {
    super();
  }
  resume(): void {
    // data is dropped unless listened to
  }
  destroy(): void {
    closeProbeSocket(this.socket);
  }
}

/** Sends GET and emits 'response' (a RawResponse) or 'error', like http.request. */
export function rawGet(opts: RawRequestOptions): RawRequest {
  const req = new EventEmitter() as RawRequest;
  const socket = connect({
    host: opts.hostname,
    port: opts.port,
    onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array): boolean => {
        onData(Buffer.from(buf.buffer, buf.byteOffset, n));
        return true;
      },
    },
  });
  let head: Buffer = Buffer.alloc(0);
  let res: Response | undefined;
  let remaining = -1; // body bytes left by Content-Length; -1: until close
  let chunked = false;
  let chunkBuf: Buffer = Buffer.alloc(0);
  let ended = false;

  const end = (): void => {
    if (ended || !res) return;
    ended = true;
    res.emit('end');
    closeProbeSocket(socket);
  };
  const body = (data: Buffer): void => {
    if (!res || ended || data.length === 0) return;
    if (chunked) {
      chunkBuf = Buffer.concat([chunkBuf, data]);
      for (;;) {
        const nl = chunkBuf.indexOf('\r\n');
        if (nl < 0) return;
        const size = parseInt(chunkBuf.subarray(0, nl).toString('latin1'), 16);
        if (!Number.isFinite(size)) {
          res.emit('error', new Error('malformed chunked encoding'));
          return;
        }
        if (size === 0) return end();
        if (chunkBuf.length < nl + 2 + size + 2) return;
        res.emit('data', chunkBuf.subarray(nl + 2, nl + 2 + size));
        chunkBuf = chunkBuf.subarray(nl + 2 + size + 2);
      }
    }
    if (remaining >= 0) {
      const part = data.subarray(0, remaining);
      remaining -= part.length;
      if (part.length) res.emit('data', Buffer.from(part));
      if (remaining === 0) end();
      return;
    }
    res.emit('data', Buffer.from(data));
  };

  socket.on('connect', () => {
    let text = `GET ${opts.path} HTTP/1.1\r\n`;
    let hasHost = false;
    for (const [k, v] of Object.entries(opts.headers)) {
      if (k.toLowerCase() === 'host') hasHost = true;
      for (const one of Array.isArray(v) ? v : [v]) text += `${k}: ${one}\r\n`;
    }
    if (!hasHost) text += `Host: ${opts.hostname.includes(':') ? `[${opts.hostname}]` : opts.hostname}:${opts.port}\r\n`;
    text += 'Connection: close\r\n\r\n';
    socket.write(text);
  });
  const onData = (chunk: Buffer): void => {
    if (res) return body(chunk);
    head = Buffer.concat([head, chunk]); // a copy: the read buffer is reused
    const endOfHead = head.indexOf('\r\n\r\n');
    if (endOfHead < 0) {
      if (head.length > maxHeaderBytes) {
        socket.destroy();
        req.emit('error', new Error('response headers too large'));
      }
      return;
    }
    const lines = head.subarray(0, endOfHead).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) {
      socket.destroy();
      req.emit('error', new Error(`malformed HTTP response "${lines[0] ?? ''}"`));
      return;
    }
    res = new Response(socket);
    res.statusCode = Number(m[1]);
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) res.headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    chunked = /chunked/i.test(res.headers['transfer-encoding'] ?? '');
    const cl = res.headers['content-length'];
    if (!chunked && cl !== undefined && /^\d+$/.test(cl)) remaining = Number(cl);
    const rest = head.subarray(endOfHead + 4);
    req.emit('response', res);
    // 1xx-less, bodiless answers end at once
    if (remaining === 0 || res.statusCode === 204 || res.statusCode === 304) end();
    else body(rest);
  };
  socket.on('end', () => {
    if (res) end();
    else req.emit('error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  });
  socket.on('error', (err) => {
    if (res && !ended) res.emit('error', err);
    else if (!res) req.emit('error', err);
  });
  req.end = () => {};
  req.destroy = () => {
    closeProbeSocket(socket);
  };
  return req;
}
