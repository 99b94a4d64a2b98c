// The command line: test, grade, bench, clean, doctor. Exit codes: 0 completed (whatever the score),
// 2 bad usage, 3 the submission could not be loaded, 4 not gradable (a harness or machine fault).
import { Command, CommanderError, Option } from 'commander';
import { existsSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BACKENDS, type BackendName } from './child/tensor-runtime.ts';
import { executeRun, type RunOptions } from './grade/run.ts';
import { DEFAULT_MEASURE } from './measure/interleaved.ts';
import { findProject, UsageError } from './projects.ts';
import { printRun } from './report/console.ts';
import { HARNESS_ROOT, PlainLauncher, type Launcher } from './runner/launcher.ts';
import { BubblewrapLauncher, sandboxProblem } from './runner/sandbox.ts';
import { readSecret, referenceFolder } from './staff.ts';
import { doctor, printDoctor, probeRuntimes } from './doctor.ts';
import { registerBatchCommands } from './batch/cli.ts';
import { cleanHint, DEFAULT_KEEP, listRuns, planClean, removeRuns } from './report/results-folder.ts';
import { formatBytes } from './bytes.ts';

type Mode = 'test' | 'grade' | 'bench';

interface Flags {
  out?: string;
  hidden?: boolean;
  backend: BackendName;
  json?: boolean;
  sandbox: 'auto' | 'required' | 'off';
  case?: string;
  task?: string[];
  timeoutScale: string;
  resume?: boolean;
  reference?: string;
  secretFile?: string;
  budget?: string;
  submissionTimeout?: string;
  milestone?: string;
}

class ExitError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function pickLauncher(mode: 'auto' | 'required' | 'off', say: (s: string) => void): Launcher {
  if (mode === 'off') return new PlainLauncher();
  const problem = sandboxProblem();
  if (!problem) return new BubblewrapLauncher();
  if (mode === 'required')
    throw new ExitError(
      4,
      process.env.MLSYS_BATCH
        ? `not gradable: --sandbox required, but ${problem} on this node (${os.hostname()}). Install it there: a batch keeps the --sandbox it was started with.`
        : `not gradable: --sandbox required, but ${problem}. ${process.platform === 'linux' ? 'Install it, or pass' : 'Pass'} --sandbox auto for a local, unsandboxed run.`,
    );
  say(`WARNING: ${problem}. Running your code WITHOUT a sandbox (fine on your own machine; grading always sandboxes).`);
  return new PlainLauncher();
}

