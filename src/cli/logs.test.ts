// `nodelet logs` end to end against an in-process fake of the local API (GET /pods, /containerLogs).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { allContainerNames } from './logs.js';
import { runInProcess } from './testing.js';

const pods: V1Pod[] = [
  {
    metadata: { name: 'web-node1', namespace: 'default', uid: 'u1', annotations: { 'kubernetes.io/config.source': 'file' } },
    spec: { nodeName: 'node1', initContainers: [{ name: 'setup', image: 'busybox' }], containers: [{ name: 'web', image: 'busybox' }, { name: 'sidecar', image: 'busybox' }] },
  },
  { metadata: { name: 'single', namespace: 'default', uid: 'u2' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
  {
    metadata: { name: 'annotated', namespace: 'default', uid: 'u3', annotations: { 'kubectl.kubernetes.io/default-container': 'second' } },
    spec: { containers: [{ name: 'first', image: 'busybox' }, { name: 'second', image: 'busybox' }] },
  },
  { metadata: { name: 'etcd-node1', namespace: 'kube-system', uid: 'u4', annotations: { 'kubernetes.io/config.source': 'file' } }, spec: { nodeName: 'node1', containers: [{ name: 'etcd', image: 'busybox' }] } },
];

describe('nodelet logs', () => {
  let server: Server;
  let url = '';
  const requests: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      requests.push(req.url ?? '');
      if (u.pathname === '/pods') {
        res.setHeader('Content-Type', 'application/json');
        return void res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', items: pods }));
      }
      const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(u.pathname);
      if (!m) {
        res.statusCode = 404;
        return void res.end('404 page not found\n');
      }
      const [, ns, pod, container] = m;
      if (u.searchParams.get('previous') === 'true' && pod === 'single') {
        res.writeHead(400, { 'Content-Type': 'text/plain' });
        return void res.end(`previous terminated container "${container}" in pod "${pod}" not found\n`);
      }
      if (pod === 'gone') {
        res.writeHead(404);
        return void res.end(`pod "${pod}" does not exist\n`);
      }
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
      if (u.searchParams.get('follow') === 'true') {
        // streamed in pieces, a multi-byte character split between two chunks
        const e = Buffer.from('é');
        res.write('first\n');
        setImmediate(() => {
          res.write(Buffer.concat([Buffer.from('caf'), e.subarray(0, 1)]));
          setImmediate(() => {
            res.write(Buffer.concat([e.subarray(1), Buffer.from('\n')]));
            setImmediate(() => res.end('last\n'));
          });
        });
        return;
      }
      res.end(`log of ${ns}/${pod}/${container}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = runInProcess;

  const lastLogRequest = (): URL => new URL(requests.filter((r) => r.startsWith('/containerLogs/')).at(-1)!, 'http://x');

  it('a static pod by its manifest name; no -c on a pod of several containers: the first, with kubectl\'s note', async () => {
    const r = await run('logs', 'web', '--server', url);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'log of default/web-node1/web\n');
    assert.equal(r.err, 'Defaulted container "web" out of: web, sidecar, setup (init)\n');
    assert.equal(lastLogRequest().search, '');
  });

  it('a pod of one container: no note; the default-container annotation wins; -n', async () => {
    const r = await run('logs', 'single', '--server', url);
    assert.deepEqual([r.out, r.err], ['log of default/single/app\n', '']);
    const a = await run('logs', 'annotated', '--server', url);
    assert.deepEqual([a.out, a.err], ['log of default/annotated/second\n', '']);
    const e = await run('logs', 'etcd', '-n', 'kube-system', '--server', url);
    assert.equal(e.out, 'log of kube-system/etcd-node1/etcd\n');
  });

  it('-c, an inline CONTAINER, pod/NAME; the options become the query', async () => {
    const r = await run('logs', 'pod/web', '-c', 'sidecar', '-p', '--tail', '5', '--since', '90s', '--timestamps', '--limit-bytes', '100', '--server', url);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'log of default/web-node1/sidecar\n');
    const q = lastLogRequest().searchParams;
    assert.deepEqual(Object.fromEntries(q), { previous: 'true', timestamps: 'true', tailLines: '5', limitBytes: '100', sinceSeconds: '90' });
    const inline = await run('logs', 'web', 'setup', '--since-time', '2026-01-01T00:00:00Z', '--tail=-1', '--server', url);
    assert.equal(inline.out, 'log of default/web-node1/setup\n');
    assert.deepEqual(Object.fromEntries(lastLogRequest().searchParams), { sinceTime: '2026-01-01T00:00:00Z' });
    const ms = await run('logs', 'single', '--since', '1500ms', '--server', url);
    assert.equal(lastLogRequest().searchParams.get('sinceSeconds'), '2', `rounded to the second: ${ms.err}`);
  });

  it('-f streams the answer as it comes (characters split between chunks included)', async () => {
    const r = await run('logs', '-f', 'single', '--server', url);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'first\ncafé\nlast\n');
    assert.equal(lastLogRequest().searchParams.get('follow'), 'true');
  });

  it('errors as kubectl words them', async () => {
    const cases: [string[], string][] = [
      [['logs', 'single', '--previous'], 'Error from server (BadRequest): previous terminated container "app" in pod "single" not found\n'],
      [['logs', 'nope'], 'Error from server (NotFound): pods "nope" not found\n'],
      [['logs', 'web', '-c', 'nope'], 'error: container nope is not valid for pod web-node1\n'],
      [['logs', 'web', 'web', '-c', 'sidecar'], 'error: only one of -c or an inline [CONTAINER] arg is allowed\n'],
      [['logs', 'single', '--tail', '-2'], 'error: --tail must be greater than or equal to -1\n'],
      [['logs', 'single', '--limit-bytes', '-1'], 'error: --limit-bytes must be greater than 0\n'],
      [['logs', 'single', '--since', '1m', '--since-time', '2026-01-01T00:00:00Z'], 'error: at most one of `sinceTime` or `sinceSeconds` may be specified\n'],
      [['logs', 'single', '--since', 'soon'], 'error: invalid argument "soon" for "--since" flag: time: invalid duration "soon"\n'],
      [['logs', 'single', '--tail', 'ten'], 'error: invalid argument "ten" for "--tail" flag: strconv.ParseInt: parsing "ten": invalid syntax\n'],
      [['logs', 'deployment/web'], 'error: the server doesn\'t have a resource type "deployment" (nodelet serves pods only)\n'],
    ];
    for (const [args, err] of cases) {
      const r = await run(...args, '--server', url);
      assert.deepEqual([r.code, r.out, r.err], [1, '', err], args.join(' '));
    }
  });

  it('server unreachable: the message names the URL and suggests nodelet run', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await run('logs', 'web', '--server', `http://127.0.0.1:${port}`);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`http://127\\.0\\.0\\.1:${port}.*ECONNREFUSED.*nodelet run`));
  });

  it('allContainerNames: containers, then ephemeral, then init', () => {
    assert.equal(
      allContainerNames({ spec: { containers: [{ name: 'a' }, { name: 'b' }], initContainers: [{ name: 'i' }], ephemeralContainers: [{ name: 'd' }] } }),
      'a, b, d (ephem), i (init)',
    );
  });
});
