import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../util/clock.js';
import { knownCommands, parseScript, programFromArgv, SimProcess, type Pipeline, type ProcessExit, type SimpleCommand, type Statement } from './shell.js';

// ------------------------------------------------------------------ helpers

function cmd(argv: string[], extra: Partial<SimpleCommand> = {}): SimpleCommand {
  return { kind: 'cmd', argv, background: false, ...extra };
}

function chain(first: SimpleCommand, ...rest: [op: '&&' | '||', c: SimpleCommand][]): Pipeline {
  return { kind: 'chain', first, rest: rest.map(([op, c]) => ({ op, cmd: c })) };
}

interface Run {
  clock: FakeClock;
  proc: SimProcess;
  stdout: () => string;
  stderr: () => string;
  files: Map<string, string>;
  /** The exit, once the process has ended. */
  exit: () => ProcessExit | undefined;
  /** Fake time at which the process ended. */
  exitedAt: () => number | undefined;
}

/** Starts a process on a fake clock at t=0; a string is run as `sh -c SCRIPT`. */
async function start(
  program: string | string[],
  opts: { env?: Record<string, string>; memoryLimit?: number; files?: Map<string, string> } = {},
): Promise<Run> {
  const clock = new FakeClock(0);
  const out = { stdout: '', stderr: '' };
  const files = opts.files ?? new Map<string, string>();
  const argv = typeof program === 'string' ? ['sh', '-c', program] : program;
  const proc = SimProcess.fromArgv(
    { clock, env: opts.env ?? {}, files, memoryLimit: opts.memoryLimit ?? 0, io: { write: (s, t) => (out[s] += t) } },
    argv,
  );
  let exit: ProcessExit | undefined;
  let exitedAt: number | undefined;
  void proc.done.then((e) => {
    exit = e;
    exitedAt = clock.now();
  });
  proc.start();
  await clock.advance(0);
  return { clock, proc, stdout: () => out.stdout, stderr: () => out.stderr, files, exit: () => exit, exitedAt: () => exitedAt };
}

// ------------------------------------------------------------------ parser

