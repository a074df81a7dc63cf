// gRPC probes (models pkg/probe/grpc/grpc.go): grpc.health.v1.Health/Check with the probe's
// service name over an insecure channel to podIP:port, User-Agent `kube-probe/1.30`. SERVING is
// Success ("service healthy"); any other status a Failure (`service unhealthy (responded with
// "NOT_SERVING")`); a server without the Health service, an RPC error or the timeout (connecting
// and calling share it, as upstream's context) a Failure with upstream's texts.
//
// Differences: the deadline is a Clock timer that cancels the call (with waitForReady, the
// behaviour of upstream's blocking dial), so the fake clock drives it in tests. The protocol comes
// from ./health.proto through @grpc/proto-loader. (DESIGN keeps gRPC in runtime/cri; a gRPC probe
// is the one other place that must speak it, to the container rather than to the runtime.)

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Clock } from '../../util/clock.js';
import { formatDuration } from '../../util/duration.js';
import { joinHostPort, probeUserAgent, type HandlerOutcome } from './probe.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * health.proto sits next to this file in src/; a build that did not copy it to dist/ still finds
 * it in the package's src/ (dist/kubelet/prober -> src/kubelet/prober).
 */
export const healthProtoPath = ((): string => {
  const local = join(here, 'health.proto');
  if (existsSync(local)) return local;
  const fromDist = join(here, '..', '..', '..', 'src', 'kubelet', 'prober', 'health.proto');
  return existsSync(fromDist) ? fromDist : local;
})();

let healthService: grpc.ServiceClientConstructor | undefined;

/** The grpc.health.v1.Health client constructor (also used by tests to build a server). */
export function loadHealthService(): grpc.ServiceClientConstructor {
  if (!healthService) {
    const def = protoLoader.loadSync(healthProtoPath, { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    healthService = pkg.grpc.health.v1.Health;
  }
  return healthService;
}

/** Go's codes.Code names. */
const codeNames: Record<number, string> = {
  0: 'OK',
  1: 'Canceled',
  2: 'Unknown',
  3: 'InvalidArgument',
  4: 'DeadlineExceeded',
  5: 'NotFound',
  6: 'AlreadyExists',
  7: 'PermissionDenied',
  8: 'ResourceExhausted',
  9: 'FailedPrecondition',
  10: 'Aborted',
  11: 'OutOfRange',
  12: 'Unimplemented',
  13: 'Internal',
  14: 'Unavailable',
  15: 'DataLoss',
  16: 'Unauthenticated',
};

type CheckFn = (
  req: { service: string },
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: { status?: string }) => void,
) => grpc.ClientUnaryCall;

/** timeoutMs <= 0 means no timeout. */
export function grpcProbe(clock: Clock, host: string, service: string, port: number, timeoutMs: number): Promise<HandlerOutcome> {
  const addr = joinHostPort(host, port);
  const Health = loadHealthService();
  const client = new Health(addr, grpc.credentials.createInsecure(), {
    'grpc.primary_user_agent': probeUserAgent('probe'),
    'grpc.enable_http_proxy': 0,
    'grpc.enable_retries': 0,
  });
  const timeoutText = formatDuration(timeoutMs);
  return new Promise<HandlerOutcome>((resolve) => {
    let done = false;
    const finish = (o: HandlerOutcome): void => {
      if (done) return;
      done = true;
      timer?.stop();
      client.close();
      resolve(o);
    };
    const md = new grpc.Metadata({ waitForReady: true });
    const check = (client as unknown as { Check: CheckFn }).Check.bind(client);
    const call = check({ service }, md, {}, (err, res) => {
      if (done) return;
      if (err) {
        switch (err.code) {
          case grpc.status.UNIMPLEMENTED:
            finish({ result: 'Failure', output: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${err.details}` });
            return;
          case grpc.status.DEADLINE_EXCEEDED:
            finish({ result: 'Failure', output: `timeout: health rpc did not complete within ${timeoutText}` });
            return;
          default:
            finish({ result: 'Failure', output: `error: health rpc probe failed: rpc error: code = ${codeNames[err.code] ?? `Code(${err.code})`} desc = ${err.details}` });
            return;
        }
      }
      const status = res?.status ?? 'UNKNOWN';
      if (status !== 'SERVING') {
        finish({ result: 'Failure', output: `service unhealthy (responded with ${JSON.stringify(status)})` });
        return;
      }
      finish({ result: 'Success', output: 'service healthy' });
    });
    const timer =
      timeoutMs > 0
        ? clock.setTimeout(() => {
            if (done) return;
            const connected = client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY;
            call.cancel();
            finish({
              result: 'Failure',
              output: connected
                ? `timeout: health rpc did not complete within ${timeoutText}`
                : `timeout: failed to connect service ${JSON.stringify(addr)} within ${timeoutText}: context deadline exceeded`,
            });
          }, timeoutMs)
        : undefined;
  });
}
