// The runtime contract against real containerd over CRI v1.
//
// Needs the runtime from scripts/runtime-up.sh (CONTAINER_RUNTIME_ENDPOINT or its env file).
// Skipped when no runtime answers, unless NODELET_REQUIRE_RUNTIME=1 (set by scripts/test.sh and
// CI), where a missing runtime fails the run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RealClock } from '../../util/clock.js';
import { runtimeContract, type ContractHarness } from '../contract/suite.js';
import { testRuntimeEnv } from '../../../test/runtime-env.js';
import { CriClient } from './client.js';

const env = testRuntimeEnv();
if (!env.available) {
  test('runtime contract: cri (containerd)', { skip: env.reason }, () => {});
} else {
  let client: CriClient | undefined;
  let dir = '';
  runtimeContract(
    'cri (containerd)',
    async () => {
      client = await CriClient.connect({ endpoint: env.endpoint });
      dir = mkdtempSync(join(env.podLogDir, 'contract-'));
      // a distinct image in the registry, so that removing it leaves the shared busybox alone
      execFileSync('bash', [join(env.projectRoot, 'scripts/build-image.sh'), '--push', 'contract', '1'], { stdio: ['ignore', 'ignore', 'inherit'] });
      const clock = new RealClock();
      const h: ContractHarness = {
        runtime: client,
        image: env.testImage,
        pullableImage: `${env.registry}/contract:1`,
        missingImage: `${env.registry}/contract:nope`,
        logRoot: dir,
        now: () => clock.now(),
        async eventually(fn, timeoutMs, what) {
          const end = clock.now() + timeoutMs;
          for (;;) {
            const v = await fn();
            if (v !== undefined && v !== false) return v;
            if (clock.now() >= end) throw new Error(`timed out waiting for ${what}`);
            await clock.sleep(50);
          }
        },
        during: (p) => p,
      };
      return h;
    },
    async () => {
      client?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  );
}
