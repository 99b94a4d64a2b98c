// What a person reads at the end of a run: the score per task, every failure with its case and
// seed and the command that re-runs it, what the submission printed, the timings, the warnings,
// and where the files are.
import type { Project } from '../project.ts';
import type { RunOutcome } from '../grade/run.ts';
import type { BenchRecord, RunRecord } from './schema.ts';
import { shellWord } from '../shell.ts';
import { perfCredit } from '../grade/score.ts';
import { gradedCases } from '../grade/perf.ts';
import { formatBytes } from '../bytes.ts';

const out = (s = '') => process.stdout.write(s + '\n');
const fmtMs = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(4));

export function printRun(project: Project, o: RunOutcome, outDir: string, haveReference: boolean): void {
  const { run } = o;
  out();
  out(`${project.id} (${project.title}) — ${run.mode} of ${run.submission.path}`);
  out(`backend: ${String(run.device.backend ?? 'n/a')}   sandbox: ${run.options.sandbox}`);
  const dev = run.device.tensor_device as Record<string, unknown> | undefined;
  if (dev && (dev.adapter || dev.device || dev.description))
    out(`device: ${[dev.vendor, dev.adapter ?? dev.device, dev.description].filter(Boolean).join(' / ')}${dev.fallback ? '  (CPU fallback adapter: correctness only, timings are not GPU figures)' : ''}`);
  if (run.status === 'not_gradable') {
    out(`NOT GRADABLE (a harness or machine problem, not your code): ${run.not_gradable_reason}`);
    return;
  }
  const failed = run.cases.filter((c) => c.status === 'failed');
  if (run.score) {
    out();
    for (const t of run.score.tasks) {
      const perf = t.performance_max ? `  speed ${t.performance}/${t.performance_max}` : '';
      out(`  ${t.task.padEnd(20)} correctness ${t.correctness}/${t.correctness_max}${perf}   ${t.note}`);
    }
    out(`  ${'TOTAL'.padEnd(20)} ${run.score.total} / ${run.score.max}`);
    for (const l of totalCaveats(project, run)) out(`  (${l})`);
  }
  if (run.status === 'load_failed' && failed.length) {
    // One message, not one per case: nothing ran.
    out();
    out(`Your code could not be loaded, so ${failed.length === 1 ? 'its one case fails' : `all ${failed.length} cases fail`}:`);
    const message = failed[0]!.message.replace(/^your code could not be loaded: /, '');
    out(`  ${message.split('\n').slice(0, 12).join('\n  ')}`);
  } else if (failed.length) {
    out();
    out('Failures:');
    for (const c of failed) {
      const where = c.visibility === 'public' ? `${c.id} [${c.label}] seed ${c.seed}` : `hidden case ${c.task} #${c.index} [${c.label}]`;
      out(`  ${where}: ${c.message.split('\n').slice(0, 6).join('\n    ')}`);
      if (c.visibility === 'public') out(`    re-run just this case: npx mlsys test ${project.id} ${shellWord(run.submission.path)} --case ${c.id}${sameOptions(run)}`);
    }
  }
  printTypeErrors(run);
  printOutput(run);
  if (run.perf.length && run.mode === 'bench') printBenchTables(project, run, o.bench ?? []);
  else if (run.perf.length) {
    out();
    out('Timings (median ms, IQR; ratio = reference / submission, same run, interleaved):');
    for (const p of run.perf) {
      const cells = p.impls.map((i) => (i.ok && i.summary ? `${i.impl} ${fmtMs(i.summary.median)} ±${fmtMs(i.summary.iqr)} (n=${i.summary.n})` : `${i.impl}: ${i.message}`));
      const ratio = p.speedup_vs_reference !== null ? `  speedup ${p.speedup_vs_reference.toFixed(2)}x` : '';
      out(`  ${p.task} [${p.label}]: ${cells.join('; ')}${ratio}`);
      const sub = p.impls.find((i) => i.impl === 'submission');
      const extra = Object.entries(sub?.metrics ?? {}).filter(([k]) => !['ms', 'ms_iqr', 'speedup_vs_reference'].includes(k));
      if (extra.length) out(`    ${extra.map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`).join('  ')}`);
      for (const f of p.flags) out(`    note: ${f}`);
    }
  }
  if (run.perf.length && !haveReference) out('  (no reference solution on this machine: speed is graded against it by course staff)');
  for (const w of new Set(run.warnings)) out(`warning: ${w}`);
  out();
  out(`results: ${outDir}`);
}

const SHOWN_TYPE_ERRORS = 10;

/** tsc's errors in the submission (test): not graded, but often what explains a failure. */
function printTypeErrors(run: RunRecord): void {
  const errors = run.type_check && 'errors' in run.type_check ? run.type_check.errors : [];
  if (!errors.length) return;
  out();
  out(`Type errors (tsc --strict; not graded: your code runs with its types stripped, unchecked, so one of these may explain a failure):`);
  for (const e of errors.slice(0, SHOWN_TYPE_ERRORS)) out(`  ${e}`);
  if (errors.length > SHOWN_TYPE_ERRORS) out(`  ... and ${errors.length - SHOWN_TYPE_ERRORS} more (run.json has them all, under "type_check")`);
}

/** What the TOTAL does not cover, so that a partial figure is not read as a grade. */
function totalCaveats(project: Project, run: RunRecord): string[] {
  const lines: string[] = [];
  const score = run.score!;
  const untimed = score.tasks.filter((t) => t.performance_max > 0 && !run.perf.some((p) => p.task === t.task));
  const untimedPoints = Math.round(untimed.reduce((s, t) => s + t.performance_max, 0) * 100) / 100;
  if (untimed.length && run.mode === 'test')
    lines.push(
      `test does not time your code, so the ${untimedPoints} speed point${untimedPoints === 1 ? ' above counts' : 's above count'} as 0 here; ` +
        `\`npx mlsys bench ${project.id} ${shellWord(run.submission.path)}\` shows the speed figures grading uses`,
    );
  if (run.options.case) lines.push(`only --case ${run.options.case} ran: the total is of that case alone, not of its task`);
  else if (run.options.tasks?.length) lines.push(`only ${run.options.tasks.join(', ')} ran: the total is of ${run.options.tasks.length === 1 ? 'that task' : 'those tasks'} alone`);
  if (!run.options.hidden) lines.push('public cases only: grading may add hidden cases');
  return lines;
}

