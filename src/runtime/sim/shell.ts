// A tiny busybox-sh interpreter for the simulated runtime.
//
// Simulated containers run the same commands tests give real busybox containers
// (`sh -c 'echo hi; sleep 2; exit 3'`, `touch /tmp/healthy; sleep 600`, `tail /dev/zero`), so one
// pod spec behaves the same under containerd and under sim. Time passes on the injected Clock.
//
// Supported: `;`, `&&`, `||`, newlines, `cmd &` + `wait`, `while COND; do LIST; done`, single and
// double quotes, $VAR / ${VAR} from the container's env, `>&2`, `> file`, `>> file`; commands
// sleep, exit, exec, echo, printf (plain), true, false, :, trap, touch, rm, cat, test/[ -f|-e ], tail
// /dev/zero, wait, httpd/nc (run forever), env var assignments (ignored). Anything else: "not
// found", status 127, as sh says.
//
// Signals follow what containerd + runc show for a container's main process: an untrapped SIGTERM
// ends it (exit 143); `trap '' TERM` ignores it; a trapped signal runs its handler only once the
// foreground command ends (sh defers traps), or at once while the shell is in `wait`. SIGKILL
// ends everything (exit 137).

import type { Clock } from '../../util/clock.js';

export type Word = string;

export interface SimpleCommand {
  kind: 'cmd';
  argv: Word[];
  /** Redirection of stdout: '&2' for stderr, or a file path. */
  stdoutTo?: { target: string; append: boolean };
  background: boolean;
}

export interface WhileLoop {
  kind: 'while';
  cond: Pipeline;
  body: Statement[];
}

/** A chain `a && b || c`. */
export interface Pipeline {
  kind: 'chain';
  first: SimpleCommand;
  rest: { op: '&&' | '||'; cmd: SimpleCommand }[];
}

export type Statement = Pipeline | WhileLoop;

// ---------------------------------------------------------------- tokenizer

type Token = { t: 'word'; v: string; quoted: boolean } | { t: 'op'; v: string };

function tokenize(src: string, env: Record<string, string>): Token[] {
  const out: Token[] = [];
  let i = 0;
  const expand = (s: string): string =>
    s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string, b: string) => env[a ?? b] ?? '');
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\n' || c === ';') {
      out.push({ t: 'op', v: ';' });
      i++;
      continue;
    }
    if (src.startsWith('&&', i) || src.startsWith('||', i) || src.startsWith('>>', i) || src.startsWith('>&2', i)) {
      const v = src.startsWith('>&2', i) ? '>&2' : src.slice(i, i + 2);
      out.push({ t: 'op', v });
      i += v.length;
      continue;
    }
    if (c === '&' || c === '>' || c === '|') {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    // a word, possibly made of quoted parts
    let word = '';
    let quoted = false;
    while (i < src.length && !' \t\n;&|>'.includes(src[i]!)) {
      const ch = src[i]!;
      if (ch === "'") {
        const end = src.indexOf("'", i + 1);
        if (end < 0) throw new Error('unterminated quote');
        word += src.slice(i + 1, end);
        quoted = true;
        i = end + 1;
      } else if (ch === '"') {
        let j = i + 1;
        let part = '';
        while (j < src.length && src[j] !== '"') {
          if (src[j] === '\\' && j + 1 < src.length) {
            part += src[j + 1];
            j += 2;
          } else part += src[j++];
        }
        if (j >= src.length) throw new Error('unterminated quote');
        word += expand(part);
        quoted = true;
        i = j + 1;
      } else if (ch === '\\' && i + 1 < src.length) {
        word += src[i + 1];
        i += 2;
      } else {
        let j = i;
        while (j < src.length && !' \t\n;&|>\'"\\'.includes(src[j]!)) j++;
        word += expand(src.slice(i, j));
        i = j;
      }
    }
    out.push({ t: 'word', v: word, quoted });
  }
  return out;
}

