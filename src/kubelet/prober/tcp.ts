// TCP probes (models pkg/probe/tcp/tcp.go): Success when a TCP connection to host:port opens
// within the timeout (it is closed at once); otherwise a Failure with Go's dial error
// ("dial tcp 10.88.0.5:8080: connect: connection refused", "... i/o timeout").
//
// The connection is closed with a RST, as Go's probe dialer (SO_LINGER 0) does: no TIME-WAIT
// socket is left for every probe run.
//
// Differences: the timeout is a Clock timer.

import { connect } from 'node:net';
import type { Clock } from '../../util/clock.js';
import { dialErrorMessage } from './http.js';
import { closeProbeSocket, joinHostPort, type HandlerOutcome } from './probe.js';

/** timeoutMs <= 0 means no timeout. */
export function tcpProbe(clock: Clock, host: string, port: number, timeoutMs: number): Promise<HandlerOutcome> {
  const addr = joinHostPort(host, port);
  return new Promise<HandlerOutcome>((resolve) => {
    let done = false;
    const socket = connect({ host, port });
    const finish = (o: HandlerOutcome): void => {
      if (done) return;
      done = true;
      timer?.stop();
      closeProbeSocket(socket);
      resolve(o);
    };
    const timer = timeoutMs > 0 ? clock.setTimeout(() => finish({ result: 'Failure', output: `dial tcp ${addr}: i/o timeout` }), timeoutMs) : undefined;
    socket.once('connect', () => finish({ result: 'Success', output: '' }));
    socket.on('error', (err) => finish({ result: 'Failure', output: dialErrorMessage(err, addr) }));
  });
}
