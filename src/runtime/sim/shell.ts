// A tiny busybox-sh interpreter for the simulated runtime.
//
// Simulated containers run the same commands tests give real busybox containers
// (`sh -c 'echo hi; sleep 2; exit 3'`, `touch /tmp/healthy; sleep 600`, `tail /dev/zero`), so one
// pod spec behaves the same under containerd and under sim. Time passes on the injected Clock.
//
// Supported: `;`, `&&`, `||`, newlines, `cmd &` + `wait`, `while COND; do LIST; done`, single and
// double quotes, backslash escapes, $VAR / ${VAR} from the container's env (unquoted expansions are
// field-split: an empty one is no argument at all), redirections `>`, `>>`, `N>`, `N>>`, `N>&M`
// (`>&2`, `2>&1`, `2>/dev/null`, ...); commands sleep, exit, exec, echo, printf (plain), true,
// false, :, trap, touch, rm, cat, test/[ -f|-e ], tail /dev/zero, wait, httpd/nc (run forever),
// env var assignments (ignored). Anything else: "not found", status 127, as sh says. A syntax
// error makes sh print `sh: ...` and exit 2.
//
// Signals follow what containerd + runc show for a container's main process: an untrapped SIGTERM
// ends it (exit 143), unless the process is PID 1 of its own PID namespace (the kubelet's default
// pid mode CONTAINER), where the kernel drops it; `trap '' TERM` ignores it; a trapped signal runs its handler only once the
// foreground command ends (sh defers traps), or at once while the shell is in `wait`; unless the
// handler exits, the script then goes on with its next command. `exec CMD` replaces the shell:
// nothing after it runs, and caught signals get their default action again (ignored ones stay
// ignored). SIGKILL ends everything (exit 137).

import type { Clock } from '../../util/clock.js';

export type Word = string;

/** Where a redirected stream goes: '&1' / '&2' for the shell's stdout / stderr, or a file path. */
export interface Redirect {
  target: string;
  append: boolean;
}