describe('parseScript', () => {
  const cases: { name: string; src: string; env?: Record<string, string>; want: Statement[] }[] = [
    { name: 'empty script', src: '', want: [] },
    { name: 'only separators and comments', src: ' ;\n ; # nothing here\n', want: [] },
    { name: 'one command', src: 'echo hi', want: [chain(cmd(['echo', 'hi']))] },
    { name: '`;` separates', src: 'echo a; echo b;', want: [chain(cmd(['echo', 'a'])), chain(cmd(['echo', 'b']))] },
    { name: 'newlines separate', src: 'echo a\necho b\n\n', want: [chain(cmd(['echo', 'a'])), chain(cmd(['echo', 'b']))] },
    { name: 'tabs and repeated spaces', src: '\techo   a\t b', want: [chain(cmd(['echo', 'a', 'b']))] },
    {
      name: '&& and ||',
      src: 'test -f /x && echo yes || echo no',
      want: [chain(cmd(['test', '-f', '/x']), ['&&', cmd(['echo', 'yes'])], ['||', cmd(['echo', 'no'])])],
    },
    { name: 'no spaces around operators', src: 'true&&false||echo x;exit 1', want: [chain(cmd(['true']), ['&&', cmd(['false'])], ['||', cmd(['echo', 'x'])]), chain(cmd(['exit', '1']))] },
    { name: 'single quotes keep spaces and $', src: "echo 'a  b' '$HOME'", env: { HOME: '/root' }, want: [chain(cmd(['echo', 'a  b', '$HOME']))] },
    { name: 'double quotes keep spaces, expand $', src: 'echo "a  $X" "${X}y"', env: { X: '1' }, want: [chain(cmd(['echo', 'a  1', '1y']))] },
    { name: 'quotes join with adjacent text', src: `echo pre'mid dle'"post"x`, want: [chain(cmd(['echo', 'premid dlepostx']))] },
    { name: 'quoted operators are text', src: `echo 'a; b && c > d' "e | f"`, want: [chain(cmd(['echo', 'a; b && c > d', 'e | f']))] },
    { name: 'escaped quote in double quotes', src: 'echo "say \\"hi\\""', want: [chain(cmd(['echo', 'say "hi"']))] },
    { name: 'backslash escapes outside quotes', src: 'echo a\\ b \\$X', env: { X: '1' }, want: [chain(cmd(['echo', 'a b', '$X']))] },
    { name: '$VAR and ${VAR}', src: 'echo $A ${B}x $A$B', env: { A: '1', B: '2' }, want: [chain(cmd(['echo', '1', '2x', '12']))] },
    { name: 'unset variable is empty', src: 'echo "[$NOPE]"', want: [chain(cmd(['echo', '[]']))] },
    { name: 'expansion happens at parse time from env', src: 'echo $POD_NAME', env: { POD_NAME: 'web-0' }, want: [chain(cmd(['echo', 'web-0']))] },
    { name: 'a lone $ stays', src: 'echo $ 5$', want: [chain(cmd(['echo', '$', '5$']))] },
    { name: 'comment after a command', src: 'echo a # echo b\necho c', want: [chain(cmd(['echo', 'a'])), chain(cmd(['echo', 'c']))] },
    { name: '# inside a word is text', src: 'echo a#b', want: [chain(cmd(['echo', 'a#b']))] },
    { name: '>&2', src: 'echo oops >&2', want: [chain(cmd(['echo', 'oops'], { stdoutTo: { target: '&2', append: true } }))] },
    { name: '> file', src: 'echo a > /tmp/f', want: [chain(cmd(['echo', 'a'], { stdoutTo: { target: '/tmp/f', append: false } }))] },
    { name: '>file without a space', src: 'echo a >/tmp/f', want: [chain(cmd(['echo', 'a'], { stdoutTo: { target: '/tmp/f', append: false } }))] },
    { name: '>> file', src: 'echo a >> /tmp/f', want: [chain(cmd(['echo', 'a'], { stdoutTo: { target: '/tmp/f', append: true } }))] },
    { name: 'redirection before arguments', src: '> /tmp/f echo a', want: [chain(cmd(['echo', 'a'], { stdoutTo: { target: '/tmp/f', append: false } }))] },
    {
      name: 'cmd & + wait',
      src: 'sleep 100 & wait',
      want: [chain(cmd(['sleep', '100'], { background: true })), chain(cmd(['wait']))],
    },
    {
      name: 'two background jobs',
      src: 'sleep 1 & sleep 2 &\nwait',
      want: [chain(cmd(['sleep', '1'], { background: true })), chain(cmd(['sleep', '2'], { background: true })), chain(cmd(['wait']))],
    },
    {
      name: 'while true; do ...; done',
      src: 'while true; do echo x; sleep 1; done',
      want: [{ kind: 'while', cond: chain(cmd(['true'])), body: [chain(cmd(['echo', 'x'])), chain(cmd(['sleep', '1']))] }],
    },
    {
      name: 'while over lines, with a condition chain, then more',
      src: 'while test -f /a && true\ndo\n  echo x\ndone\necho end',
      want: [
        { kind: 'while', cond: chain(cmd(['test', '-f', '/a']), ['&&', cmd(['true'])]), body: [chain(cmd(['echo', 'x']))] },
        chain(cmd(['echo', 'end'])),
      ],
    },
    {
      name: 'nested while',
      src: 'while true; do while false; do :; done; sleep 1; done',
      want: [
        {
          kind: 'while',
          cond: chain(cmd(['true'])),
          body: [{ kind: 'while', cond: chain(cmd(['false'])), body: [chain(cmd([':']))] }, chain(cmd(['sleep', '1']))],
        },
      ],
    },
    { name: 'quoted do/done are words', src: `echo 'do' "done"`, want: [chain(cmd(['echo', 'do', 'done']))] },
    { name: 'empty quoted argument kept', src: `trap '' TERM`, want: [chain(cmd(['trap', '', 'TERM']))] },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      assert.deepEqual(parseScript(tc.src, tc.env ?? {}), tc.want);
    });
  }

  const errors: [string, RegExp][] = [
    ["echo 'open", /unterminated quote/],
    ['echo "open', /unterminated quote/],
    ['echo >', /redirection without a file/],
    ['echo >> ;', /redirection without a file/],
    ['&& echo', /empty command/],
    ['echo a &&', /empty command/],
    ['echo a | cat', /empty command/],
    ['while true; echo x; done', /expected "do"/],
    ['while true; do echo x', /expected "done"/],
    ['done', /empty command/],
  ];
  for (const [src, re] of errors) {
    it(`syntax error: ${JSON.stringify(src)}`, () => {
      assert.throws(() => parseScript(src), re);
    });
  }

  it('an escaped $ inside double quotes is not expanded', () => {
    assert.deepEqual(parseScript('echo "\\$A"', { A: '1' }), [chain(cmd(['echo', '$A']))]);
  });

  // POSIX quoting and expansion details
  const more: { name: string; src: string; env?: Record<string, string>; want: Statement[] }[] = [
    { name: 'a backslash before other characters stays inside double quotes', src: 'echo "a\\b" "\\\\"', want: [chain(cmd(['echo', 'a\\b', '\\']))] },
    { name: 'unset unquoted variables vanish; quoted ones stay empty arguments', src: 'echo $NOPE "$NOPE" ${NOPE}x', want: [chain(cmd(['echo', '', 'x']))] },
    { name: 'an unquoted expansion is split on blanks', src: 'echo $ARGS', env: { ARGS: ' -a  -b\tc ' }, want: [chain(cmd(['echo', '-a', '-b', 'c']))] },
    { name: 'split fields join adjacent text', src: 'echo x$ARGS"y"', env: { ARGS: '1 2' }, want: [chain(cmd(['echo', 'x1', '2y']))] },
    { name: 'a quoted expansion is not split', src: 'echo "$ARGS"', env: { ARGS: '1  2' }, want: [chain(cmd(['echo', '1  2']))] },
    { name: 'an empty expansion in command position is no command', src: '$NOPE; echo a', want: [chain(cmd([])), chain(cmd(['echo', 'a']))] },
    { name: 'keywords only when unquoted and unexpanded', src: 'echo $W', env: { W: 'done' }, want: [chain(cmd(['echo', 'done']))] },
    { name: 'line continuation', src: 'echo a \\\nb', want: [chain(cmd(['echo', 'a', 'b']))] },
    { name: '2>/dev/null', src: 'echo a 2>/dev/null', want: [chain(cmd(['echo', 'a'], { stderrTo: { target: '/dev/null', append: false } }))] },
    { name: '2> file with a space', src: 'echo a 2> /e', want: [chain(cmd(['echo', 'a'], { stderrTo: { target: '/e', append: false } }))] },
    { name: '2>> file', src: 'echo a 2>>/e', want: [chain(cmd(['echo', 'a'], { stderrTo: { target: '/e', append: true } }))] },
    { name: '1> is stdout', src: 'echo a 1>/o', want: [chain(cmd(['echo', 'a'], { stdoutTo: { target: '/o', append: false } }))] },
    { name: '1>&2 is >&2', src: 'echo a 1>&2', want: [chain(cmd(['echo', 'a'], { stdoutTo: { target: '&2', append: true } }))] },
    { name: '2>&1', src: 'echo a 2>&1', want: [chain(cmd(['echo', 'a'], { stderrTo: { target: '&1', append: true } }))] },
    {
      name: '>file 2>&1: both into the file',
      src: 'echo a >/f 2>&1',
      want: [chain(cmd(['echo', 'a'], { stdoutTo: { target: '/f', append: false }, stderrTo: { target: '/f', append: false } }))],
    },
    { name: '2>&1 >file: stderr to the old stdout', src: 'echo a 2>&1 >/f', want: [chain(cmd(['echo', 'a'], { stdoutTo: { target: '/f', append: false } , stderrTo: { target: '&1', append: true } }))] },
    { name: 'a digit inside a word is an argument', src: 'echo a2>/f', want: [chain(cmd(['echo', 'a2'], { stdoutTo: { target: '/f', append: false } }))] },
    { name: 'a quoted digit is an argument', src: `echo '2'>/f`, want: [chain(cmd(['echo', '2'], { stdoutTo: { target: '/f', append: false } }))] },
    { name: 'a redirection alone is a command', src: '> /f', want: [chain(cmd([], { stdoutTo: { target: '/f', append: false } }))] },
    { name: '>/dev/stderr', src: 'echo a >/dev/stderr', want: [chain(cmd(['echo', 'a'], { stdoutTo: { target: '&2', append: true } }))] },
  ];
  for (const tc of more) {
    it(tc.name, () => {
      assert.deepEqual(parseScript(tc.src, tc.env ?? {}), tc.want);
    });
  }

  for (const [src, re] of [
    ['echo a >&x', /bad file descriptor/],
    ['echo a > $NOPE', /ambiguous redirect/],
    ['echo 2>', /redirection without a file/],
  ] as const) {
    it(`syntax error: ${JSON.stringify(src)}`, () => {
      assert.throws(() => parseScript(src), re);
    });
  }
});

