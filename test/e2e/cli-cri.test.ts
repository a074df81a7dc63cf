// `nodelet cri` against real containerd: what a user sees in the terminal.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { CriClient } from '../../src/runtime/cri/index.js';
import type { PodSandboxConfig } from '../../src/runtime/index.js';
import { testRuntimeEnv } from '../runtime-env.js';
import { eventually, runCli } from './helpers.js';

const env = testRuntimeEnv();
if (!env.available) {
  test('nodelet cri against containerd', { skip: env.reason }, () => {});
} else {
  describe('nodelet cri against containerd', { concurrency: false }, () => {
    const cliEnv = { CONTAINER_RUNTIME_ENDPOINT: env.endpoint };
    let rt: CriClient;
    let dir = '';
    let sandboxId = '';
    let containerId = '';
    const uid = `cli-${Date.now()}`;

    before(async () => {
      rt = await CriClient.connect({ endpoint: env.endpoint });
      dir = mkdtempSync(join(env.podLogDir, 'cli-'));
      const cfg: PodSandboxConfig = {
        metadata: { name: 'cli-e2e', namespace: 'default', uid, attempt: 0 },
        hostname: 'cli-e2e',
        logDirectory: dir,
        labels: { 'io.kubernetes.pod.name': 'cli-e2e', 'io.kubernetes.pod.uid': uid },
        linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
      };
      sandboxId = await rt.runPodSandbox(cfg);
      mkdirSync(join(dir, 'talker'), { recursive: true });
      containerId = await rt.createContainer(
        sandboxId,
        {
          metadata: { name: 'talker', attempt: 0 },
          image: { image: env.testImage },
          command: ['sh', '-c', 'echo line one; echo line two >&2; sleep 0.3; echo line three; sleep 3600'],
          logPath: 'talker/0.log',
        },
        cfg,
      );
      await rt.startContainer(containerId);
    });

    after(async () => {
      await rt.stopPodSandbox(sandboxId).catch(() => undefined);
      await rt.removePodSandbox(sandboxId).catch(() => undefined);
      rt.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('prints the runtime version', async () => {
      const r = await runCli(['cri', 'version'], cliEnv);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /RuntimeName:\s+containerd/);
      assert.match(r.stdout, /RuntimeApiVersion:\s+v1/);
    });

    it('lists the pod and its running container', async () => {
      const pods = await runCli(['cri', 'pods', '--name', 'cli-e2e'], cliEnv);
      assert.equal(pods.code, 0, pods.stderr);
      const row = pods.stdout.split('\n').find((l) => l.startsWith(sandboxId.slice(0, 13)));
      assert.ok(row, pods.stdout);
      assert.match(row, /Ready\s+cli-e2e\s+default\s+0/);

      const ps = await runCli(['cri', 'ps', '--pod', sandboxId.slice(0, 8)], cliEnv);
      assert.equal(ps.code, 0, ps.stderr);
      assert.match(ps.stdout, new RegExp(`^${containerId.slice(0, 13)}\\s.*Running\\s+talker\\s+0\\s+${sandboxId.slice(0, 13)}\\s+cli-e2e$`, 'm'));

      const js = await runCli(['cri', '-o', 'json', 'ps', '-a', '--pod', sandboxId], cliEnv);
      const list = JSON.parse(js.stdout) as { id: string; state: string }[];
      assert.deepEqual(list.map((c) => [c.id, c.state]), [[containerId, 'CONTAINER_RUNNING']]);
      const quiet = await runCli(['cri', 'ps', '-q', '--name', 'talker'], cliEnv);
      assert.ok(quiet.stdout.split('\n').includes(containerId));
    });

    it('runs exec with the command exit code and output', async () => {
      const r = await runCli(['cri', 'exec', containerId.slice(0, 12), 'sh', '-c', 'echo from-exec; exit 3'], cliEnv);
      assert.equal(r.code, 3);
      assert.equal(r.stdout, 'from-exec\n');
    });

    it('prints logs, with --tail and timestamps', async () => {
      await eventually(async () => (await runCli(['cri', 'logs', containerId], cliEnv)).stdout.includes('line three'), 10_000, 'log lines');
      const all = await runCli(['cri', 'logs', containerId], cliEnv);
      assert.equal(all.stdout, 'line one\nline three\n');
      assert.equal(all.stderr, 'line two\n');
      const tail = await runCli(['cri', 'logs', '--tail', '1', '-t', containerId], cliEnv);
      assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z line three\n$/);
    });

    it('inspects a container as JSON and shows stats', async () => {
      const r = await runCli(['cri', 'inspect', containerId.slice(0, 10)], cliEnv);
      assert.equal(r.code, 0, r.stderr);
      const st = JSON.parse(r.stdout) as { status: { id: string; state: string; metadata: { name: string } } };
      assert.equal(st.status.id, containerId);
      assert.equal(st.status.state, 'CONTAINER_RUNNING');
      const stats = await runCli(['cri', 'stats'], cliEnv);
      assert.equal(stats.code, 0, stats.stderr);
      assert.match(stats.stdout, new RegExp(`^${containerId.slice(0, 13)}\\s+talker\\s`, 'm'));
    });

    it('pulls an image with progress and lists it', async () => {
      execFileSync('bash', [join(env.projectRoot, 'scripts/build-image.sh'), '--push', 'clipull', '1'], { stdio: 'ignore' });
      const ref = `${env.registry}/clipull:1`;
      await rt.removeImage(ref).catch(() => undefined);
      const r = await runCli(['cri', 'pull', ref], cliEnv);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Image is up to date for sha256:[0-9a-f]{64}\n$/);
      assert.match(r.stderr, /pulled 127\.0\.0\.1:\d+\/clipull:1 in \d+\.\d+s/);
      const images = await runCli(['cri', 'images'], cliEnv);
      assert.match(images.stdout, /^127\.0\.0\.1:\d+\/clipull\s+1\s+[0-9a-f]{13}\s+/m);
      await rt.removeImage(ref);
    });

    it('refuses to remove a running container without -f, then removes the pod', async () => {
      const no = await runCli(['cri', 'rm', containerId], cliEnv);
      assert.equal(no.code, 1);
      assert.match(no.stderr, /is running: stop it first or use -f/);
      const yes = await runCli(['cri', 'rm', '-f', containerId], cliEnv);
      assert.equal(yes.code, 0, yes.stderr);
      assert.equal((await rt.listContainers({ podSandboxId: sandboxId })).length, 0);
      const rmp = await runCli(['cri', 'rmp', '-f', sandboxId], cliEnv);
      assert.equal(rmp.code, 0, rmp.stderr);
      assert.equal((await rt.listPodSandbox({ id: sandboxId })).length, 0);
    });

    it('fails within seconds with the endpoint named when no runtime listens', async () => {
      const t0 = Date.now();
      const r = await runCli(['cri', '--timeout', '1s', 'version'], { CONTAINER_RUNTIME_ENDPOINT: 'unix:///tmp/nodelet-no-such.sock' });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /unix:\/\/\/tmp\/nodelet-no-such\.sock/);
      assert.ok(Date.now() - t0 < 15_000);
    });
  });
}