async function runCommand(mode: Mode, projectName: string, submission: string | undefined, flags: Flags): Promise<number> {
  const say = (s: string) => {
    if (!flags.json) process.stderr.write(s + '\n');
  };
  const project = await findProject(projectName);
  const defaultRef = path.join(HARNESS_ROOT, referenceFolder(project));
  const subDir = submission ?? path.join(HARNESS_ROOT, 'projects', project.id, 'starter');
  if (!existsSync(subDir)) throw new UsageError(`submission folder not found: ${subDir}`);
  if (!statSync(subDir).isDirectory())
    throw new UsageError(`${subDir} is a file: give the folder that holds your submission (${path.dirname(subDir)})`);
  if (!submission) say(`no submission folder given: running the starter (${path.relative(process.cwd(), subDir) || subDir}); to test yours: npx mlsys ${mode} ${project.id} <your folder>`);
  const secret = readSecret(flags.secretFile);
  if (flags.hidden && !secret) throw new UsageError('--hidden needs the grader secret: set MLSYS_HIDDEN_SECRET or pass --secret-file');
  const timeoutScale = Number(flags.timeoutScale);
  if (!(timeoutScale > 0)) throw new UsageError('--timeout-scale must be a positive number');
  if (flags.task) for (const t of flags.task) if (!project.tasks.some((x) => x.id === t)) throw new UsageError(`unknown task '${t}' (tasks: ${project.tasks.map((x) => x.id).join(', ')})`);
  let tasks = flags.task;
  if (flags.milestone) {
    const m = project.milestones?.[flags.milestone];
    if (!m) throw new UsageError(`unknown milestone '${flags.milestone}' for ${project.id} (milestones: ${Object.keys(project.milestones ?? {}).join(', ') || 'none'})`);
    const outside = (tasks ?? []).filter((t) => !m.includes(t));
    if (outside.length)
      throw new UsageError(`${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not in milestone '${flags.milestone}' (its tasks: ${m.join(', ')}): leave out --milestone to run ${outside.length === 1 ? 'it' : 'them'}`);
    tasks = tasks ?? m;
  }
  const launcher = pickLauncher(flags.sandbox, say);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  // results/ under the working folder, unless that is inside the submission (run from within it):
  // results there would be copied with the code on every run, and handed in with it.
  const rel = path.relative(realpathSync(subDir), realpathSync(process.cwd()));
  const inside = rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
  const outDir = path.resolve(flags.out ?? path.join(inside ? HARNESS_ROOT : '.', 'results', `${project.id}-${mode}-${stamp}`));
  const referenceDir = flags.reference ?? (existsSync(defaultRef) ? defaultRef : null);
  const opt: RunOptions = {
    project,
    mode,
    submissionDir: path.resolve(subDir),
    referenceDir,
    outDir,
    hidden: Boolean(flags.hidden),
    secret,
    backend: flags.backend,
    launcher,
    tasks,
    caseId: flags.case,
    timeoutScale,
    measure: flags.budget ? { ...DEFAULT_MEASURE, budgetMs: Number(flags.budget) * 1000 } : DEFAULT_MEASURE,
    resume: Boolean(flags.resume),
    submissionTimeoutMs: flags.submissionTimeout ? Number(flags.submissionTimeout) * 1000 : undefined,
    progress: say,
  };
  const outcome = await executeRun(opt);
  if (flags.json) process.stdout.write(JSON.stringify(mode === 'bench' ? outcome.bench : mode === 'grade' ? outcome.results ?? outcome.run : outcome.run, null, 2) + '\n');
  else {
    printRun(project, outcome, outDir, referenceDir !== null);
    const hint = flags.out ? null : cleanHint(path.dirname(outDir));
    if (hint) process.stdout.write(`\n${hint}\n`);
  }
  return outcome.exitCode;
}