describe('programFromArgv', () => {
  const cases: { argv: string[]; want: Statement[] }[] = [
    { argv: [], want: [] },
    { argv: ['sh', '-c', 'echo a; echo b'], want: [chain(cmd(['echo', 'a'])), chain(cmd(['echo', 'b']))] },
    { argv: ['/bin/sh', '-c', 'exit 1'], want: [chain(cmd(['exit', '1']))] },
    { argv: ['sleep', '3600'], want: [chain(cmd(['sleep', '3600']))] },
    { argv: ['echo', 'a; b'], want: [chain(cmd(['echo', 'a; b']))] }, // not a script: one command
    { argv: ['sh'], want: [chain(cmd(['sh']))] },
  ];
  for (const tc of cases) {
    it(JSON.stringify(tc.argv), () => {
      assert.deepEqual(programFromArgv(tc.argv, {}), tc.want);
    });
  }

  it('knownCommands has the supported commands and not others', () => {
    for (const c of ['sh', 'sleep', 'echo', 'tail', 'trap', 'wait', 'exec', 'test', '[', 'pause']) assert.ok(knownCommands.has(c), c);
    for (const c of ['bash', 'python', '/bin/sh', 'curl']) assert.ok(!knownCommands.has(c), c);
  });
});

// ------------------------------------------------------------------ interpreter

