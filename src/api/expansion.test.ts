import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envVarsToMap, expand, expandContainerCommandAndArgs, expandEnvValues, mappingFuncFor } from './expansion.js';

// Upstream's third_party/forked/golang/expansion/expand_test.go doExpansionTest table.
const table: [string, string, string][] = [
  ['whole string', '$(VAR_A)', 'A'],
  ['repeat', '$(VAR_A)-$(VAR_A)', 'A-A'],
  ['beginning', '$(VAR_A)-1', 'A-1'],
  ['middle', '___$(VAR_B)___', '___B___'],
  ['end', '___$(VAR_C)', '___C'],
  ['compound', '$(VAR_A)_$(VAR_B)_$(VAR_C)', 'A_B_C'],
  ['escape & expansion', '$$(VAR_B)_$(VAR_A)', '$(VAR_B)_A'],
  ['compound escape', '$$(VAR_A)_$$(VAR_B)', '$(VAR_A)_$(VAR_B)'],
  ['mixed in escapes', 'f000-$$VAR_A', 'f000-$VAR_A'],
  ['backslash escape ignored', 'foo\\$(VAR_C)bar', 'foo\\Cbar'],
  ['backslash escape ignored (2)', 'foo\\\\$(VAR_C)bar', 'foo\\\\Cbar'],
  ['lots of backslashes', 'foo\\\\\\\\$(VAR_A)bar', 'foo\\\\\\\\Abar'],
  ['nested var references', '$(VAR_A$(VAR_B))', '$(VAR_A$(VAR_B))'],
  ['nested var references second type', '$(VAR_A$(VAR_B)', '$(VAR_A$(VAR_B)'],
  ['value is a reference', '$(VAR_REF)', '$(VAR_A)'],
  ['value is a reference x 2', '%%$(VAR_REF)--$(VAR_REF)%%', '%%$(VAR_A)--$(VAR_A)%%'],
  ['empty var', 'foo$(VAR_EMPTY)bar', 'foobar'],
  ['unterminated expression', 'foo$(VAR_Awhoops!', 'foo$(VAR_Awhoops!'],
  ['expression without operator', 'f00__(VAR_A)__', 'f00__(VAR_A)__'],
  ['shell special vars pass through', '$?_boo_$!', '$?_boo_$!'],
  ['bare operators are ignored', '$VAR_A', '$VAR_A'],
  ['undefined vars are passed through', '$(VAR_DNE)', '$(VAR_DNE)'],
  ['multiple (even) operators, var undefined', '$$$$$$(BIG_MONEY)', '$$$(BIG_MONEY)'],
  ['multiple (even) operators, var defined', '$$$$$$(VAR_A)', '$$$(VAR_A)'],
  ['multiple (odd) operators, var undefined', '$$$$$$$(GOOD_ODDS)', '$$$$(GOOD_ODDS)'],
  ['multiple (odd) operators, var defined', '$$$$$$$(VAR_A)', '$$$A'],
  ['missing open expression', '$VAR_A)', '$VAR_A)'],
  ['shell syntax ignored', '${VAR_A}', '${VAR_A}'],
  ['trailing incomplete expression not consumed', '$(VAR_B)_______$(A', 'B_______$(A'],
  ['trailing incomplete expression, no content, is not consumed', '$(VAR_C)_______$(', 'C_______$('],
  ['operator at end of input string is preserved', '$(VAR_A)foobarzab$', 'Afoobarzab$'],
  ['shell escaped incomplete expr', 'foo-\\$(VAR_A', 'foo-\\$(VAR_A'],
  ['lots of $( in middle', '--$($($($($--', '--$($($($($--'],
  ['lots of $( in beginning', '$($($($($--foo$(', '$($($($($--foo$('],
  ['lots of $( at end', 'foo0--$($($($(', 'foo0--$($($($('],
  ['escaped operators in variable names are not escaped', '$(foo$$var)', '$(foo$$var)'],
  ['newline not expanded', '\n', '\n'],
  ['empty input', '', ''],
  ['empty name, undefined', '$()', '$()'],
  ['non-ASCII next to the operator', '$é$(VAR_A)', '$éA'],
];

const context = { VAR_A: 'A', VAR_B: 'B', VAR_C: 'C', VAR_REF: '$(VAR_A)', VAR_EMPTY: '' };

describe('expand (upstream table)', () => {
  const mappings: [string, Parameters<typeof expand>[1]][] = [
    ['mappingFuncFor one context', mappingFuncFor(context)],
    ['mappingFuncFor two contexts', mappingFuncFor({ VAR_A: 'A', VAR_EMPTY: '' }, { VAR_B: 'B', VAR_C: 'C', VAR_REF: '$(VAR_A)' })],
    ['a plain record', context],
    ['a Map', new Map(Object.entries(context))],
    ['a lookup returning undefined', (n: string) => (context as Record<string, string>)[n]],
  ];
  for (const [mname, mapping] of mappings) {
    describe(mname, () => {
      for (const [name, input, want] of table) {
        it(name, () => assert.equal(expand(input, mapping), want));
      }
    });
  }

  it('does not consult inherited properties of a record', () => {
    assert.equal(expand('$(toString)', {}), '$(toString)');
  });

  it('first context wins in mappingFuncFor', () => {
    assert.equal(expand('$(X)', mappingFuncFor({ X: '1' }, { X: '2' })), '1');
  });
});

describe('env expansion', () => {
  it('resolves references to earlier variables (upstream TestMapReference)', () => {
    const out = expandEnvValues([
      { name: 'FOO', value: 'bar' },
      { name: 'ZOO', value: '$(FOO)-1' },
      { name: 'BLU', value: '$(ZOO)-2' },
    ]);
    assert.deepEqual(out, [
      { name: 'FOO', value: 'bar' },
      { name: 'ZOO', value: 'bar-1' },
      { name: 'BLU', value: 'bar-1-2' },
    ]);
  });

  it('does not see later variables, falls back to service env, keeps undefined verbatim', () => {
    const out = expandEnvValues(
      [
        { name: 'A', value: '$(B)' },
        { name: 'B', value: 'b' },
        { name: 'C', value: '$(SVC_HOST):$(NOPE)' },
        { name: 'D' },
      ],
      { SVC_HOST: '10.0.0.1' },
    );
    assert.deepEqual(out, [
      { name: 'A', value: '$(B)' },
      { name: 'B', value: 'b' },
      { name: 'C', value: '10.0.0.1:$(NOPE)' },
      { name: 'D', value: '' },
    ]);
  });

  it('envVarsToMap: later entries win', () => {
    assert.deepEqual([...envVarsToMap([{ name: 'A', value: '1' }, { name: 'A', value: '2' }, { name: 'B' }])], [['A', '2'], ['B', '']]);
  });

  it('expands command and args from the env', () => {
    const out = expandContainerCommandAndArgs(
      { command: ['sh', '-c', 'echo $(MSG)'], args: ['$$(MSG)', '$(UNSET)'] },
      [{ name: 'MSG', value: 'hi' }],
    );
    assert.deepEqual(out, { command: ['sh', '-c', 'echo hi'], args: ['$(MSG)', '$(UNSET)'] });
  });
});