function clean(folder: string | undefined, flags: { keep: string; grades?: boolean; dryRun?: boolean }): number {
  const keep = Number(flags.keep);
  if (!Number.isInteger(keep) || keep < 1) throw new UsageError('--keep must be a whole number of at least 1 (the newest run may still be writing)');
  const here = path.resolve('results');
  const results = path.resolve(folder ?? (existsSync(here) ? here : path.join(HARNESS_ROOT, 'results')));
  if (!existsSync(results)) throw new UsageError(`no results folder at ${results}`);
  const runs = listRuns(results);
  const plan = planClean(runs, { keep, grades: Boolean(flags.grades) });
  const bytes = plan.remove.reduce((s, r) => s + r.bytes, 0);
  const shown = path.relative(process.cwd(), results) || results;
  if (!plan.remove.length) {
    process.stdout.write(`${shown}: nothing to remove (${runs.length} run folder${runs.length === 1 ? '' : 's'}; the newest ${keep} of each project and command are kept${flags.grades ? '' : ', and every grade run'})\n`);
    return 0;
  }
  for (const r of plan.remove) process.stdout.write(`${flags.dryRun ? 'would remove' : 'removed'} ${path.join(shown, r.name)} (${formatBytes(r.bytes)})\n`);
  if (!flags.dryRun) removeRuns(plan);
  const grades = plan.keep.filter((r) => r.mode === 'grade').length;
  process.stdout.write(
    `${flags.dryRun ? 'Would remove' : 'Removed'} ${plan.remove.length} run folder${plan.remove.length === 1 ? '' : 's'} (${formatBytes(bytes)}); kept ${plan.keep.length}: the newest ${keep} of each project and command${!flags.grades && grades ? `, and ${grades} grade run${grades === 1 ? '' : 's'} (--grades removes older ones too)` : ''}. Folders not named by mlsys, and runs written to in the last 10 minutes (one may still be going), are never touched.\n`,
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('mlsys')
    .description('Autograder and benchmark harness for the Systems for ML course')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const common = (c: Command, mode: Mode) =>
    c
      .option('--out <dir>', 'where to write results (default: results/<project>-<mode>-<time>/)')
      .addOption(new Option('--backend <name>', 'tensor backend').choices(['auto', ...BACKENDS]).default('auto'))
      .option('--json', 'print only JSON on stdout')
      .addOption(new Option('--sandbox <mode>', 'run the submission under bubblewrap').choices(['auto', 'required', 'off']).default(mode === 'grade' ? 'required' : 'auto'))
      .option('--task <id...>', 'only these tasks')
      .option('--milestone <name>', "only the tasks of one of the project's milestones (e.g. a check-in)")
      .option('--timeout-scale <x>', 'multiply every time limit (slow machines)', '1')
      .option('--submission-timeout <s>', 'wall-clock limit for all cases of the submission together, in seconds', '1800')
      // test times nothing: these would do nothing there.
      .addOption(new Option('--budget <s>', 'timing budget per timed case, in seconds').default(String(DEFAULT_MEASURE.budgetMs / 1000)).hideHelp(mode === 'test'))
      .addOption(new Option('--reference <dir>', 'the reference solution to time against (default: reference/<project> when present)').hideHelp(mode === 'test'))
      .action(async (project: string, submission: string | undefined, flags: Flags) => {
        result = await runCommand(mode, project, submission, flags);
      });
  let result = 0;
  registerBatchCommands(program, (code) => {
    result = code;
  });
  common(program.command('test').argument('<project>').argument('[submission]').description('public cases only: the student view').option('--case <task/n>', 're-run just this case'), 'test');
  common(
    program
      .command('grade')
      .argument('<project>')
      .argument('<submission>')
      .description('grade a submission: results.json (Gradescope format) and run.json')
      .option('--hidden', 'include hidden cases (needs MLSYS_HIDDEN_SECRET or --secret-file)')
      .option('--secret-file <file>', 'file holding the grader secret for hidden cases')
      .option('--case <task/n>', 're-run just this case')
      .option('--resume', 'keep the cases already finished in --out/run.json'),
    'grade',
  );
  common(
    program.command('bench').argument('<project>').argument('[submission]').description('time the tasks next to the reference: bench.json'),
    'bench',
  );
  program
    .command('clean')
    .argument('[folder]', 'the results folder (default: results/ here, or the mlsys folder\'s)')
    .description('remove older run folders from results/: all but the newest of each project and command')
    .option('--keep <n>', 'how many runs of each project and command to keep', String(DEFAULT_KEEP))
    .option('--grades', 'grade runs too (kept unless this is given)')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .action((folder: string | undefined, flags: { keep: string; grades?: boolean; dryRun?: boolean }) => {
      result = clean(folder, flags);
    });
  program
    .command('doctor')
    .description('what this machine offers: tensor backends, WebGPU adapter, sandbox, CUDA, Slurm')
    .option('--json', 'print only JSON')
    .addOption(new Option('--probe', 'internal: probe the tensor runtimes and WebGPU here, print JSON').hideHelp())
    .action(async (flags: { json?: boolean; probe?: boolean }) => {
      if (flags.probe) {
        process.stdout.write(JSON.stringify(await probeRuntimes()) + '\n');
        result = 0;
        return;
      }
      const report = await doctor();
      if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else printDoctor(report);
      result = 0;
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      process.stderr.write(`mlsys: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ExitError) {
      process.stderr.write(`mlsys: ${e.message}\n`);
      return e.code;
    }
    process.stderr.write(`mlsys: internal error (not a problem with your code): ${e instanceof Error ? e.stack : String(e)}\n`);
    return 4;
  }
}
