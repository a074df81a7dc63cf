// $(VAR) expansion in command, args and env values (models third_party/forked/golang/expansion
// and kubecontainer.ExpandContainerCommandAndArgs / the env part of makeEnvironmentVariables).
//
// Semantics are upstream's: `$(VAR)` is replaced when VAR is defined and kept verbatim otherwise;
// `$$` is an escaped `$` (so `$$(VAR)` gives the literal `$(VAR)`); a `$` not followed by `(` or `$`
// is kept with the next character; an unterminated `$(` is kept. There is no nesting and no
// recursion: a value that itself contains `$(X)` is inserted as is. Difference: the mapping may
// return undefined for "not defined" instead of wrapping the name itself (mappingFuncFor does that).

import type { V1Container } from '@kubernetes/client-node';

const operator = '$';
const opener = '(';
const closer = ')';

/** A variable lookup: a map, or a function returning undefined for an undefined variable. */
export type ExpansionMapping = ((name: string) => string | undefined) | ReadonlyMap<string, string> | Readonly<Record<string, string>>;

function syntaxWrap(name: string): string {
  return `${operator}${opener}${name}${closer}`;
}

function toFunc(mapping: ExpansionMapping): (name: string) => string {
  if (typeof mapping === 'function') return (name) => mapping(name) ?? syntaxWrap(name);
  if (mapping instanceof Map) return (name) => mapping.get(name) ?? syntaxWrap(name);
  const rec = mapping as Readonly<Record<string, string>>;
  return (name) => (Object.prototype.hasOwnProperty.call(rec, name) ? rec[name]! : syntaxWrap(name));
}

/**
 * A mapping over several contexts, first match wins, that wraps an undefined name back into
 * `$(name)` (upstream MappingFuncFor).
 */
export function mappingFuncFor(...contexts: ReadonlyArray<Readonly<Record<string, string>> | ReadonlyMap<string, string>>): (name: string) => string {
  return (name) => {
    for (const ctx of contexts) {
      if (ctx instanceof Map) {
        if (ctx.has(name)) return ctx.get(name)!;
      } else if (Object.prototype.hasOwnProperty.call(ctx, name)) {
        return (ctx as Readonly<Record<string, string>>)[name]!;
      }
    }
    return syntaxWrap(name);
  };
}

/** Expands `$(VAR)` references in input (upstream expansion.Expand). */
export function expand(input: string, mapping: ExpansionMapping): string {
  const map = toFunc(mapping);
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] === operator && cursor + 1 < input.length) {
      out += input.slice(checkpoint, cursor);
      const [read, isVar, advance] = tryReadVariableName(input.slice(cursor + 1));
      out += isVar ? map(read) : read;
      cursor += advance;
      checkpoint = cursor + 1;
    }
  }
  return out + input.slice(checkpoint);
}

/** Reads a variable name after a `$`: [text, isVariable, characters consumed]. */
function tryReadVariableName(input: string): [string, boolean, number] {
  const c = input[0]!;
  if (c === operator) return [c, false, 1]; // escaped operator
  if (c === opener) {
    for (let i = 1; i < input.length; i++) {
      if (input[i] === closer) return [input.slice(1, i), true, i + 1];
    }
    return [operator + opener, false, 1]; // incomplete reference
  }
  return [operator + c, false, 1]; // not an expression: the operator and the next character
}

/** name -> value of a list of env vars; later entries win (upstream envVarsToMap). */
export function envVarsToMap(envs: ReadonlyArray<{ name: string; value?: string | undefined }>): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of envs) m.set(e.name, e.value ?? '');
  return m;
}

/**
 * Resolves env values in order: each value may reference variables defined before it (or in
 * `serviceEnv`, consulted second). Values only; valueFrom is the caller's business. The result
 * keeps first-appearance order; a repeated name takes the later value.
 */
export function expandEnvValues(
  envs: ReadonlyArray<{ name: string; value?: string | undefined }>,
  serviceEnv: Readonly<Record<string, string>> = {},
): Array<{ name: string; value: string }> {
  const resolved = new Map<string, string>();
  const mapping = mappingFuncFor(resolved, serviceEnv);
  for (const e of envs) {
    const v = e.value ?? '';
    resolved.set(e.name, v === '' ? v : expand(v, mapping));
  }
  return [...resolved].map(([name, value]) => ({ name, value }));
}

/** The container's command and args with `$(VAR)` expanded from its final environment. */
export function expandContainerCommandAndArgs(
  c: Pick<V1Container, 'command' | 'args'>,
  envs: ReadonlyArray<{ name: string; value?: string | undefined }>,
): { command: string[]; args: string[] } {
  const mapping = envVarsToMap(envs);
  return {
    command: (c.command ?? []).map((x) => expand(x, mapping)),
    args: (c.args ?? []).map((x) => expand(x, mapping)),
  };
}