// ---------------------------------------------------------------- parser

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  parseList(until?: string[]): Statement[] {
    const stmts: Statement[] = [];
    for (;;) {
      this.skipSeparators();
      const tok = this.toks[this.i];
      if (!tok) break;
      if (until && tok.t === 'word' && !tok.quoted && until.includes(tok.v)) break;
      stmts.push(this.parseStatement());
    }
    return stmts;
  }

  private skipSeparators(): void {
    while (this.toks[this.i]?.t === 'op' && this.toks[this.i]!.v === ';') this.i++;
  }

  private parseStatement(): Statement {
    const tok = this.toks[this.i]!;
    if (tok.t === 'word' && !tok.quoted && tok.v === 'while') {
      this.i++;
      const cond = this.parseChain();
      this.skipSeparators();
      this.expectWord('do');
      const body = this.parseList(['done']);
      this.expectWord('done');
      return { kind: 'while', cond, body };
    }
    return this.parseChain();
  }

  private expectWord(w: string): void {
    const tok = this.toks[this.i];
    if (!tok || tok.t !== 'word' || tok.v !== w) throw new Error(`syntax error: expected "${w}"`);
    this.i++;
  }

  private parseChain(): Pipeline {
    const first = this.parseSimple();
    const rest: Pipeline['rest'] = [];
    for (;;) {
      const tok = this.toks[this.i];
      if (tok?.t === 'op' && (tok.v === '&&' || tok.v === '||')) {
        this.i++;
        rest.push({ op: tok.v, cmd: this.parseSimple() });
      } else break;
    }
    return { kind: 'chain', first, rest };
  }

  private parseSimple(): SimpleCommand {
    const cmd: SimpleCommand = { kind: 'cmd', argv: [], background: false };
    for (;;) {
      const tok = this.toks[this.i];
      if (!tok) break;
      if (tok.t === 'word') {
        if (cmd.argv.length === 0 && !tok.quoted && ['do', 'done'].includes(tok.v)) break;
        cmd.argv.push(tok.v);
        this.i++;
        continue;
      }
      if (tok.v === '>&2') {
        cmd.stdoutTo = { target: '&2', append: true };
        this.i++;
        continue;
      }
      if (tok.v === '>' || tok.v === '>>') {
        const target = this.toks[this.i + 1];
        if (!target || target.t !== 'word') throw new Error('syntax error: redirection without a file');
        cmd.stdoutTo = { target: target.v, append: tok.v === '>>' };
        this.i += 2;
        continue;
      }
      if (tok.v === '&') {
        cmd.background = true;
        this.i++;
        break;
      }
      break;
    }
    if (cmd.argv.length === 0) throw new Error('syntax error: empty command');
    return cmd;
  }
}

export function parseScript(src: string, env: Record<string, string> = {}): Statement[] {
  return new Parser(tokenize(src, env)).parseList();
}

// ---------------------------------------------------------------- interpreter

export interface ProcessIO {
  write(stream: 'stdout' | 'stderr', text: string): void;
}

/** What a simulated process can touch: its container's files and memory limit. */
export interface ProcessEnv {
  clock: Clock;
  env: Record<string, string>;
  files: Map<string, string>;
  /** Memory limit in bytes (0 = none): `tail /dev/zero` is OOM-killed under a limit. */
  memoryLimit: number;
  io: ProcessIO;
}

export type ExitKind = 'exit' | 'oom' | 'killed';
export interface ProcessExit {
  code: number;
  kind: ExitKind;
}

class ExitSignal {
  constructor(readonly exit: ProcessExit) {}
}

/** Commands the interpreter knows; the first word of a container's command must be one of these. */
export const knownCommands = new Set([
  'sh', 'sleep', 'exit', 'echo', 'printf', 'true', 'false', ':', 'trap', 'touch', 'rm', 'cat', 'test', '[',
  'tail', 'wait', 'exec', 'httpd', 'nc', 'pause', 'env', 'hostname', 'ls', 'mkdir', 'date',
]);

/**
 * A running simulated process. `done` settles when it exits; `signal()` delivers SIGTERM or
 * SIGKILL with PID 1 semantics.
 */
export class SimProcess {
  readonly done: Promise<ProcessExit>;
  private resolveDone!: (e: ProcessExit) => void;
  private finished = false;
  private readonly kill = new AbortController();
  /** Aborted when a trapped signal arrives while the shell sits in `wait`. */
  private waitInterrupt = new AbortController();
  private trapTerm: Statement[] | 'ignore' | undefined;
  private pendingTrap = false;
  private inWait = false;
  private jobs: Promise<number>[] = [];