export interface SimpleCommand {
  kind: 'cmd';
  argv: Word[];
  /** Redirection of stdout: '&2' for the shell's stderr, or a file path. */
  stdoutTo?: Redirect;
  /** Redirection of stderr: '&1' for the shell's stdout, or a file path. */
  stderrTo?: Redirect;
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

/**
 * A word after expansion. `fields` are the arguments it stands for: usually one, none for an
 * unquoted expansion that is empty, several when an unquoted expansion contains blanks. `literal`
 * is the text of a word written without quotes, escapes or expansions (only those can be
 * keywords such as `do`).
 */
type Token =
  | { t: 'word'; fields: string[]; literal?: string }
  | { t: 'op'; v: ';' | '&&' | '||' | '&' | '|' }
  | { t: 'redir'; fd: number; op: '>' | '>>' | '>&' };

/** A piece of a word: text from quotes or escapes is never split, unquoted expansions are. */
interface Segment {
  text: string;
  quoted: boolean;
  split: boolean;
}

const wordEnd = ' \t\n;&|>';
const nameRe = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/y;
const redirRe = /(\d*)(>>|>&|>\||>)/y;

/** Joins a word's segments into fields, splitting unquoted expansions on blanks (IFS). */
function fieldsOf(segs: Segment[]): string[] {
  const fields: string[] = [];
  let cur = '';
  let has = false;
  for (const seg of segs) {
    if (!seg.split) {
      cur += seg.text;
      if (seg.quoted || seg.text !== '') has = true;
      continue;
    }
    const parts = seg.text.split(/[ \t\n]+/);
    for (let k = 0; k < parts.length; k++) {
      if (k > 0) {
        if (has) fields.push(cur);
        cur = '';
        has = false;
      }
      if (parts[k]) {
        cur += parts[k];
        has = true;
      }
    }
  }
  if (has) fields.push(cur);
  return fields;
}

function tokenize(src: string, env: Record<string, string>): Token[] {
  const out: Token[] = [];
  let i = 0;
  /** Expands $NAME or ${NAME} at src[at]; undefined when there is no variable name there. */
  const expandAt = (at: number): { value: string; end: number } | undefined => {
    nameRe.lastIndex = at;
    const m = nameRe.exec(src);
    if (!m) return undefined;
    return { value: env[(m[1] ?? m[2])!] ?? '', end: nameRe.lastIndex };
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '\\' && src[i + 1] === '\n') {
      i += 2; // line continuation
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
    if (src.startsWith('&&', i) || src.startsWith('||', i)) {
      out.push({ t: 'op', v: src.startsWith('&&', i) ? '&&' : '||' });
      i += 2;
      continue;
    }
    if (c === '&' || c === '|') {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    // a redirection operator, with an optional file descriptor number right before it (`2>`)
    redirRe.lastIndex = i;
    const r = redirRe.exec(src);
    if (r) {
      const op = r[2] === '>|' ? '>' : (r[2] as '>' | '>>' | '>&');
      out.push({ t: 'redir', fd: r[1] ? Number(r[1]) : 1, op });
      i = redirRe.lastIndex;
      continue;
    }
    // a word, possibly made of quoted parts
    const segs: Segment[] = [];
    let literal = true;
    while (i < src.length && !wordEnd.includes(src[i]!)) {
      const ch = src[i]!;
      if (ch === "'") {
        const end = src.indexOf("'", i + 1);
        if (end < 0) throw new Error('unterminated quote');
        segs.push({ text: src.slice(i + 1, end), quoted: true, split: false });
        literal = false;
        i = end + 1;
      } else if (ch === '"') {
        // inside double quotes a backslash escapes only $ ` " \ and newline; $VAR expands
        let j = i + 1;
        let part = '';
        while (j < src.length && src[j] !== '"') {
          const cj = src[j]!;
          if (cj === '\\' && j + 1 < src.length && '$`"\\\n'.includes(src[j + 1]!)) {
            if (src[j + 1] !== '\n') part += src[j + 1];
            j += 2;
          } else if (cj === '$') {
            const x = expandAt(j);
            if (x) {
              part += x.value;
              j = x.end;
            } else {
              part += cj;
              j++;
            }
          } else {
            part += cj;
            j++;
          }
        }
        if (j >= src.length) throw new Error('unterminated quote');
        segs.push({ text: part, quoted: true, split: false });
        literal = false;
        i = j + 1;
      } else if (ch === '\\' && i + 1 < src.length) {
        if (src[i + 1] !== '\n') segs.push({ text: src[i + 1]!, quoted: true, split: false });
        literal = false;
        i += 2;
      } else if (ch === '$' && expandAt(i)) {
        const x = expandAt(i)!;
        segs.push({ text: x.value, quoted: false, split: true });
        literal = false;
        i = x.end;
      } else {
        let j = i + 1;
        while (j < src.length && !(wordEnd + '\'"\\$').includes(src[j]!)) j++;
        segs.push({ text: src.slice(i, j), quoted: false, split: false });
        i = j;
      }
    }
    const tok: Token = { t: 'word', fields: fieldsOf(segs) };
    if (literal) tok.literal = segs.map((x) => x.text).join('');
    out.push(tok);
  }
  return out;
}

// ---------------------------------------------------------------- parser

/** Where fd 1 or 2 of a command points while its redirections are applied left to right. */
type Dest = { fd: 1 | 2 } | { file: string; append: boolean };

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  parseList(until?: string[]): Statement[] {
    const stmts: Statement[] = [];
    for (;;) {
      this.skipSeparators();
      const tok = this.toks[this.i];
      if (!tok) break;
      if (until && tok.t === 'word' && tok.literal !== undefined && until.includes(tok.literal)) break;
      stmts.push(this.parseStatement());
    }
    return stmts;
  }

  private skipSeparators(): void {
    for (;;) {
      const tok = this.toks[this.i];
      if (tok?.t === 'op' && tok.v === ';') this.i++;
      else break;
    }
  }

  private parseStatement(): Statement {
    const tok = this.toks[this.i]!;
    if (tok.t === 'word' && tok.literal === 'while') {
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
    if (!tok || tok.t !== 'word' || tok.literal !== w) throw new Error(`syntax error: expected "${w}"`);
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
    let words = 0;
    let redirs = 0;
    const fds: { 1: Dest; 2: Dest } = { 1: { fd: 1 }, 2: { fd: 2 } };
    for (;;) {
      const tok = this.toks[this.i];
      if (!tok) break;
      if (tok.t === 'word') {
        if (words === 0 && redirs === 0 && (tok.literal === 'do' || tok.literal === 'done')) break;
        cmd.argv.push(...tok.fields);
        words++;
        this.i++;
        continue;
      }
      if (tok.t === 'redir') {
        const target = this.toks[this.i + 1];
        if (!target || target.t !== 'word') throw new Error('syntax error: redirection without a file');
        if (target.fields.length !== 1) throw new Error('ambiguous redirect');
        const path = target.fields[0]!;
        let dest: Dest;
        if (tok.op === '>&') {
          if (path === '1' || path === '2') dest = { ...fds[path === '1' ? 1 : 2] };
          else if (path === '-') dest = { file: '/dev/null', append: true }; // closed: output is lost
          else throw new Error(`${path}: bad file descriptor`);
        } else if (path === '/dev/stdout' || path === '/dev/stderr') {
          dest = { ...fds[path === '/dev/stdout' ? 1 : 2] };
        } else {
          dest = { file: path, append: tok.op === '>>' };
        }
        if (tok.fd === 1 || tok.fd === 2) fds[tok.fd] = dest; // other descriptors: nothing writes to them
        redirs++;
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
    if (words === 0 && redirs === 0) throw new Error('syntax error: empty command');
    const out = fds[1];
    const err = fds[2];
    if ('file' in out) cmd.stdoutTo = { target: out.file, append: out.append };
    else if (out.fd === 2) cmd.stdoutTo = { target: '&2', append: true };
    if ('file' in err) cmd.stderrTo = { target: err.file, append: err.append };
    else if (err.fd === 1) cmd.stderrTo = { target: '&1', append: true };
    return cmd;
  }
}

/** Parses (and expands, from env) a script; throws an Error naming the syntax error. */
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
  /**
   * The process is PID 1 of its own PID namespace (CRI pid mode CONTAINER, the kubelet's default):
   * the kernel then drops signals it has no handler for, so an untrapped SIGTERM is ignored.
   * False for pid mode POD (the pause container is PID 1) and for exec'd processes.
   */
  pid1?: boolean;
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

/** Where a stream of the shell or of one command ends up. */
type Sink = { kind: 'stream'; stream: 'stdout' | 'stderr' } | { kind: 'file'; path: string } | { kind: 'null' };

/** The shell's open stdout and stderr (changed for good by `exec >file`), and whether it is a background job. */
interface ShellCtx {
  out: Sink;
  err: Sink;
  background: boolean;
}

/** A command's resolved output streams. */
interface CmdIO {
  out: (text: string) => void;
  err: (text: string) => void;
  sinks: { out: Sink; err: Sink };
}

const sleepUsage =
  'BusyBox v1.37.0 (nodelet sim) multi-call binary.\n\n' +
  'Usage: sleep [N]...\n\n' +
  'Pause for a time equal to the total of the args given, where each arg can\n' +
  'have an optional suffix of (s)econds, (m)inutes, (h)ours, or (d)ays\n';

const sleepUnits: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

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
  /** `$?`: the status of the last foreground command. */
  private lastStatus = 0;
  /** `$?` as it was before each trap handler now running (innermost last). */
  private readonly trapSaved: number[] = [];
  private readonly rootCtx: ShellCtx = { out: { kind: 'stream', stream: 'stdout' }, err: { kind: 'stream', stream: 'stderr' }, background: false };

  /** `program` is the parsed script, or the syntax error that sh reports (and exits 2) when it starts. */
  constructor(
    private readonly penv: ProcessEnv,
    private readonly program: Statement[] | Error,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Never throws: a script with a syntax error gives a process that prints it and exits 2, as sh does. */
  static fromArgv(penv: ProcessEnv, argv: string[]): SimProcess {
    let program: Statement[] | Error;
    try {
      program = programFromArgv(argv, penv.env);
    } catch (e) {
      program = e instanceof Error ? e : new Error(String(e));
    }
    return new SimProcess(penv, program);
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
      // PID 1 of a PID namespace: a signal without a handler is dropped
      if (this.penv.pid1) return;
      // otherwise the default action ends the process (exit 143)
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
      if (this.program instanceof Error) throw this.program;
      const status = await this.runList(this.program, this.rootCtx);
      this.finish({ code: status, kind: 'exit' });
    } catch (e) {
      if (e instanceof ExitSignal) this.finish(e.exit);
      else if (!this.finished) {
        this.write(this.rootCtx.err, `sh: ${(e as Error).message}\n`);
        this.finish({ code: 2, kind: 'exit' });
      }
    }
    this.kill.abort();
  }

  private async runList(stmts: Statement[], ctx: ShellCtx): Promise<number> {
    let status = 0;
    for (const s of stmts) {
      status = s.kind === 'while' ? await this.runWhile(s, ctx) : await this.runChain(s, ctx);
    }
    return status;
  }

  private async runWhile(w: WhileLoop, ctx: ShellCtx): Promise<number> {
    let status = 0;
    let iterations = 0;
    while ((await this.runChain(w.cond, ctx)) === 0) {
      status = await this.runList(w.body, ctx);
      // a loop that never sleeps would spin forever in simulated time: yield to the clock
      if (++iterations % 1000 === 0) await this.sleep(1);
    }
    return status;
  }

  private async runChain(p: Pipeline, ctx: ShellCtx): Promise<number> {
    let status = await this.runCommand(p.first, ctx);
    for (const { op, cmd } of p.rest) {
      if ((op === '&&' && status === 0) || (op === '||' && status !== 0)) status = await this.runCommand(cmd, ctx);
    }
    return status;
  }

  /** Runs a deferred trap handler, if a trapped signal arrived; the script then goes on (unless it exits). */
  private async checkTrap(): Promise<void> {
    if (!this.pendingTrap || this.finished) return;
    this.pendingTrap = false;
    const handler = this.trapTerm;
    if (!Array.isArray(handler)) return;
    const saved = this.lastStatus;
    this.trapSaved.push(saved);
    try {
      await this.runList(handler, this.rootCtx);
    } finally {
      this.trapSaved.pop();
    }
    this.lastStatus = saved; // $? after a trap action is what it was before
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

  private write(sink: Sink, text: string): void {
    if (sink.kind === 'stream') this.penv.io.write(sink.stream, text);
    else if (sink.kind === 'file') this.penv.files.set(sink.path, (this.penv.files.get(sink.path) ?? '') + text);
  }

  /** Opens a command's redirection relative to the shell's streams (`>` truncates here, once). */
  private open(to: Redirect | undefined, inherited: Sink, ctx: ShellCtx): Sink {
    if (!to) return inherited;
    if (to.target === '&1') return ctx.out;
    if (to.target === '&2') return ctx.err;
    if (to.target === '/dev/null') return { kind: 'null' };
    const files = this.penv.files;
    if (!to.append || !files.has(to.target)) files.set(to.target, '');
    return { kind: 'file', path: to.target };
  }

  private runCommand(cmd: SimpleCommand, ctx: ShellCtx): Promise<number> {
    if (cmd.background) {
      const job = this.exec({ ...cmd, background: false }, { ...ctx, background: true });
      job.catch(() => undefined);
      this.jobs.push(job.catch(() => 0));
      this.lastStatus = 0;
      return Promise.resolve(0);
    }
    return this.exec(cmd, ctx).then(async (status) => {
      this.lastStatus = status;
      await this.checkTrap();
      return status;
    });
  }

  private async exec(cmd: SimpleCommand, ctx: ShellCtx): Promise<number> {
    if (this.finished) throw new ExitSignal({ code: 137, kind: 'killed' });
    const out = this.open(cmd.stdoutTo, ctx.out, ctx);
    const err = this.open(cmd.stderrTo, ctx.err, ctx);
    const io: CmdIO = { out: (t) => this.write(out, t), err: (t) => this.write(err, t), sinks: { out, err } };
    return this.runArgv(cmd.argv, io, ctx);
  }

  private async runArgv(argv: string[], io: CmdIO, ctx: ShellCtx): Promise<number> {
    const [name0, ...args] = argv;
    if (name0 === undefined) return 0; // only redirections (or expansions that were empty)
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(name0)) return 0; // variable assignment
    const name = name0.replace(/^.*\//, '');
    const files = this.penv.files;
    switch (name) {
      case 'sleep': {
        if (args.length === 0) {
          io.err(sleepUsage);
          return 1;
        }
        if (args.length === 1 && args[0] === 'infinity') return this.forever();
        let secs = 0;
        for (const arg of args) {
          const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(arg);
          if (!m) {
            io.err(`sleep: invalid number '${arg}'\n`);
            return 1;
          }
          secs += Number(m[1]) * sleepUnits[m[2]!]!;
        }
        await this.sleep(Math.round(secs * 1000));
        return 0;
      }
      case 'exit': {
        let code = this.trapSaved.at(-1) ?? this.lastStatus; // no operand: $? (from before the trap, in a trap)
        if (args[0] !== undefined) {
          if (!/^-?\d+$/.test(args[0])) {
            io.err(`sh: exit: Illegal number: ${args[0]}\n`);
            code = 2;
          } else code = Number(args[0]);
        }
        throw new ExitSignal({ code: code & 0xff, kind: 'exit' });
      }
      case 'echo': {
        let a = args;
        let nl = '\n';
        if (a[0] === '-n') {
          a = a.slice(1);
          nl = '';
        }
        io.out(a.join(' ') + nl);
        return 0;
      }
      case 'printf':
        io.out((args[0] ?? '').replace(/\\n/g, '\n'));
        return 0;
      case 'true':
      case ':':
        return 0;
      case 'false':
        return 1;
      case 'trap': {
        const [action, ...sigs] = args;
        if (sigs.some((s) => s === 'TERM' || s === 'SIGTERM' || s === '15')) {
          this.trapTerm = action === '' || action === undefined ? 'ignore' : action === '-' ? undefined : parseScript(action, this.penv.env);
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
            io.err(`cat: can't open '${f}': No such file or directory\n`);
            status = 1;
          } else io.out(content);
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
      case 'exec': {
        if (args.length === 0) {
          // `exec >file 2>&1`: the redirections stay for the rest of the shell
          ctx.out = io.sinks.out;
          ctx.err = io.sinks.err;
          return 0;
        }
        if (ctx.background) return this.runArgv(args, io, ctx); // replaces only the background job
        // The command replaces the shell: caught signals get their default action back (ignored
        // ones stay ignored), and the process ends when the command does.
        if (this.trapTerm !== 'ignore') this.trapTerm = undefined;
        this.pendingTrap = false;
        const status = await this.runArgv(args, io, ctx);
        throw new ExitSignal({ code: status & 0xff, kind: 'exit' });
      }
      case 'httpd':
      case 'nc':
      case 'pause':
        return this.forever();
      case 'hostname':
        io.out((this.penv.env['HOSTNAME'] ?? 'sim') + '\n');
        return 0;
      case 'env':
        io.out(Object.entries(this.penv.env).map(([k, v]) => `${k}=${v}\n`).join(''));
        return 0;
      case 'date':
        io.out(new Date(this.penv.clock.now()).toUTCString() + '\n');
        return 0;
      case 'ls':
        io.out([...files.keys()].join('\n') + '\n');
        return 0;
      case 'sh': {
        if (args[0] === '-c' && args[1] !== undefined) {
          return this.runList(parseScript(args[1], this.penv.env), { out: io.sinks.out, err: io.sinks.err, background: ctx.background });
        }
        return 0; // sh without a script and without stdin exits at once
      }
      default:
        io.err(`sh: ${name0}: not found\n`);
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
    // interrupted by a trapped signal: wait returns >128 and the handler runs next (in runCommand)
    if (r === 'interrupted') return 128 + 15;
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
