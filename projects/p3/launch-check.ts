// Mistakes in a launch description or a kernel's declarations that WebGPU would accept, or
// reject in its own words, caught with a message that names the field, the binding or the entry
// point: a misspelled field is otherwise ignored (the kernel silently runs with its defaults), an
// output declared at the scratch buffer's binding writes there (and the output reads "never
// written"), and Dawn's own messages name neither the binding nor the variable.
import { BadOutputError } from '../../harness/child/api.ts';
import { likelyMeant } from '../../harness/suggest.ts';
import type { KernelIO } from './spec.ts';

export const PASS_FIELDS = ['file', 'workgroups', 'overrides', 'entryPoint'];
/** Beside the passes (or beside a single pass's own fields). */
export const TOP_FIELDS = ['passes', 'scratch', 'library'];

/**
 * Refuses a field a launch description does not have when it is a near miss of one it does
 * (`override`, `entrypoint`) or one in the wrong place: otherwise it is silently ignored and the
 * kernel runs with its defaults. Other extra fields (a shared config spread in) are left alone.
 */
export function checkFields(o: Record<string, unknown>, allowed: string[], where: string, misplaced: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(o)) {
    if (allowed.includes(k) || v === undefined) continue;
    if (misplaced[k]) throw new BadOutputError(`${where}: '${k}' ${misplaced[k]}`);
    // Only fields not given already: `tile` beside `file` is an extra, not a typo of it.
    const meant = likelyMeant(k, allowed.filter((a) => o[a] === undefined));
    if (meant) throw new BadOutputError(`${where}: unknown field '${k}' (did you mean '${meant}'?); a launch description's fields are ${allowed.map((f) => `'${f}'`).join(', ')}`);
  }
}

/**
 * The source with its comments blanked (their text could look like declarations), nested block
 * comments included, and every newline kept (so that line numbers stay right).
 */
export function withoutComments(source: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    const two = source.slice(i, i + 2);
    if (depth === 0 && two === '//') {
      while (i < source.length && source[i] !== '\n') i++;
      out += '\n';
    } else if (two === '/*') {
      depth++;
      i++;
      out += '  ';
    } else if (depth > 0 && two === '*/') {
      depth--;
      i++;
      out += '  ';
    } else out += depth > 0 && c !== '\n' ? ' ' : c;
  }
  return out;
}

/** The names of the source's @compute functions, in order; empty when none is recognised. */
export function computeEntryPoints(source: string): string[] {
  const out: string[] = [];
  for (const m of withoutComments(source).matchAll(/((?:@\s*\w+\s*(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?\s*)+)fn\s+([\p{L}_][\p{L}\p{N}_]*)/gu))
    if (/@\s*compute\b/.test(m[1]!)) out.push(m[2]!);
  return out;
}

/** A pass's entry point that the file does not define, said with the ones it does. */
export function checkEntryPoint(source: string, file: string, entryPoint: string, where: string): void {
  const found = computeEntryPoints(source);
  // Only where every @compute was recognised: otherwise WebGPU says what it finds.
  const computes = (withoutComments(source).match(/@\s*compute\b/g) ?? []).length;
  if (!found.length || found.length !== computes || found.includes(entryPoint)) return;
  const meant = likelyMeant(entryPoint, found);
  throw new BadOutputError(
    `${where}: ${file} has no @compute function '${entryPoint}'${meant ? ` (did you mean '${meant}'?)` : ''}; its compute entry points are ${found.map((f) => `'${f}'`).join(', ')}: ` +
      `set entryPoint to one of them${entryPoint === 'main' ? " (entryPoint defaults to 'main')" : ''}`,
  );
}

interface Declared {
  binding: number;
  access: string;
  name: string;
  line: number;
}

/** The `@binding(n) var<storage, ...> name` declarations of a source, with their lines. */
function storageBindings(source: string): Declared[] {
  const text = withoutComments(source);
  const out: Declared[] = [];
  for (const m of text.matchAll(/@\s*binding\s*\(\s*(\d+)\s*\)[^;]*?var\s*<\s*storage\s*(?:,\s*(\w+)\s*)?>\s*(\w+)/g))
    out.push({ binding: Number(m[1]), access: m[2] ?? 'read', name: m[3]!, line: text.slice(0, m.index).split('\n').length });
  return out;
}

/**
 * Declarations that do not fit the task's layout: binding 0 the sizes, then the inputs
 * (`read`), the outputs (`read_write`), then the scratch buffer (only with a scratch(sizes)): an
 * input declared writable, and an output shifted onto the scratch binding (the file declares the
 * scratch binding, no scratch is asked for, and an output's own binding is not declared).
 */
export function checkBindings(source: string, file: string, io: KernelIO, hasScratch: boolean, task: string): void {
  const inputs = io.inputs.map((t, i) => ({ binding: 1 + i, name: t.name }));
  const outputs = io.outputs.map((t, i) => ({ binding: 1 + io.inputs.length + i, name: t.name }));
  const scratch = 1 + io.inputs.length + io.outputs.length;
  const layout = [...inputs.map((b) => `${b.binding} '${b.name}' (read)`), ...outputs.map((b) => `${b.binding} '${b.name}' (read_write)`), `${scratch} scratch`].join(', ');
  const declared = storageBindings(source);
  const outputMissing = outputs.some((b) => !declared.some((d) => d.binding === b.binding));
  for (const d of declared) {
    const at = `${file}:${d.line}: @binding(${d.binding}) var<storage, ${d.access}> ${d.name}`;
    const input = inputs.find((b) => b.binding === d.binding);
    if (input && d.access !== 'read')
      throw new BadOutputError(`${at}: binding ${d.binding} is the input '${input.name}', bound read-only: declare it var<storage, read>. The bindings of '${task}': ${layout}`);
    if (d.binding === scratch && !hasScratch && outputMissing)
      throw new BadOutputError(
        `${at}: binding ${d.binding} is the scratch buffer, which '${task}' does not ask for (no scratch(sizes)), so what is written there is lost. ` +
          `The bindings of '${task}': ${layout}`,
      );
  }
}