  constructor(
    private readonly penv: ProcessEnv,
    private readonly program: Statement[],
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  static fromArgv(penv: ProcessEnv, argv: string[]): SimProcess {
    return new SimProcess(penv, programFromArgv(argv, penv.env));
  }

  get exited(): boolean {
    return this.finished;
  }

  start(): this {
    void this.run();
    return this;
  }

  signal(sig: 'TERM' | 'KILL'): void {
    if (this.finished) return;
    if (sig === 'KILL') {
      this.finish({ code: 137, kind: 'killed' });
      this.kill.abort();
      return;
    }
    if (this.trapTerm === 'ignore') return;
    if (!this.trapTerm) {
      // no handler: the default action ends the process (as containerd + runc show: exit 143)
      this.finish({ code: 128 + 15, kind: 'killed' });
      this.kill.abort();
      return;
    }
    this.pendingTrap = true;
    if (this.inWait) this.waitInterrupt.abort();
  }

  private finish(e: ProcessExit): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveDone(e);
  }

  private async run(): Promise<void> {
    try {
      const status = await this.runList(this.program);
      this.finish({ code: status, kind: 'exit' });
    } catch (e) {
      if (e instanceof ExitSignal) this.finish(e.exit);
      else if (!this.finished) {
        this.penv.io.write('stderr', `sh: ${(e as Error).message}\n`);
        this.finish({ code: 2, kind: 'exit' });
      }
    }
    this.kill.abort();
  }

  private async runList(stmts: Statement[]): Promise<number> {
    let status = 0;
    for (const s of stmts) {
      status = s.kind === 'while' ? await this.runWhile(s) : await this.runChain(s);
      await this.checkTrap();
    }
    return status;
  }

  private async runWhile(w: WhileLoop): Promise<number> {
    let status = 0;
    let iterations = 0;
    while ((await this.runChain(w.cond)) === 0) {
      status = await this.runList(w.body);
      // a loop that never sleeps would spin forever in simulated time: yield to the clock
      if (++iterations % 1000 === 0) await this.sleep(1);
    }
    return status;
  }

  private async runChain(p: Pipeline): Promise<number> {
    let status = await this.runCommand(p.first);
    for (const { op, cmd } of p.rest) {
      if ((op === '&&' && status === 0) || (op === '||' && status !== 0)) status = await this.runCommand(cmd);
    }
    return status;
  }

  private async checkTrap(): Promise<void> {
    if (!this.pendingTrap || this.finished) return;
    this.pendingTrap = false;
    if (Array.isArray(this.trapTerm)) {
      const status = await this.runList(this.trapTerm);
      throw new ExitSignal({ code: status, kind: 'exit' });
    }
  }

  private async sleep(ms: number): Promise<void> {
    if (this.finished) throw new ExitSignal({ code: 137, kind: 'killed' });
    await this.penv.clock.sleep(ms, this.kill.signal).catch(() => {
      throw new ExitSignal({ code: 137, kind: 'killed' });
    });
  }

  private async forever(): Promise<never> {
    await new Promise<void>((_, reject) => {
      if (this.kill.signal.aborted) reject(new Error('killed'));
      this.kill.signal.addEventListener('abort', () => reject(new Error('killed')), { once: true });
    }).catch(() => undefined);
    throw new ExitSignal({ code: 137, kind: 'killed' });
  }

  private out(cmd: SimpleCommand, text: string): void {
    const to = cmd.stdoutTo;
    if (!to) this.penv.io.write('stdout', text);
    else if (to.target === '&2') this.penv.io.write('stderr', text);
    else if (to.target === '/dev/null') return;
    else this.penv.files.set(to.target, (to.append ? (this.penv.files.get(to.target) ?? '') : '') + text);
  }

  private runCommand(cmd: SimpleCommand): Promise<number> {
    if (cmd.background) {
      const job = this.exec({ ...cmd, background: false });
      job.catch(() => undefined);
      this.jobs.push(job.catch(() => 0));
      return Promise.resolve(0);
    }
    return this.exec(cmd);
  }