/** Lines the WebGPU runtime (Dawn) prints in every process that opens a device: not the student's. */
export const RUNTIME_NOISE = /^Warning: maxDynamic\w+ artificially reduced /;
const SHOWN_LINES = 20;
/** The line that stands for the middle of a flood (output-cap.ts). */
const DROPPED = /^\[\.\.\. (\d+) bytes of output dropped \.\.\.\]$/;
/** The line the harness puts before each case's output (output-cap.ts). */
const LABEL = /^--- (.+) ---$/;

/** The options of this run that the re-run of one case needs to behave the same (its time limits, its backend). */
function sameOptions(run: RunRecord): string {
  const o = run.options;
  return `${o.timeout_scale !== 1 ? ` --timeout-scale ${o.timeout_scale}` : ''}${o.backend !== 'auto' ? ` --backend ${o.backend}` : ''}`;
}

/**
 * What the submission printed (console.log is how students debug): for each stream, what the
 * failing cases printed when they printed anything (the case a student is debugging), else the
 * last lines of the stream; run.json keeps the rest (up to its cap).
 */
function printOutput(run: RunRecord): void {
  const streams = (['stdout', 'stderr'] as const)
    .map((k) => ({ k, lines: (run.output?.[k] ?? '').split('\n').filter((l) => l.trim() && !RUNTIME_NOISE.test(l)) }))
    .filter((x) => x.lines.length);
  if (!streams.length) return;
  const failing = run.cases.filter((c) => c.status === 'failed' && c.visibility === 'public').map((c) => `case ${c.id}`);
  out();
  out('What your code printed (run.json keeps more, under "output"):');
  for (const { k, lines } of streams) {
    // A flood was cut in the middle (output-cap.ts): say how much more there was.
    const dropped = lines.reduce((n, l) => n + Number(DROPPED.exec(l)?.[1] ?? 0), 0);
    const more = dropped ? `; ${formatBytes(dropped)} more ${dropped === 1 ? 'was' : 'were'} printed and dropped` : '';
    const bySection = sections(lines);
    const printedIn = failing.filter((f) => bySection.get(f)?.length);
    if (printedIn.length) {
      const shownCases = printedIn.slice(0, SHOWN_FAILING);
      out(
        `  ${k}, in the failing cases (the last ${SHOWN_PER_CASE} lines of ${shownCases.length === printedIn.length ? (printedIn.length === 1 ? 'the one that printed' : `each of the ${printedIn.length} that printed`) : `the first ${shownCases.length} of the ${printedIn.length} that printed`}${more}):`,
      );
      for (const f of shownCases) {
        const own = bySection.get(f)!;
        show([`--- ${f}${own.length > SHOWN_PER_CASE ? ` (last ${SHOWN_PER_CASE} of ${own.length} lines)` : ''} ---`, ...own.slice(-SHOWN_PER_CASE)]);
      }
      continue;
    }
    out(`  ${k}${lines.length > SHOWN_LINES ? ` (last ${SHOWN_LINES} of ${lines.length} lines kept${more})` : more ? ` (${more.slice(2)})` : ''}:`);
    const shown = lines.slice(-SHOWN_LINES);
    // The tail goes on with what the last case label above it named: say which, once.
    if (lines.length > SHOWN_LINES && !LABEL.test(shown[0]!)) {
      const above = lines.slice(0, -SHOWN_LINES).findLast((l) => LABEL.test(l));
      if (above) shown.unshift(`--- ${LABEL.exec(above)![1]!.replace(/ \(continued\)$/, '')} (continued) ---`);
    }
    show(shown);
  }
}

