// Runs the project's TEST API server (test/apiserver: a test fixture, never a production mode)
// for demos: `node --import tsx scripts/test-apiserver.ts --port 6443 [--kubeconfig PATH]
// [--node NAME] [--http]`. Prints the admin kubeconfig path (and a node's, with --node) and
// serves until Ctrl-C.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestApiServer } from '../test/apiserver/index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '6443' },
    host: { type: 'string', default: '127.0.0.1' },
    kubeconfig: { type: 'string' },
    node: { type: 'string' },
    http: { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const s = await startTestApiServer({ port: Number(values.port), host: values.host, tls: !values.http });
  const admin = s.writeKubeconfig(values.kubeconfig ?? join(tmpdir(), `test-apiserver-${s.port}.kubeconfig`));
  console.log(`test apiserver serving on ${s.url}`);
  console.log(`admin kubeconfig: ${admin}`);
  if (values.node) {
    const p = s.writeKubeconfig(join(tmpdir(), `test-apiserver-${s.port}-${values.node}.kubeconfig`), { node: values.node });
    console.log(`node ${values.node} kubeconfig: ${p}`);
  }
  const stop = (): void => {
    void s.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