  private async exec(cmd: SimpleCommand): Promise<number> {
    if (this.finished) throw new ExitSignal({ code: 137, kind: 'killed' });
    const [name0, ...args] = cmd.argv;
    if (name0 === undefined) return 0;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(name0)) return 0; // variable assignment
    const name = name0.replace(/^.*\//, '');
    const files = this.penv.files;
    switch (name) {
      case 'sleep': {
        const arg = args[0] ?? '';
        if (arg === 'infinity') return this.forever();
        const secs = Number(arg.replace(/s$/, ''));
        if (!Number.isFinite(secs) || secs < 0) {
          this.penv.io.write('stderr', `sleep: invalid number '${arg}'\n`);
          return 1;
        }
        await this.sleep(secs * 1000);
        return 0;
      }
      case 'exit':
        throw new ExitSignal({ code: Number(args[0] ?? 0) & 0xff, kind: 'exit' });
      case 'echo': {
        let a = args;
        let nl = '\n';
        if (a[0] === '-n') {
          a = a.slice(1);
          nl = '';
        }
        this.out(cmd, a.join(' ') + nl);
        return 0;
      }
      case 'printf':
        this.out(cmd, (args[0] ?? '').replace(/\\n/g, '\n'));
        return 0;
      case 'true':
      case ':':
        return 0;
      case 'false':
        return 1;
      case 'trap': {
        const [action, ...sigs] = args;
        if (sigs.some((s) => s === 'TERM' || s === 'SIGTERM' || s === '15')) {
          this.trapTerm = action === '' || action === undefined ? 'ignore' : parseScript(action, this.penv.env);
        }
        return 0;
      }
      case 'touch':
        for (const f of args) if (!files.has(f)) files.set(f, '');
        return 0;
      case 'rm':
        for (const f of args.filter((x) => !x.startsWith('-'))) files.delete(f);
        return 0;
      case 'mkdir':
        return 0;
      case 'cat': {
        let status = 0;
        for (const f of args) {
          const content = files.get(f);
          if (content === undefined) {
            this.penv.io.write('stderr', `cat: can't open '${f}': No such file or directory\n`);
            status = 1;
          } else this.out(cmd, content);
        }
        return status;
      }
      case 'test':
      case '[': {
        const a = name === '[' ? args.slice(0, -1) : args;
        if ((a[0] === '-f' || a[0] === '-e') && a[1] !== undefined) return files.has(a[1]) ? 0 : 1;
        return a.length > 0 && a[0] !== '' ? 0 : 1;
      }
      case 'tail':
        if (args.includes('/dev/zero')) {
          if (this.penv.memoryLimit > 0) {
            await this.sleep(50); // the time it takes to fill the limit
            throw new ExitSignal({ code: 137, kind: 'oom' });
          }
          return this.forever();
        }
        if (args.includes('-f')) return this.forever();
        return 0;
      case 'wait':
        return this.waitJobs();
      case 'exec':
        return this.exec({ ...cmd, argv: args });
      case 'httpd':
      case 'nc':
      case 'pause':
        return this.forever();
      case 'hostname':
        this.out(cmd, (this.penv.env['HOSTNAME'] ?? 'sim') + '\n');
        return 0;
      case 'env':
        this.out(cmd, Object.entries(this.penv.env).map(([k, v]) => `${k}=${v}\n`).join(''));
        return 0;
      case 'date':
        this.out(cmd, new Date(this.penv.clock.now()).toUTCString() + '\n');
        return 0;
      case 'ls':
        this.out(cmd, [...files.keys()].join('\n') + '\n');
        return 0;
      case 'sh': {
        if (args[0] === '-c' && args[1] !== undefined) return this.runList(parseScript(args[1], this.penv.env));
        return 0; // sh without a script and without stdin exits at once
      }
      default:
        this.penv.io.write('stderr', `sh: ${name0}: not found\n`);
        return 127;
    }
  }

  private async waitJobs(): Promise<number> {
    if (this.jobs.length === 0) return 0;
    this.inWait = true;
    this.waitInterrupt = new AbortController();
    const interrupted = new Promise<'interrupted'>((resolve) =>
      this.waitInterrupt.signal.addEventListener('abort', () => resolve('interrupted'), { once: true }),
    );
    if (this.pendingTrap) this.waitInterrupt.abort();
    const r = await Promise.race([Promise.all(this.jobs), interrupted]);
    this.inWait = false;
    if (r === 'interrupted') {
      await this.checkTrap();
      return 128 + 15;
    }
    this.jobs = [];
    return 0;
  }
}

/** Turns a container's argv into a program: `sh -c SCRIPT` is parsed, anything else is one command. */
export function programFromArgv(argv: string[], env: Record<string, string>): Statement[] {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return [];
  const base = cmd.replace(/^.*\//, '');
  if (base === 'sh' && args[0] === '-c' && args[1] !== undefined) return parseScript(args[1], env);
  return [{ kind: 'chain', first: { kind: 'cmd', argv, background: false }, rest: [] }];
}
