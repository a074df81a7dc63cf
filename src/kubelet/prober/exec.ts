// Exec probes (models pkg/probe/exec/exec.go with the kubelet's execInContainer and the remote
// runtime's ExecSync error mapping).
//
// The command runs through CRI ExecSync with the probe's timeout. Exit code 0 is Success, any
// other exit code a Failure whose output is the command's stdout followed by its stderr (at most
// 10 KiB, as the kubelet's LimitWriter). A DeadlineExceededError is a Failure with the output
// `command "cat /tmp/healthy" timed out` (the ExecProbeTimeout gate, on since 1.20). Any other
// runtime error means the probe could not run: Unknown with the error.

import type { Runtime } from '../../runtime/types.js';
import { DeadlineExceededError } from '../../runtime/errors.js';
import { maxProbeOutputBytes, type HandlerOutcome } from './probe.js';

export async function execProbe(
  runtime: Pick<Runtime, 'execSync'>,
  containerId: string,
  command: string[],
  timeoutSeconds: number,
): Promise<HandlerOutcome> {
  try {
    const res = await runtime.execSync(containerId, command, timeoutSeconds);
    const data = Buffer.concat([res.stdout, res.stderr]).subarray(0, maxProbeOutputBytes).toString('utf8');
    return { result: res.exitCode === 0 ? 'Success' : 'Failure', output: data };
  } catch (err) {
    if (err instanceof DeadlineExceededError) {
      return { result: 'Failure', output: `command ${JSON.stringify(command.join(' '))} timed out` };
    }
    return { result: 'Unknown', output: '', error: err instanceof Error ? err : new Error(String(err)) };
  }
}
