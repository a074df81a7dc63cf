// The `nodelet` command line (the kubelet binary's flags plus kubectl/crictl-style debugging verbs).

import { Command } from 'commander';
import { registerCriCommands } from './cri.js';
import { registerGetCommands } from './get.js';
import { registerDescribeCommands } from './describe.js';
import { registerLogsCommand } from './logs.js';
import { registerExecCommand } from './exec.js';
import { registerRunCommand } from './run.js';
import { registerControllerCommand } from './controller.js';
import { NodeletError } from '../util/errors.js';
import { version } from '../version.js';

export function buildProgram(): Command {
  const program = new Command();
  program.enablePositionalOptions();
  program.name('nodelet').description('A Kubernetes node agent (kubelet) in TypeScript').version(version, '--version');
  registerRunCommand(program);
  registerControllerCommand(program);
  registerCriCommands(program);
  registerGetCommands(program);
  registerDescribeCommands(program);
  registerLogsCommand(program);
  registerExecCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const msg = err instanceof NodeletError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`nodelet: ${msg}\n`);
    process.exitCode = 1;
  }
}