/** How many failing cases' output is shown, and how many lines of each. */
const SHOWN_FAILING = 3;
const SHOWN_PER_CASE = 8;

/** The lines printed under each label, a section continued after a flood or a new process joined to its own. */
function sections(lines: string[]): Map<string, string[]> {
  const bySection = new Map<string, string[]>();
  let current = '';
  for (const l of lines) {
    const m = LABEL.exec(l);
    if (m) current = m[1]!.replace(/ \(continued\)$/, '');
    else if (!DROPPED.test(l)) {
      const own = bySection.get(current);
      if (own) own.push(l);
      else bySection.set(current, [l]);
    }
  }
  return bySection;
}

function show(lines: string[]): void {
  for (const raw of lines) {
    // Control characters (escape sequences, carriage returns) could rewrite the screen above.
    const l = raw.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?');
    out(`    | ${l.length > 300 ? `${l.slice(0, 300)} [...]` : l}`);
  }
}

const cell = (v: number | undefined) => (v === undefined ? '-' : Math.abs(v) >= 1000 || v === Math.round(v) ? String(Math.round(v)) : Number(v.toPrecision(4)).toString());

/**
 * bench: one table per task, a row per timed case and implementation, a column per metric the
 * task reported (like nccl-tests' tables), then the notes. bench.json holds the same figures.
 */
