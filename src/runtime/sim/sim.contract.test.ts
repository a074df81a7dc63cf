// The runtime contract against the simulated runtime, on a fake clock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../util/clock.js';
import { runtimeContract, type ContractHarness } from '../contract/suite.js';
import { SimRuntime } from './sim.js';

let dir = '';
runtimeContract(
  'sim',
  async () => {
    dir = mkdtempSync(join(tmpdir(), 'nodelet-sim-contract-'));
    const clock = new FakeClock();
    const runtime = new SimRuntime({
      clock,
      images: [{ ref: 'localhost/busybox:latest', defaultCommand: ['sh'] }, { ref: 'localhost/pause:3.9' }],
      registry: [{ ref: '127.0.0.1:5000/contract:1', defaultCommand: ['sh'], pullDelayMs: 300 }],
    });
    const h: ContractHarness = {
      runtime,
      image: 'localhost/busybox:latest',
      pullableImage: '127.0.0.1:5000/contract:1',
      missingImage: '127.0.0.1:5000/contract:nope',
      logRoot: dir,
      now: () => clock.now(),
      async eventually(fn, timeoutMs, what) {
        const end = clock.now() + timeoutMs;
        for (;;) {
          const v = await fn();
          if (v !== undefined && v !== false) return v;
          if (clock.now() >= end) throw new Error(`timed out waiting for ${what}`);
          await clock.advance(100);
        }
      },
      async during(p) {
        let settled = false;
        const tracked = p.finally(() => (settled = true));
        tracked.catch(() => undefined);
        for (let i = 0; i < 100_000 && !settled; i++) await clock.advance(100);
        return tracked;
      },
    };
    // pulls take simulated time: let the clock run while they are pending
    const pull = runtime.pullImage.bind(runtime);
    runtime.pullImage = (image, auth, cfg) => h.during(pull(image, auth, cfg));
    return h;
  },
  async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
);