describe('SimProcess: commands', () => {
  const cases: { name: string; program: string | string[]; env?: Record<string, string>; code: number; stdout?: string; stderr?: string | RegExp }[] = [
    { name: 'echo; exit 3', program: ['sh', '-c', 'echo hi; exit 3'], code: 3, stdout: 'hi\n', stderr: '' },
    { name: 'end of script: status of the last command', program: 'true; false', code: 1 },
    { name: 'empty script', program: '', code: 0, stdout: '' },
    { name: 'exit without a status after success', program: 'true; exit', code: 0 },
    { name: 'exit status is taken mod 256', program: 'exit 300', code: 44 },
    { name: 'echo -n', program: 'echo -n a; echo b', code: 0, stdout: 'ab\n' },
    { name: 'echo joins arguments with one space', program: 'echo a   b "c  d"', code: 0, stdout: 'a b c  d\n' },
    { name: 'env expansion', program: 'echo $GREETING ${NAME}!', env: { GREETING: 'hello', NAME: 'pod' }, code: 0, stdout: 'hello pod!\n' },
    { name: 'printf turns \\n into newlines', program: "printf 'a\\nb\\n'", code: 0, stdout: 'a\nb\n' },
    { name: '>&2 goes to stderr', program: 'echo out; echo err >&2', code: 0, stdout: 'out\n', stderr: 'err\n' },
    { name: '&& runs on success', program: 'true && echo yes', code: 0, stdout: 'yes\n' },
    { name: '&& skips on failure', program: 'false && echo yes', code: 1, stdout: '' },
    { name: '|| runs on failure', program: 'false || echo fallback', code: 0, stdout: 'fallback\n' },
    { name: '|| skips on success', program: 'true || echo no', code: 0, stdout: '' },
    { name: 'chain status', program: 'false || false && echo x', code: 1, stdout: '' },
    { name: ': is true', program: ':', code: 0 },
    { name: 'unknown command in a script', program: 'nosuchcmd --flag', code: 127, stderr: 'sh: nosuchcmd: not found\n' },
    { name: 'unknown command as argv', program: ['/usr/bin/nosuch'], code: 127, stderr: /not found/ },
    { name: 'script continues after a missing command', program: 'nosuch; echo after', code: 0, stdout: 'after\n', stderr: /nosuch: not found/ },
    { name: 'a command by path', program: '/bin/echo via path', code: 0, stdout: 'via path\n' },
    { name: 'a command by path as argv', program: ['/bin/sh', '-c', 'exit 4'], code: 4 },
    { name: 'nested sh -c', program: `sh -c 'echo inner; exit 6'`, code: 6, stdout: 'inner\n' },
    { name: 'exit in nested sh -c ends the process', program: `sh -c 'exit 6'; echo not-reached`, code: 6, stdout: '' },
    { name: 'sh without a script exits 0', program: ['sh'], code: 0 },
    { name: 'hostname from env', program: 'hostname', env: { HOSTNAME: 'web-0' }, code: 0, stdout: 'web-0\n' },
    { name: 'env lists the environment', program: 'env', env: { A: '1', B: 'two' }, code: 0, stdout: 'A=1\nB=two\n' },
    { name: 'variable assignment is ignored', program: 'X=1; echo "[$X]"', code: 0, stdout: '[]\n' },
    { name: 'invalid sleep', program: 'sleep abc', code: 1, stderr: "sleep: invalid number 'abc'\n" },
    { name: 'syntax error in a nested sh -c', program: `sh -c "echo 'open"; echo not-reached`, code: 2, stdout: '', stderr: 'sh: unterminated quote\n' },
    { name: 'while false never runs its body', program: 'while false; do echo x; done; echo end', code: 0, stdout: 'end\n' },
  ];
  for (const tc of cases) {
    it(tc.name, async () => {
      const r = await start(tc.program, tc.env ? { env: tc.env } : {});
      assert.deepEqual(r.exit(), { code: tc.code, kind: 'exit' }, `exit of ${JSON.stringify(tc.program)}`);
      assert.equal(r.exitedAt(), 0, 'no time passed');
      if (tc.stdout !== undefined) assert.equal(r.stdout(), tc.stdout);
      if (tc.stderr instanceof RegExp) assert.match(r.stderr(), tc.stderr);
      else if (tc.stderr !== undefined) assert.equal(r.stderr(), tc.stderr);
    });
  }

  it('a syntax error in the main script exits 2 instead of throwing', async () => {
    const r = await start(['sh', '-c', "echo 'open"]);
    assert.deepEqual(r.exit(), { code: 2, kind: 'exit' });
    assert.match(r.stderr(), /unterminated/);
  });

  it('exit without a status uses the last command’s status', async () => {
    const r = await start('false; exit');
    assert.deepEqual(r.exit(), { code: 1, kind: 'exit' });
  });

  it('an unset unquoted variable expands to no argument', async () => {
    const r = await start('echo $NOPE done');
    assert.equal(r.stdout(), 'done\n');
  });

  it('2>/dev/null does not swallow stdout', async () => {
    const r = await start('echo a 2>/dev/null');
    assert.equal(r.stdout(), 'a\n');
  });

  const redirections: { name: string; script: string; code?: number; stdout: string; stderr: string; files?: Record<string, string> }[] = [
    { name: '2>/dev/null hides errors', script: 'nosuch 2>/dev/null; cat /nope 2>/dev/null', code: 1, stdout: '', stderr: '' },
    { name: '2>&1 sends errors to stdout', script: 'cat /nope 2>&1', code: 1, stdout: "cat: can't open '/nope': No such file or directory\n", stderr: '' },
    { name: '2>file', script: 'nosuch 2>/err; echo out', stdout: 'out\n', stderr: '', files: { '/err': 'sh: nosuch: not found\n' } },
    { name: '>file 2>&1 collects both, in order', script: 'touch /a; cat /a /nope /a >/log 2>&1; echo x >>/log', stdout: '', stderr: '', files: { '/a': '', '/log': "cat: can't open '/nope': No such file or directory\nx\n" } },
    { name: 'several writes of one command all land in the file', script: 'echo 1 >/a; echo 2 >/b; cat /a /b >/c', stdout: '', stderr: '', files: { '/a': '1\n', '/b': '2\n', '/c': '1\n2\n' } },
    { name: '2>&1 >file: errors to the terminal, output to the file', script: 'cat /nope /nope2 2>&1 >/f', code: 1, stdout: "cat: can't open '/nope': No such file or directory\ncat: can't open '/nope2': No such file or directory\n", stderr: '', files: { '/f': '' } },
    { name: '>&2 then 2>/dev/null: output still to the old stderr', script: 'echo a >&2 2>/dev/null', stdout: '', stderr: 'a\n' },
    { name: '>/dev/stderr', script: 'echo a >/dev/stderr', stdout: '', stderr: 'a\n' },
    { name: 'a redirection alone creates the file', script: '>/new; echo x >>/app; >>/app', stdout: '', stderr: '', files: { '/new': '', '/app': 'x\n' } },
    { name: 'exec >file redirects the rest of the script', script: 'echo before; exec >/log 2>&1; echo after; nosuch', code: 127, stdout: 'before\n', stderr: '', files: { '/log': 'after\nsh: nosuch: not found\n' } },
    { name: 'the redirection of sh -c applies to its commands', script: `sh -c 'echo in; echo err >&2' >/o 2>/e; echo out`, stdout: 'out\n', stderr: '', files: { '/o': 'in\n', '/e': 'err\n' } },
  ];
  for (const tc of redirections) {
    it(`redirection: ${tc.name}`, async () => {
      const r = await start(tc.script);
      assert.deepEqual(r.exit(), { code: tc.code ?? 0, kind: 'exit' });
      assert.equal(r.stdout(), tc.stdout);
      assert.equal(r.stderr(), tc.stderr);
      if (tc.files) assert.deepEqual(Object.fromEntries(r.files), tc.files);
    });
  }

  it('an escaped $ inside double quotes prints literally', async () => {
    const r = await start('echo "\\$HOME is $HOME"', { env: { HOME: '/root' } });
    assert.equal(r.stdout(), '$HOME is /root\n');
  });

  it('an unquoted variable with blanks gives several arguments', async () => {
    const r = await start('touch $FILES; ls', { env: { FILES: '/a /b' } });
    assert.equal(r.stdout(), '/a\n/b\n');
  });

  it('exit with a non-numeric status is an error (2)', async () => {
    const r = await start('exit abc; echo not-reached');
    assert.deepEqual(r.exit(), { code: 2, kind: 'exit' });
    assert.equal(r.stdout(), '');
    assert.equal(r.stderr(), 'sh: exit: Illegal number: abc\n');
  });

  it('exit -1 is 255', async () => {
    const r = await start('exit -1');
    assert.deepEqual(r.exit(), { code: 255, kind: 'exit' });
  });

  it('exit without a status after a missing command is 127', async () => {
    const r = await start('nosuch 2>/dev/null; exit');
    assert.deepEqual(r.exit(), { code: 127, kind: 'exit' });
  });

  it('sleep without an argument prints busybox’s usage and fails', async () => {
    const r = await start('sleep; echo status-ignored');
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
    assert.equal(r.exitedAt(), 0);
    assert.match(r.stderr(), /^BusyBox v[\d.]+ .*multi-call binary\.\n\nUsage: sleep \[N\]\.\.\.\n\nPause for a time equal to the total of the args given/);
    const alone = await start(['sleep']);
    assert.deepEqual(alone.exit(), { code: 1, kind: 'exit' });
    assert.match(alone.stderr(), /Usage: sleep \[N\]\.\.\./);
    assert.equal(alone.stdout(), '');
  });

  it('a syntax error as argv (sh -c) is reported on stderr, nothing runs', async () => {
    const r = await start(['sh', '-c', 'echo a; while true; do echo x']);
    assert.deepEqual(r.exit(), { code: 2, kind: 'exit' });
    assert.equal(r.stdout(), '');
    assert.equal(r.stderr(), 'sh: syntax error: expected "done"\n');
    assert.equal(r.proc.exited, true);
  });
});

