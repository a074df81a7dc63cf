// The runtime contract: one suite of behaviours every Runtime must show, run against real
// containerd (runtime/cri) and against the simulated runtime (runtime/sim). When the two differ,
// this suite shows it and the simulator is fixed.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DeadlineExceededError, NotFoundError } from '../errors.js';
import type { ContainerConfig, ContainerStatus, PodSandboxConfig, Runtime } from '../types.js';

export interface ContractHarness {
  runtime: Runtime;
  /** A busybox image present in the image store. */
  image: string;
  /** An image the registry serves and the store does not hold (removed again by the suite). */
  pullableImage: string;
  /** A tag the registry does not have. */
  missingImage: string;
  /** A directory for pod log directories. */
  logRoot: string;
  /** Polls fn until it returns a value other than undefined/false, letting runtime time pass. */
  eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T>;
  /** Awaits an operation that takes runtime time (a graceful stop, an exec timeout). */
  during<T>(p: Promise<T>): Promise<T>;
  /** The runtime's notion of now, in ms. */
  now(): number;
}

const suiteLabel = 'nodelet.dev/contract';

let seq = 0;
function uniq(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`;
}

export function runtimeContract(name: string, setup: () => Promise<ContractHarness>, teardown: () => Promise<void>): void {
  describe(`runtime contract: ${name}`, { concurrency: false }, () => {
    let h: ContractHarness;
    const sandboxes: string[] = [];
    const ready = (async () => {
      h = await setup();
    })();

    after(async () => {
      await ready.catch(() => undefined);
      if (h) {
        for (const id of sandboxes) {
          await h.runtime.stopPodSandbox(id).catch(() => undefined);
          await h.runtime.removePodSandbox(id).catch(() => undefined);
        }
      }
      await teardown();
    });

    function sandboxConfig(podName: string, hostNetwork = false): PodSandboxConfig {
      const uid = uniq('uid');
      const logDirectory = join(h.logRoot, `contract_${podName}_${uid}`);
      mkdirSync(logDirectory, { recursive: true });
      return {
        metadata: { name: podName, namespace: 'contract', uid, attempt: 0 },
        hostname: hostNetwork ? '' : podName,
        logDirectory,
        labels: { [suiteLabel]: 'true', 'io.kubernetes.pod.uid': uid },
        annotations: { note: 'runtime contract' },
        linux: {
          cgroupParent: '',
          securityContext: { namespaceOptions: { network: hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD' } },
        },
      };
    }

    async function runSandbox(podName: string, hostNetwork = false): Promise<{ id: string; config: PodSandboxConfig }> {
      await ready;
      const config = sandboxConfig(podName, hostNetwork);
      const id = await h.runtime.runPodSandbox(config);
      sandboxes.push(id);
      return { id, config };
    }

    function containerConfig(cname: string, command: string[], extra: Partial<ContainerConfig> = {}): ContainerConfig {
      mkdirSync(join(h.logRoot, 'x'), { recursive: true });
      return {
        metadata: { name: cname, attempt: 0 },
        image: { image: h.image },
        command,
        labels: { [suiteLabel]: 'true', 'io.kubernetes.container.name': cname },
        annotations: { 'io.kubernetes.container.restartCount': '0' },
        logPath: `${cname}/0.log`,
        ...extra,
      };
    }

    async function startContainer(sb: { id: string; config: PodSandboxConfig }, cname: string, command: string[], extra: Partial<ContainerConfig> = {}): Promise<string> {
      mkdirSync(join(sb.config.logDirectory!, cname), { recursive: true });
      const id = await h.runtime.createContainer(sb.id, containerConfig(cname, command, extra), sb.config);
      await h.runtime.startContainer(id);
      return id;
    }

    async function waitExited(id: string, timeoutMs = 20_000): Promise<ContainerStatus> {
      return h.eventually(
        async () => {
          const s = (await h.runtime.containerStatus(id)).status;
          return s.state === 'CONTAINER_EXITED' ? s : undefined;
        },
        timeoutMs,
        `container ${id} to exit`,
      );
    }

    it('reports its version and readiness', async () => {
      await ready;
      const v = await h.runtime.version();
      assert.equal(v.runtimeApiVersion, 'v1');
      assert.ok(v.runtimeName.length > 0);
      const st = await h.runtime.status();
      const cond = new Map(st.status.conditions.map((c) => [c.type, c.status]));
      assert.equal(cond.get('RuntimeReady'), true);
      assert.equal(cond.get('NetworkReady'), true);
    });

    it('runs, lists, stops and removes a pod sandbox', async () => {
      const sb = await runSandbox('sandbox-life');
      const listed = await h.runtime.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': sb.config.metadata.uid } });
      assert.equal(listed.length, 1);
      assert.equal(listed[0]!.id, sb.id);
      assert.equal(listed[0]!.state, 'SANDBOX_READY');
      assert.equal(listed[0]!.metadata.name, 'sandbox-life');
      assert.equal(listed[0]!.labels[suiteLabel], 'true');
      const st = await h.runtime.podSandboxStatus(sb.id);
      assert.equal(st.status.state, 'SANDBOX_READY');
      assert.match(st.status.network?.ip ?? '', /^\d+\.\d+\.\d+\.\d+$/, 'a pod-network sandbox has an IP');
      assert.equal(st.status.annotations['note'], 'runtime contract');
      assert.ok(st.status.createdAt > 0);

      await h.runtime.stopPodSandbox(sb.id);
      assert.equal((await h.runtime.podSandboxStatus(sb.id)).status.state, 'SANDBOX_NOTREADY');
      const notReady = await h.runtime.listPodSandbox({ id: sb.id, state: 'SANDBOX_READY' });
      assert.equal(notReady.length, 0, 'state filter excludes the stopped sandbox');
      await h.runtime.stopPodSandbox(sb.id); // idempotent
      await h.runtime.removePodSandbox(sb.id);
      await assert.rejects(h.runtime.podSandboxStatus(sb.id), NotFoundError);
      await h.runtime.removePodSandbox(sb.id); // idempotent
    });

    it('refuses a host-network sandbox with a hostname, and runs one without', async () => {
      await ready;
      const bad = sandboxConfig('hostnet-bad', true);
      bad.hostname = 'hostnet-bad';
      await assert.rejects(
        h.runtime.runPodSandbox(bad).then((id) => sandboxes.push(id)),
        /hostname/,
      );
      const sb = await runSandbox('hostnet', true);
      const st = await h.runtime.podSandboxStatus(sb.id);
      assert.equal(st.status.state, 'SANDBOX_READY');
      assert.equal(st.status.network?.ip ?? '', '', 'a host-network sandbox has no pod IP of its own');
    });

    it('runs a container to completion with exit code, reason, times and CRI-format logs', async () => {
      const sb = await runSandbox('exit-codes');
      const t0 = h.now();
      const failed = await startContainer(sb, 'fails', ['sh', '-c', 'echo hello; echo oops >&2; exit 3']);
      const done = await startContainer(sb, 'succeeds', ['sh', '-c', 'echo fine']);
      const running = await h.runtime.containerStatus(failed);
      assert.ok(['CONTAINER_RUNNING', 'CONTAINER_EXITED'].includes(running.status.state));

      const s = await waitExited(failed);
      assert.equal(s.exitCode, 3);
      assert.equal(s.reason, 'Error');
      // containerd records startedAt when the task start returns: a process that exits at once can
      // finish a few ms "before" it started. Both are set and close together.
      assert.ok(s.startedAt > 0 && s.finishedAt > 0, 'startedAt and finishedAt set');
      assert.ok(s.finishedAt >= s.startedAt - 1e9, 'finishedAt is not long before startedAt');
      assert.ok(s.startedAt / 1e6 >= t0 - 5000, 'startedAt is in nanoseconds since the epoch');
      assert.equal(s.metadata.name, 'fails');
      assert.equal(s.labels['io.kubernetes.container.name'], 'fails');
      assert.equal(s.annotations['io.kubernetes.container.restartCount'], '0');
      assert.equal(s.logPath, join(sb.config.logDirectory!, 'fails/0.log'));

      const ok = await waitExited(done);
      assert.equal(ok.exitCode, 0);
      assert.equal(ok.reason, 'Completed');

      const log = await h.eventually(
        async () => {
          const text = readFileSync(s.logPath, 'utf8');
          return text.includes('hello') && text.includes('oops') ? text : undefined;
        },
        5000,
        'log lines',
      );
      const lines = log.trim().split('\n');
      const re = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (stdout|stderr) [FP] (.*)$/;
      for (const l of lines) assert.match(l, re);
      assert.ok(lines.some((l) => / stdout F hello$/.test(l)), 'stdout line');
      assert.ok(lines.some((l) => / stderr F oops$/.test(l)), 'stderr line');
    });

    it('reports OOMKilled for a container past its memory limit', async () => {
      const sb = await runSandbox('oom');
      const id = await startContainer(sb, 'hog', ['tail', '/dev/zero'], {
        linux: { resources: { memoryLimitInBytes: 16 * 1024 * 1024 } },
      });
      const s = await waitExited(id, 30_000);
      assert.equal(s.reason, 'OOMKilled');
      assert.equal(s.exitCode, 137);
    });

    it('marks a container whose command does not exist as exited with StartError', async () => {
      const sb = await runSandbox('start-error');
      mkdirSync(join(sb.config.logDirectory!, 'nocmd'), { recursive: true });
      const id = await h.runtime.createContainer(sb.id, containerConfig('nocmd', ['/no/such/binary']), sb.config);
      await assert.rejects(h.runtime.startContainer(id), /no such file|not found/);
      const s = (await h.runtime.containerStatus(id)).status;
      assert.equal(s.state, 'CONTAINER_EXITED');
      assert.equal(s.exitCode, 128);
      assert.equal(s.reason, 'StartError');
    });

    it('filters containers by label, state and sandbox', async () => {
      const sb = await runSandbox('filters');
      const a = await startContainer(sb, 'runs', ['sleep', '3600']);
      const b = await startContainer(sb, 'exits', ['true']);
      await waitExited(b);
      const bySandbox = await h.runtime.listContainers({ podSandboxId: sb.id });
      assert.deepEqual(bySandbox.map((c) => c.id).sort(), [a, b].sort());
      const running = await h.runtime.listContainers({ podSandboxId: sb.id, state: 'CONTAINER_RUNNING' });
      assert.deepEqual(running.map((c) => c.id), [a]);
      const byLabel = await h.runtime.listContainers({ labelSelector: { 'io.kubernetes.container.name': 'exits' }, podSandboxId: sb.id });
      assert.deepEqual(byLabel.map((c) => c.id), [b]);
      const byId = await h.runtime.listContainers({ id: a });
      assert.equal(byId.length, 1);
      assert.equal(byId[0]!.podSandboxId, sb.id);
      assert.equal(byId[0]!.state, 'CONTAINER_RUNNING');
      assert.match(byId[0]!.imageRef, /^sha256:[0-9a-f]{64}$/);
      const none = await h.runtime.listContainers({ labelSelector: { 'io.kubernetes.container.name': 'no-such' } });
      assert.equal(none.length, 0);
    });

    it('runs exec sync with exit codes, output and a timeout', async () => {
      const sb = await runSandbox('exec');
      const id = await startContainer(sb, 'target', ['sh', '-c', 'touch /tmp/ready; sleep 3600']);
      await h.eventually(async () => (await h.runtime.containerStatus(id)).status.state === 'CONTAINER_RUNNING', 10_000, 'running');
      const r = await h.during(h.runtime.execSync(id, ['sh', '-c', 'echo out; echo err >&2; exit 7'], 10));
      assert.equal(r.exitCode, 7);
      assert.equal(r.stdout.toString(), 'out\n');
      assert.equal(r.stderr.toString(), 'err\n');
      const cat = await h.during(
        h.eventually(async () => {
          const x = await h.runtime.execSync(id, ['cat', '/tmp/ready'], 5);
          return x.exitCode === 0 ? x : undefined;
        }, 5000, 'file written by the container'),
      );
      assert.equal(cat.exitCode, 0);
      const missing = await h.during(h.runtime.execSync(id, ['cat', '/tmp/absent'], 5));
      assert.equal(missing.exitCode, 1);
      const t0 = h.now();
      await assert.rejects(h.during(h.runtime.execSync(id, ['sleep', '30'], 1)), DeadlineExceededError);
      const took = h.now() - t0;
      assert.ok(took >= 900 && took < 10_000, `exec timeout took ${took} ms`);
    });

    it('stops with SIGTERM, then SIGKILL after the timeout', async () => {
      const sb = await runSandbox('stop');
      const ownPid = { linux: { securityContext: { namespaceOptions: { pid: 'CONTAINER' as const } } } };
      const sharedPid = { linux: { securityContext: { namespaceOptions: { pid: 'POD' as const } } } };
      const variants = {
        // PID 1 of its own PID namespace (the kubelet's default): the kernel drops an unhandled
        // SIGTERM, so SIGKILL comes at the timeout (137)
        pid1: { cmd: ['sh', '-c', 'echo ready; exec sleep 3600'], exit: 137, killed: true, extra: ownPid },
        // with the pod's shared PID namespace (pause is PID 1) an unhandled SIGTERM ends it at once (143)
        shared: { cmd: ['sh', '-c', 'echo ready; exec sleep 3600'], exit: 143, killed: false, extra: sharedPid },
        // TERM ignored: SIGKILL after the timeout (137)
        ignoring: { cmd: ['sh', '-c', "trap '' TERM; echo ready; sleep 3600"], exit: 137, killed: true, extra: sharedPid },
        // sh defers a trap until the foreground command ends: SIGKILL comes first
        deferred: { cmd: ['sh', '-c', "trap 'exit 5' TERM; echo ready; sleep 3600"], exit: 137, killed: true, extra: ownPid },
        // a trap while the shell waits runs at once
        polite: { cmd: ['sh', '-c', "trap 'exit 0' TERM; echo ready; sleep 3600 & wait"], exit: 0, killed: false, extra: ownPid },
      };
      const ids = new Map<string, string>();
      for (const [n, v] of Object.entries(variants)) ids.set(n, await startContainer(sb, n, v.cmd, v.extra));
      // each shell says "ready" once its trap is set
      await h.eventually(
        async () => {
          for (const n of ids.keys()) {
            const log = join(sb.config.logDirectory!, `${n}/0.log`);
            if (!readFileSync(log, 'utf8').includes(' ready')) return false;
          }
          return true;
        },
        10_000,
        'all shells ready',
      );
      const took = new Map<string, number>();
      await h.during(
        Promise.all(
          [...ids].map(async ([n, id]) => {
            const t0 = h.now();
            await h.runtime.stopContainer(id, 2);
            took.set(n, h.now() - t0);
          }),
        ),
      );
      for (const [n, v] of Object.entries(variants)) {
        const s = (await h.runtime.containerStatus(ids.get(n)!)).status;
        assert.equal(s.state, 'CONTAINER_EXITED', n);
        assert.equal(s.exitCode, v.exit, `${n} exit code`);
        const t = took.get(n)!;
        if (v.killed) assert.ok(t >= 1900, `${n}: SIGKILL came after the 2 s timeout (took ${t} ms)`);
        else assert.ok(t < 1900, `${n}: stopped before the timeout (took ${t} ms)`);
      }
      const plain = ids.get('shared')!;
      await h.runtime.stopContainer(plain, 2); // stopping an exited container is fine
      await h.runtime.removeContainer(plain);
      await assert.rejects(h.runtime.containerStatus(plain), NotFoundError);
      await h.runtime.removeContainer(plain); // idempotent
    });

    it('answers NotFound for unknown containers and sandboxes', async () => {
      await ready;
      const ghost = 'f'.repeat(64);
      await assert.rejects(h.runtime.containerStatus(ghost), NotFoundError);
      await assert.rejects(h.runtime.podSandboxStatus(ghost), NotFoundError);
      await assert.rejects(h.runtime.startContainer(ghost), NotFoundError);
    });

    it('reports container stats and image filesystem usage', async () => {
      const sb = await runSandbox('stats');
      const id = await startContainer(sb, 'busy', ['sleep', '3600']);
      await h.eventually(async () => (await h.runtime.containerStatus(id)).status.state === 'CONTAINER_RUNNING', 10_000, 'running');
      const st = await h.runtime.containerStats(id);
      assert.equal(st.attributes.id, id);
      assert.equal(st.attributes.metadata.name, 'busy');
      assert.ok(st.memory?.workingSetBytes, 'memory working set reported');
      const list = await h.runtime.listContainerStats({ podSandboxId: sb.id });
      assert.deepEqual(list.map((x) => x.attributes.id), [id]);
      const fs = await h.runtime.imageFsInfo();
      assert.ok(fs.imageFilesystems.length >= 1);
      assert.ok((fs.imageFilesystems[0]!.fsId?.mountpoint ?? '').startsWith('/'));
      assert.ok((fs.imageFilesystems[0]!.usedBytes?.value ?? 0) > 0);
    });

    it('pulls, lists, inspects and removes an image; a missing tag is NotFound', async () => {
      await ready;
      await h.runtime.removeImage(h.pullableImage).catch(() => undefined);
      assert.equal(await h.runtime.imageStatus(h.pullableImage), null);
      const ref = await h.runtime.pullImage(h.pullableImage);
      assert.match(ref, /^sha256:[0-9a-f]{64}$/);
      const img = await h.runtime.imageStatus(h.pullableImage);
      assert.ok(img, 'image present after pull');
      assert.equal(img.id, ref);
      assert.ok(img.size > 0);
      assert.ok(img.repoTags.includes(h.pullableImage), `repoTags ${img.repoTags.join(',')}`);
      assert.ok(img.repoDigests.some((d) => d.includes('@sha256:')));
      const all = await h.runtime.listImages();
      assert.ok(all.some((i) => i.id === ref));
      await h.runtime.removeImage(h.pullableImage);
      assert.equal(await h.runtime.imageStatus(h.pullableImage), null);
      await h.runtime.removeImage(h.pullableImage); // idempotent
      await assert.rejects(h.runtime.pullImage(h.missingImage), NotFoundError);
    });
  });
}