function printBenchTables(project: Project, run: RunRecord, bench: BenchRecord[]): void {
  for (const task of [...new Set(run.perf.map((p) => p.task))]) {
    const recs = run.perf.filter((p) => p.task === task);
    const keys: string[] = [];
    for (const p of recs) for (const i of p.impls) for (const k of Object.keys(i.metrics)) if (!keys.includes(k)) keys.push(k);
    const rows: string[][] = [['case', 'impl', ...keys]];
    const notes: string[] = [];
    const spreads: number[] = [];
    /** Cases in which each implementation printed while it was timed. */
    const printedIn = new Map<string, number>();
    const failures: string[] = [];
    const spec = project.tasks.find((t) => t.id === task);
    const gradedLabels = spec ? gradedCases(spec).map((c) => c.label) : [];
    for (const p of recs) {
      // The cases grading times are marked among a series of bench cases.
      const label = gradedLabels.includes(p.label) && recs.length > 1 ? `${p.label} (graded)` : p.label;
      if (!p.impls.length) rows.push([label, '(not timed)', ...keys.map(() => '-')]);
      for (const i of p.impls) rows.push([label, i.impl, ...(i.ok ? keys.map((k) => cell(i.metrics[k])) : keys.map(() => 'failed'))]);
      for (const i of p.impls) if (!i.ok) failures.push(`${p.label}: ${i.impl} FAILED: ${i.message.split('\n')[0]}`);
      for (const f of p.flags) {
        const spread = /large spread: IQR\/median = (\d+)%/.exec(f);
        const printing = /^([^:]+): printed (.+) during its timed calls/.exec(f);
        if (spread) spreads.push(Number(spread[1]));
        else if (printing) printedIn.set(printing[1]!, (printedIn.get(printing[1]!) ?? 0) + 1);
        else notes.push(`${p.label}: ${f}`);
      }
    }
    // Failures first: they are what a person must act on.
    notes.unshift(...failures);
    // One line for the printing too: it is the first thing to fix, as it makes every figure slow.
    for (const [impl, n] of [...printedIn].reverse())
      notes.splice(failures.length, 0, `${impl} printed during its timed calls in ${n} case${n === 1 ? '' : 's'}: printing is slow and is timed with the code, so these figures say more about the printing; remove it before timing (run.json says how much, case by case)`);
    // One line for all the noisy timings (run.json keeps each one's flag).
    if (spreads.length)
      notes.push(
        `${spreads.length} ${spreads.length === 1 ? 'timing has' : 'timings have'} a large spread (IQR/median ${Math.min(...spreads) === Math.max(...spreads) ? spreads[0] : `${Math.min(...spreads)}–${Math.max(...spreads)}`}%, over 10%): ` +
          'the machine was busy while they ran; close other programs, or give each case more time with --budget, for steadier figures',
      );
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    out();
    out(`${task}`);
    for (const r of rows) out('  ' + r.map((x, c) => (c < 2 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  '));
    // Figures the project derives across the cases (a frontier, a ratio to the machine's limit).
    for (const b of bench.filter((x) => x.task === task && !recs.some((p) => p.label === x.label)))
      out(`  ${b.label}, ${b.impl}: ${Object.entries(b.metrics).map(([k, v]) => `${k} ${cell(typeof v === 'number' ? v : undefined)}`).join(', ')}`);
    for (const n of notes) out(`  note: ${n}`);
    // What grading would make of it: the task's graded speed figure on its credit curve.
    const perfSpec = spec?.perf;
    const graded = run.perf_tasks.find((p) => p.task === task);
    if (spec && perfSpec && graded) {
      const max = perfSpec.share * spec.points;
      const r2 = (x: number) => Math.round(x * 100) / 100;
      if (graded.speedup_vs_reference === null) out(`  graded speed: none (${graded.basis.split('\n')[0]})`);
      else
        out(
          `  graded speed: ${graded.speedup_vs_reference.toFixed(2)}x (${graded.basis}): ${r2(perfCredit(graded.speedup_vs_reference, perfSpec.floor, perfSpec.target) * max)} of ${r2(max)} speed points on this machine, if every case passes ` +
            `(full at ${perfSpec.target}x, none at ${perfSpec.floor}x; grading times it on the course's machines)`,
        );
    }
  }
  if (run.perf.some((p) => p.speedup_vs_reference !== null)) {
    out();
    out('speedup_vs_reference: the median over interleaved rounds of (reference round time / your round time), not the ratio of the');
    out('medians above. A task\'s "graded speed" line puts its graded figure on the credit curve `grade` uses.');
  }
}