describe('SimProcess: files', () => {
  const cases: { name: string; script: string; code: number; stdout?: string; stderr?: RegExp; files?: Record<string, string> }[] = [
    { name: 'touch then cat (empty file)', script: 'touch /tmp/x; cat /tmp/x', code: 0, stdout: '', files: { '/tmp/x': '' } },
    { name: 'test -f on a touched file', script: 'touch /tmp/x; test -f /tmp/x && echo yes', code: 0, stdout: 'yes\n' },
    { name: 'test -f on a missing file', script: 'test -f /tmp/nope', code: 1 },
    { name: 'test -e', script: 'touch /a; test -e /a', code: 0 },
    { name: '[ -f ] form', script: 'touch /tmp/ok; [ -f /tmp/ok ] && echo here; [ -f /tmp/no ] || echo gone', code: 0, stdout: 'here\ngone\n' },
    { name: 'test with a non-empty string', script: 'test abc', code: 0 },
    { name: 'test with an empty string', script: `test ''`, code: 1 },
    { name: 'cat of a missing file', script: 'cat /tmp/missing', code: 1, stdout: '', stderr: /cat: can't open '\/tmp\/missing': No such file or directory/ },
    { name: '> writes, >> appends', script: 'echo one > /f; echo two >> /f; cat /f', code: 0, stdout: 'one\ntwo\n', files: { '/f': 'one\ntwo\n' } },
    { name: '> truncates', script: 'echo one > /f; echo two > /f', code: 0, stdout: '', files: { '/f': 'two\n' } },
    { name: 'cat > copies', script: 'echo data > /a; cat /a > /b', code: 0, files: { '/a': 'data\n', '/b': 'data\n' } },
    { name: '>> creates a missing file', script: 'echo x >> /new', code: 0, files: { '/new': 'x\n' } },
    { name: '> /dev/null discards', script: 'echo gone > /dev/null', code: 0, stdout: '', files: {} },
    { name: 'touch keeps content', script: 'echo keep > /k; touch /k; cat /k', code: 0, stdout: 'keep\n' },
    { name: 'rm removes', script: 'touch /tmp/h; rm -f /tmp/h; test -f /tmp/h', code: 1, files: {} },
    { name: 'ls lists files', script: 'touch /a /b; ls', code: 0, stdout: '/a\n/b\n' },
    { name: 'healthy file probe script', script: 'touch /tmp/healthy; sleep 0; test -f /tmp/healthy', code: 0 },
  ];
  for (const tc of cases) {
    it(tc.name, async () => {
      const r = await start(tc.script);
      assert.deepEqual(r.exit(), { code: tc.code, kind: 'exit' });
      if (tc.stdout !== undefined) assert.equal(r.stdout(), tc.stdout);
      if (tc.stderr) assert.match(r.stderr(), tc.stderr);
      if (tc.files) assert.deepEqual(Object.fromEntries(r.files), tc.files);
    });
  }

  it('files are shared with whoever holds the map (exec sees the container’s files)', async () => {
    const files = new Map<string, string>([['/etc/config', 'v=1\n']]);
    const r = await start('cat /etc/config; touch /tmp/new', { files });
    assert.equal(r.stdout(), 'v=1\n');
    assert.ok(files.has('/tmp/new'));
  });
});

describe('SimProcess: time', () => {
  it('`sleep 5; exit 2` exits only after 5 s of fake time', async () => {
    const r = await start('sleep 5; exit 2');
    await r.clock.advance(4999);
    assert.equal(r.exit(), undefined);
    assert.equal(r.proc.exited, false);
    await r.clock.advance(1);
    assert.deepEqual(r.exit(), { code: 2, kind: 'exit' });
    assert.equal(r.exitedAt(), 5000);
    assert.equal(r.proc.exited, true);
  });

  const sleeps: [string, number][] = [
    ['sleep 1.5', 1500],
    ['sleep 2s', 2000],
    ['sleep 0', 0],
    ['sleep 1; sleep 2; sleep 3', 6000],
    ['sleep 1 2', 3000], // busybox adds its arguments
    ['sleep 1m', 60_000],
    ['sleep 1h', 3_600_000],
    ['sleep 1d', 86_400_000],
    ['sleep 1m 30s .5', 90_500],
    ['sleep 0.001', 1],
  ];
  for (const [script, ms] of sleeps) {
    it(`${script} takes ${ms} ms`, async () => {
      const r = await start(script);
      if (ms > 0) {
        await r.clock.advance(ms - 1);
        assert.equal(r.exit(), undefined);
        await r.clock.advance(1);
      }
      assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
      assert.equal(r.exitedAt(), ms);
    });
  }

  it('`exec sleep 10` runs sleep', async () => {
    const r = await start(['sh', '-c', 'exec sleep 10']);
    await r.clock.advance(9999);
    assert.equal(r.exit(), undefined);
    await r.clock.advance(1);
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
    assert.equal(r.exitedAt(), 10_000);
  });

  it('exec passes the command’s status through', async () => {
    const r = await start('exec false');
    assert.deepEqual(r.exit(), { code: 1, kind: 'exit' });
  });

  it('exec replaces the shell: nothing after it runs', async () => {
    const r = await start('exec sleep 1; echo after');
    await r.clock.advance(1000);
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
    assert.equal(r.stdout(), '');
  });

  it('a while loop writes one line per fake second', async () => {
    const r = await start('while true; do echo x; sleep 1; done');
    assert.equal(r.stdout(), 'x\n', 'first line at once');
    for (let s = 1; s <= 5; s++) {
      await r.clock.advance(999);
      assert.equal(r.stdout(), 'x\n'.repeat(s), `still ${s} line(s) just before ${s} s`);
      await r.clock.advance(1);
      assert.equal(r.stdout(), 'x\n'.repeat(s + 1), `${s + 1} lines at ${s} s`);
    }
    assert.equal(r.exit(), undefined, 'the loop runs forever');
    r.proc.signal('KILL');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 137, kind: 'killed' });
    const before = r.stdout();
    await r.clock.advance(10_000);
    assert.equal(r.stdout(), before, 'no output after KILL');
    assert.equal(r.clock.pendingTimers(), 0, 'no timers left behind');
  });

  it('a while loop on a file condition ends when the file goes', async () => {
    const r = await start('touch /run; while test -f /run; do sleep 1; done; echo stopped');
    await r.clock.advance(3000);
    assert.equal(r.exit(), undefined);
    r.files.delete('/run');
    await r.clock.advance(1000);
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
    assert.equal(r.stdout(), 'stopped\n');
  });

  it('a busy loop without sleep yields to the clock instead of hanging', async () => {
    const r = await start('while true; do :; done');
    assert.equal(r.exit(), undefined);
    assert.ok(r.clock.pendingTimers() > 0, 'waits on the clock');
    r.proc.signal('KILL');
    await r.clock.advance(10);
    assert.deepEqual(r.exit(), { code: 137, kind: 'killed' });
  });

  it('cmd & + wait waits for the background jobs', async () => {
    const r = await start('sleep 2 & sleep 5 & echo started; wait; echo done');
    assert.equal(r.stdout(), 'started\n');
    await r.clock.advance(4999);
    assert.equal(r.exit(), undefined);
    await r.clock.advance(1);
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
    assert.equal(r.stdout(), 'started\ndone\n');
  });

  it('wait with no jobs returns at once', async () => {
    const r = await start('wait; echo ok');
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
    assert.equal(r.stdout(), 'ok\n');
  });

  it('background jobs die with the shell', async () => {
    const r = await start('sleep 100 & echo bye');
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
    await r.clock.advance(0);
    assert.equal(r.clock.pendingTimers(), 0, 'the background sleep was cancelled');
  });

  it('date prints the fake time', async () => {
    const r = await start('date');
    assert.equal(r.stdout(), new Date(0).toUTCString() + '\n');
  });
});

