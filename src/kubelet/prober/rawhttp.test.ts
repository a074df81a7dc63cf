import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { rawGet, type RawResponse } from './rawhttp.js';

/** A TCP server answering every connection with a fixed byte string (then closing, unless keepOpen). */
function serve(answer: string, keepOpen = false): Promise<{ server: Server; port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((sock) => {
    sock.once('data', (d) => {
      requests.push(d.toString());
      sock.write(answer);
      if (!keepOpen) sock.end();
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, requests })));
}

function get(port: number, headers: Record<string, string> = {}): Promise<{ res: RawResponse; body: string }> {
  return new Promise((resolve, reject) => {
    const r = rawGet({ hostname: '127.0.0.1', port, path: '/healthz?x=1', headers });
    r.on('error', reject);
    r.on('response', (res: RawResponse) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ res, body }));
      res.on('error', reject);
    });
  });
}

describe('rawGet (the lean HTTP client for probes)', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));
  const start = async (answer: string, keepOpen = false) => {
    const s = await serve(answer, keepOpen);
    servers.push(s.server);
    return s;
  };

  let plain: { port: number; requests: string[] };
  before(async () => {
    plain = await start('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok', true);
  });

  it('sends a GET with the headers, a Host and Connection: close, and reads a Content-Length body without waiting for close', async () => {
    const { res, body } = await get(plain.port, { 'User-Agent': 'kube-probe/1.30', Accept: '*/*' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-a'], 'b');
    assert.equal(body, 'ok');
    const req = plain.requests.at(-1)!;
    assert.match(req, /^GET \/healthz\?x=1 HTTP\/1\.1\r\n/);
    assert.match(req, /\r\nUser-Agent: kube-probe\/1\.30\r\n/);
    assert.match(req, new RegExp(`\\r\\nHost: 127\\.0\\.0\\.1:${plain.port}\\r\\n`));
    assert.match(req, /\r\nConnection: close\r\n\r\n$/);
  });

  it('decodes a chunked body', async () => {
    const s = await start('HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnot \r\n5\r\nready\r\n0\r\n\r\n', true);
    const { res, body } = await get(s.port);
    assert.equal(res.statusCode, 503);
    assert.equal(body, 'not ready');
  });

  it('reads a body delimited by the connection closing, and keeps a given Host', async () => {
    const s = await start('HTTP/1.0 302 Found\r\nLocation: /other\r\n\r\nmoved');
    const { res, body } = await get(s.port, { Host: 'example.test' });
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers['location'], '/other');
    assert.equal(body, 'moved');
    assert.match(s.requests.at(-1)!, /\r\nHost: example\.test\r\n/);
    assert.equal(s.requests.at(-1)!.match(/\r\nHost:/g)!.length, 1);
  });

  it('fails on a response that is not HTTP, and on a refused connection', async () => {
    const s = await start('SSH-2.0-OpenSSH\r\n\r\n');
    await assert.rejects(get(s.port), /malformed HTTP response "SSH-2.0-OpenSSH"/);
    const closed = await start('');
    closed.server.close();
    await assert.rejects(get(closed.port), (e: unknown) => (e as { code?: string }).code === 'ECONNREFUSED');
  });
});
