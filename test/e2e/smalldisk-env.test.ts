// The small-disk environment (scripts/smalldisk-up.sh, test/smalldisk-env.ts) is what it claims:
// a second containerd whose image filesystem is a small loop-mounted ext4 filesystem whose usage
// moves with pulls and removals, and a registry that refuses pulls without the right credentials.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it, test } from 'node:test';
import { CriClient } from '../../src/runtime/cri/index.js';
import { testRuntimeEnv } from '../runtime-env.js';
import { duBytes, fillTo, fsUsage, imageFsInfoAfter, pushSizedImages, smallDiskEnv } from '../smalldisk-env.js';
import { eventually } from './helpers.js';

const env = smallDiskEnv();
const MiB = 1024 * 1024;

if (!env.available) {
  test('small-disk runtime environment', { skip: env.reason }, () => {});
} else {
  describe('small-disk runtime environment', { concurrency: false }, () => {
    let rt: CriClient;
    let sized: string[] = [];

    before(async () => {
      rt = await CriClient.connect({ endpoint: env.endpoint });
      sized = await pushSizedImages(['smalldisk-e2e/fill-a', 'smalldisk-e2e/fill-b'], 30);
      for (const img of [...sized, env.privateImage]) await rt.removeImage(img).catch(() => undefined);
    });

    after(async () => {
      for (const img of [...sized, env.privateImage]) await rt?.removeImage(img).catch(() => undefined);
      rt?.close();
    });

    it('is a second containerd, not the main one', async () => {
      assert.notEqual(env.endpoint, testRuntimeEnv().endpoint);
      const v = await rt.version();
      assert.equal(v.runtimeName, 'containerd');
      assert.equal(v.runtimeApiVersion, 'v1');
      const images = (await rt.listImages()).flatMap((i) => i.repoTags);
      assert.ok(images.includes(env.pauseImage) && images.includes(env.testImage), images.join(' '));
    });

    it('reports an image filesystem on the loop-mounted ext4 filesystem', async () => {
      const info = await rt.imageFsInfo();
      assert.equal(info.imageFilesystems.length, 1);
      assert.equal(info.imageFilesystems[0]!.fsId?.mountpoint, env.imageFsMountpoint);
      const [target, source, fstype] = execFileSync('findmnt', ['-n', '-r', '-o', 'TARGET,SOURCE,FSTYPE', '--target', env.imageFsMountpoint], { encoding: 'utf8' }).trim().split(' ');
      assert.equal(target, env.mountpoint);
      assert.equal(fstype, 'ext4');
      assert.match(source!, /^\/dev\/loop\d+$/);
      assert.equal(execFileSync('losetup', ['-n', '-O', 'BACK-FILE', source!], { encoding: 'utf8' }).trim(), env.imageFile);
      const u = fsUsage(env.mountpoint);
      assert.ok(u.capacityBytes > env.sizeMiB * MiB * 0.9 && u.capacityBytes <= env.sizeMiB * MiB, `capacity ${u.capacityBytes} for ${env.sizeMiB} MiB`);
    });

    it('a pull of a 30 MiB image takes ~60 MiB of it (blobs + snapshot) and RemoveImage gives it back', async () => {
      const u0 = fsUsage(env.mountpoint).usedBytes;
      const snap0 = duBytes(env.imageFsMountpoint);
      const [a, b] = sized as [string, string];
      const refA = await rt.pullImage(a);
      const grown = fsUsage(env.mountpoint).usedBytes - u0;
      assert.ok(grown > 57 * MiB && grown < 66 * MiB, `the filesystem grew by ${(grown / MiB).toFixed(1)} MiB`);
      const st = await rt.imageStatus(a);
      assert.ok(st && st.size > 30 * MiB && st.size < 33 * MiB, `ImageStatus size ${st?.size}`);
      // a second sized image is a distinct image and takes as much again
      const refB = await rt.pullImage(b);
      const pulledAt = Date.now();
      assert.notEqual(refA, refB);
      const grown2 = fsUsage(env.mountpoint).usedBytes - u0;
      assert.ok(grown2 > 2 * 57 * MiB && grown2 < 2 * 66 * MiB, `two images: ${(grown2 / MiB).toFixed(1)} MiB`);
      // ImageFsInfo: the snapshots only (30 MiB each), as of its next refresh
      const snap = duBytes(env.imageFsMountpoint);
      assert.ok(snap - snap0 > 2 * 29 * MiB && snap - snap0 < 2 * 33 * MiB, `snapshots grew by ${((snap - snap0) / MiB).toFixed(1)} MiB`);
      const info = await imageFsInfoAfter(rt, pulledAt);
      const reported = Number(info.usedBytes?.value ?? 0);
      assert.ok(Math.abs(reported - snap) < 2 * MiB, `ImageFsInfo usedBytes ${reported}, du of the snapshots ${snap}`);

      await rt.removeImage(a);
      await rt.removeImage(b);
      assert.equal(await rt.imageStatus(a), null);
      const left = await eventually(async () => {
        const d = fsUsage(env.mountpoint).usedBytes - u0;
        return d < 2 * MiB ? d : undefined;
      }, 10_000, 'the removed images to free their space');
      assert.ok(left < 2 * MiB);
    });

    it('pulls from the registry with basic auth only with the right credentials', async () => {
      await assert.rejects(rt.pullImage(env.privateImage), /401 Unauthorized/);
      await assert.rejects(rt.pullImage(env.privateImage, { username: env.username, password: 'wrong' }), /401 Unauthorized/);
      assert.equal(await rt.imageStatus(env.privateImage), null);
      const ref = await rt.pullImage(env.privateImage, env.auth);
      assert.match(ref, /^sha256:[0-9a-f]{64}$/);
      assert.equal((await rt.imageStatus(env.privateImage))?.id, ref);
      await rt.removeImage(env.privateImage);
      // the same credentials as a docker-config "auth" field
      const ref2 = await rt.pullImage(env.privateImage, { auth: Buffer.from(`${env.username}:${env.password}`).toString('base64') });
      assert.equal(ref2, ref);
      await rt.removeImage(env.privateImage);
    });

    it('fillTo fills the filesystem to a percentage and its clean-up frees it', () => {
      const before = fsUsage(env.mountpoint);
      const cleanup = fillTo(env.mountpoint, 90);
      try {
        const full = fsUsage(env.mountpoint);
        assert.ok(Math.abs(full.usedPercent - 90) < 0.5, `used ${full.usedPercent.toFixed(2)} %`);
        assert.equal(fillTo(env.mountpoint, 50)(), undefined); // fuller already: nothing written
        assert.ok(Math.abs(fsUsage(env.mountpoint).usedPercent - full.usedPercent) < 0.1);
      } finally {
        cleanup();
      }
      assert.ok(Math.abs(fsUsage(env.mountpoint).usedPercent - before.usedPercent) < 0.5);
    });
  });
}