describe('SimProcess: memory', () => {
  it('`tail /dev/zero` with a memory limit is OOM-killed (137)', async () => {
    const r = await start(['tail', '/dev/zero'], { memoryLimit: 16 << 20 });
    await r.clock.advance(1000);
    assert.deepEqual(r.exit(), { code: 137, kind: 'oom' });
  });

  it('`tail /dev/zero` in a script with a limit is OOM-killed too', async () => {
    const r = await start('echo filling; tail /dev/zero; echo not-reached', { memoryLimit: 1 });
    await r.clock.advance(1000);
    assert.deepEqual(r.exit(), { code: 137, kind: 'oom' });
    assert.equal(r.stdout(), 'filling\n');
  });

  it('`tail /dev/zero` without a limit runs until KILL', async () => {
    const r = await start(['tail', '/dev/zero']);
    await r.clock.advance(3_600_000);
    assert.equal(r.exit(), undefined);
    r.proc.signal('TERM');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 143, kind: 'killed' }, 'TERM ends an untrapped process too');
  });

  it('`tail /dev/zero` without a limit ends with 137 on KILL', async () => {
    const r = await start(['tail', '/dev/zero']);
    await r.clock.advance(60_000);
    assert.equal(r.exit(), undefined);
    r.proc.signal('KILL');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 137, kind: 'killed' });
  });

  for (const argv of [['tail', '-f', '/dev/null'], ['httpd', '-f'], ['nc', '-l'], ['pause'], ['sleep', 'infinity']]) {
    it(`${argv.join(' ')} runs forever`, async () => {
      const r = await start(argv);
      await r.clock.advance(86_400_000);
      assert.equal(r.exit(), undefined);
      r.proc.signal('KILL');
      await r.clock.advance(0);
      assert.deepEqual(r.exit(), { code: 137, kind: 'killed' });
    });
  }
});

