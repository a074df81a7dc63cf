// Container logs against real containerd: following a container that writes, rotation at
// containerLogMaxSize, the previous instance's log, and `nodelet logs`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { CriClient } from '../../src/runtime/cri/index.js';
import { testRuntimeEnv } from '../runtime-env.js';
import { eventually, removePodsInNamespace, runCli } from './helpers.js';
import { NodeletProcess } from './nodelet-process.js';

const env = testRuntimeEnv();
const image = `${env.registry}/busybox:1.0`;
const ns = 'logs';

function pod(name: string, command: string, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns} }
spec:
  terminationGracePeriodSeconds: 2
${extra}  containers:
    - name: main
      image: ${image}
      command: ["sh", "-c", ${JSON.stringify(command)}]
`;
}

if (!env.available) {
  test('container logs against containerd', { skip: env.reason }, () => {});
} else {
  describe('container logs against containerd', { concurrency: false, timeout: 300_000 }, () => {
    let rt: CriClient;
    let n: NodeletProcess;
    const api = (path: string): string => `http://127.0.0.1:${n.port}${path}`;

    before(async () => {
      rt = await CriClient.connect({ endpoint: env.endpoint });
      n = new NodeletProcess({ endpoint: env.endpoint, baseDir: env.runtimeDir, nodeName: 'logs-node' });
      const cfg = join(n.dir, 'kubelet.yaml');
      writeFileSync(cfg, 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncontainerLogMaxSize: 2Ki\ncontainerLogMaxFiles: 3\n');
      n.extraArgs.push('--config', cfg);
      await n.start();
    });

    after(async () => {
      await n.stop();
      await removePodsInNamespace(rt, ns);
      rt.close();
      n.cleanup();
    });

    it('follows a container while it writes', async () => {
      n.writeManifest('ticker.yaml', pod('ticker', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'));
      await eventually(async () => (await n.pod('ticker'))?.status?.phase === 'Running', 60_000, 'ticker Running');
      const ac = new AbortController();
      const res = await fetch(api(`/containerLogs/${ns}/ticker-logs-node/main?follow=true&tailLines=1`), { signal: ac.signal });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      let text = '';
      const chunks: number[] = [];
      const t0 = Date.now();
      while (Date.now() - t0 < 2500) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
        chunks.push(Date.now() - t0);
      }
      ac.abort();
      const ticks = text.trim().split('\n').map((l) => Number(/^tick (\d+)$/.exec(l)?.[1]));
      assert.ok(ticks.length >= 5, `got ${ticks.length} lines while following: ${JSON.stringify(text)}`);
      assert.ok(ticks.every((v, i) => i === 0 || v === ticks[i - 1]! + 1), 'consecutive lines, none lost');
      assert.ok(chunks.length >= 3, 'lines arrived as they were written, not at the end');
    });

    it('rotates a log past containerLogMaxSize and keeps at most containerLogMaxFiles', async () => {
      const p = (await n.pod('ticker'))!;
      const dir = join(n.logsDir, `${ns}_ticker-logs-node_${p.metadata?.uid}`, 'main');
      const files = await eventually(async () => {
        const f = readdirSync(dir);
        return f.filter((x) => x.startsWith('0.log.')).length >= 2 ? f : undefined;
      }, 60_000, 'rotated files', 1000);
      assert.ok(files.includes('0.log'), 'the current file');
      assert.ok(files.some((f) => f.endsWith('.gz')), `older rotated files are compressed: ${files.join(' ')}`);
      assert.ok(files.length <= 3, `at most 3 files: ${files.join(' ')}`);
      // still readable after rotations; as upstream, tailLines counts the current file only, which
      // may hold one line, or none yet, right after a rotation (a line comes every 0.2 s)
      const tail = await eventually(async () => {
        const t = await (await fetch(api(`/containerLogs/${ns}/ticker-logs-node/main?tailLines=2`))).text();
        return t === '' ? undefined : t;
      }, 5000, 'a line in the current file', 100);
      assert.match(tail, /^(tick \d+\n){1,2}$/);
      n.removeManifest('ticker.yaml');
    });

    it('serves the previous instance with previous=true and through nodelet logs', async () => {
      n.writeManifest('crash.yaml', pod('crash', 'echo run $RANDOM$RANDOM; exit 1'));
      await eventually(async () => ((await n.pod('crash'))?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 60_000, 'crash restarted');
      const prev = await (await fetch(api(`/containerLogs/${ns}/crash-logs-node/main?previous=true`))).text();
      assert.match(prev, /^run \d+\n$/);
      // the previous instance is the one lastState names: its own log file
      const st = (await n.pod('crash'))!.status!.containerStatuses![0]!;
      const last = st.lastState?.terminated?.containerID?.replace(/^\w+:\/\//, '');
      const lastLog = (await rt.containerStatus(last!)).status.logPath;
      assert.ok(readFileSync(lastLog, 'utf8').includes(prev.trim()), 'previous=true served the lastState instance');
      const cli = await runCli(['logs', 'crash', '-n', ns, '--previous', '--server', api('')]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /^run \d+\n$/);
      const missing = await fetch(api(`/containerLogs/${ns}/nope-logs-node/main`));
      assert.equal(missing.status, 404);
      n.removeManifest('crash.yaml');
    });
  });
}