describe('SimProcess: signals', () => {
  it("signal('TERM') on `sleep 100` gives 143 at once", async () => {
    const r = await start(['sleep', '100']);
    await r.clock.advance(10_000);
    r.proc.signal('TERM');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 143, kind: 'killed' });
    assert.equal(r.exitedAt(), 10_000);
  });

  it('TERM on an untrapped script stops it where it is', async () => {
    const r = await start('echo a; sleep 100; echo b');
    r.proc.signal('TERM');
    await r.clock.advance(200_000);
    assert.deepEqual(r.exit(), { code: 143, kind: 'killed' });
    assert.equal(r.stdout(), 'a\n');
  });

  it("`trap '' TERM; sleep 100` ignores TERM; KILL gives 137", async () => {
    const r = await start("trap '' TERM; sleep 100");
    r.proc.signal('TERM');
    await r.clock.advance(50_000);
    assert.equal(r.exit(), undefined, 'TERM ignored');
    r.proc.signal('KILL');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 137, kind: 'killed' });
    assert.equal(r.exitedAt(), 50_000);
  });

  it("`trap '' TERM` then the script ends normally", async () => {
    const r = await start("trap '' SIGTERM; sleep 10; exit 4");
    r.proc.signal('TERM');
    await r.clock.advance(10_000);
    assert.deepEqual(r.exit(), { code: 4, kind: 'exit' });
  });

  it("`trap 'exit 5' TERM; sleep 100` defers the trap until sleep ends", async () => {
    const r = await start("trap 'exit 5' TERM; sleep 100; echo not-reached");
    await r.clock.advance(1000);
    r.proc.signal('TERM');
    await r.clock.advance(98_999);
    assert.equal(r.exit(), undefined, 'still sleeping');
    await r.clock.advance(1);
    assert.deepEqual(r.exit(), { code: 5, kind: 'exit' });
    assert.equal(r.exitedAt(), 100_000);
    assert.equal(r.stdout(), '');
  });

  it('a deferred trap still loses to KILL', async () => {
    const r = await start("trap 'exit 5' 15; sleep 100");
    r.proc.signal('TERM');
    await r.clock.advance(2000);
    r.proc.signal('KILL');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 137, kind: 'killed' });
  });

  it("`trap 'exit 0' TERM; sleep 100 & wait` exits 0 at once on TERM", async () => {
    const r = await start("trap 'exit 0' TERM; sleep 100 & wait");
    await r.clock.advance(5000);
    assert.equal(r.exit(), undefined);
    r.proc.signal('TERM');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
    assert.equal(r.exitedAt(), 5000);
  });

  it('a trap handler can print before exiting', async () => {
    const r = await start("trap 'echo bye; exit 3' TERM; echo ready; sleep 100 & wait");
    r.proc.signal('TERM');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 3, kind: 'exit' });
    assert.equal(r.stdout(), 'ready\nbye\n');
  });

  it('TERM that arrived before wait interrupts it at once', async () => {
    const r = await start("trap 'exit 7' TERM; sleep 1; sleep 100 & wait");
    r.proc.signal('TERM'); // during the foreground sleep 1
    await r.clock.advance(1000);
    assert.deepEqual(r.exit(), { code: 7, kind: 'exit' });
    assert.equal(r.exitedAt(), 1000);
  });

  it('a trap handler that does not exit lets the script continue', async () => {
    const r = await start("trap 'echo bye' TERM; sleep 10; echo after; exit 9");
    r.proc.signal('TERM');
    await r.clock.advance(10_000);
    assert.equal(r.stdout(), 'bye\nafter\n');
    assert.deepEqual(r.exit(), { code: 9, kind: 'exit' });
  });

  it('after exec, TERM reaches the exec’d command (default action, 143)', async () => {
    const r = await start("trap 'exit 5' TERM; exec sleep 100");
    r.proc.signal('TERM');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 143, kind: 'killed' });
  });

  it("an ignored TERM stays ignored across exec (`trap '' TERM; exec sleep 10`)", async () => {
    const r = await start("trap '' TERM; exec sleep 10; echo not-reached");
    r.proc.signal('TERM');
    await r.clock.advance(9999);
    assert.equal(r.exit(), undefined);
    await r.clock.advance(1);
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
    assert.equal(r.stdout(), '');
  });

  it('a TERM that arrived before exec runs its handler first', async () => {
    const r = await start("trap 'echo trapped' TERM; sleep 1; exec sleep 100");
    r.proc.signal('TERM');
    await r.clock.advance(1000);
    assert.equal(r.stdout(), 'trapped\n');
    assert.equal(r.exit(), undefined, 'the handler did not exit: exec runs');
    r.proc.signal('TERM');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 143, kind: 'killed' });
  });

  it('a trap handler runs between the commands of an && chain', async () => {
    const r = await start("trap 'echo bye; exit 4' TERM; sleep 5 && echo not-reached");
    r.proc.signal('TERM');
    await r.clock.advance(5000);
    assert.deepEqual(r.exit(), { code: 4, kind: 'exit' });
    assert.equal(r.stdout(), 'bye\n');
  });

  it('a trap handler that does not exit: an interrupted wait returns 143 and the script goes on', async () => {
    const r = await start("trap 'echo got TERM' TERM; sleep 100 & wait; echo wait=done; wait; echo all-done");
    await r.clock.advance(1000);
    r.proc.signal('TERM');
    await r.clock.advance(0);
    assert.equal(r.stdout(), 'got TERM\nwait=done\n');
    assert.equal(r.exit(), undefined, 'the second wait waits for the job');
    await r.clock.advance(99_000);
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
    assert.equal(r.stdout(), 'got TERM\nwait=done\nall-done\n');
  });

  it('the script’s status after a trap is that of its last command, not of the handler', async () => {
    const r = await start("trap 'false' TERM; sleep 10");
    r.proc.signal('TERM');
    await r.clock.advance(10_000);
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
  });

  it('exit without a status in a handler uses the status from before the trap', async () => {
    const r = await start("trap 'echo bye; exit' TERM; sleep 10; false");
    r.proc.signal('TERM');
    await r.clock.advance(10_000);
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' }, 'sleep succeeded');
    const w = await start("trap 'true; exit' TERM; sleep 100 & wait");
    w.proc.signal('TERM');
    await w.clock.advance(0);
    assert.deepEqual(w.exit(), { code: 143, kind: 'exit' }, 'the interrupted wait returned 143');
  });

  it('the handler runs once per signal, each time the foreground command ends', async () => {
    const r = await start("trap 'echo t' TERM; sleep 10; sleep 10; echo end");
    r.proc.signal('TERM');
    await r.clock.advance(10_000);
    assert.equal(r.stdout(), 't\n');
    r.proc.signal('TERM');
    await r.clock.advance(10_000);
    assert.equal(r.stdout(), 't\nt\nend\n');
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
  });

  it("`trap - TERM` restores the default action", async () => {
    const r = await start("trap 'exit 5' TERM; trap - TERM; sleep 100");
    r.proc.signal('TERM');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 143, kind: 'killed' });
  });

  it('signals after exit are ignored', async () => {
    const r = await start('exit 0');
    r.proc.signal('TERM');
    r.proc.signal('KILL');
    await r.clock.advance(0);
    assert.deepEqual(r.exit(), { code: 0, kind: 'exit' });
  });

  it('done settles once: a second signal does not change the exit', async () => {
    const r = await start(['sleep', '100']);
    r.proc.signal('TERM');
    r.proc.signal('KILL');
    await r.clock.advance(0);
    assert.deepEqual(await r.proc.done, { code: 143, kind: 'killed' });
  });
});
