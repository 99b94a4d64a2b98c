// The course staff's commands: batch (grade a whole class, locally or on Slurm), gradebook (merge
// batches into one gradebook under the course's policies) and package (the Gradescope autograder
// zip, the student bundle). Registered on the main program by harness/cli.ts.
import { Command, Option } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DateTime } from 'luxon';
import { BACKENDS } from '../child/tensor-runtime.ts';
import { findProject, UsageError } from '../projects.ts';
import { packageGradescope } from '../package/gradescope.ts';
import { PackageError, packageStudent } from '../package/student.ts';
import { DEFAULT_COURSE_FILE, loadCourse } from './course.ts';
import { parseTime } from './discover.ts';
import { buildGradebook, loadBatchInput, withDeclaredTasks } from './gradebook.ts';
import { writeGradebook } from './gradebook-files.ts';
import { readRoster } from './roster.ts';
import { BatchFault, runBatch, type BatchFlags } from './run-batch.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * Adds `batch`, `gradebook` and `package` to the program. `setExit` receives each command's
 * exit code (0 done, 2 bad usage, 4 not gradable or a scheduler fault); usage errors are thrown
 * as UsageError, as in the rest of the CLI.
 */
export function registerBatchCommands(program: Command, setExit: (code: number) => void = (c) => void (process.exitCode = c)): void {
  const guard = async (f: () => Promise<number>) => {
    try {
      setExit(await f());
    } catch (e) {
      if (e instanceof BatchFault || e instanceof PackageError) {
        process.stderr.write(`mlsys: ${e.message}\n`);
        setExit(4);
        return;
      }
      throw e;
    }
  };

  program
    .command('batch')
    .argument('[project]', 'the project (id or alias)')
    .argument('[submissions]', 'a folder with one sub-folder, .zip, .tar.gz or .tgz per student')
    .description('grade every submission of a folder: one result folder each, a summary, a gradebook')
    .option('--out <dir>', 'the batch folder (default: results/<project>-batch-<time>/)')
    .option('--slurm', 'submit a Slurm job array (one task per submission) instead of grading here')
    .option('--concurrency <n>', 'local: gradings at once (default: half the cores); Slurm: array tasks at once (%N)')
    .option('--resume', 'continue the batch in --out: finished submissions are not graded again, new ones are added')
    .option('--no-wait', 'Slurm: submit and return; collect later with --collect')
    .option('--collect', 'collect (and wait for) the batch in --out: read results, resubmit tasks that died')
    .option('--cancel', 'cancel the tasks in flight of the batch in --out (--resume takes it up again)')
    .option('--max-attempts <n>', 'tries per submission before it is marked not gradable (never zero)', '3')
    .option('--halt-after <n>', 'halt when the gradings of N different submissions in a row end in a fault, none graded between (a broken node or install; 0: never)', '5')
    .addOption(new Option('--regrade <policy>', "which of a student's submissions counts").choices(['latest', 'best']).default('latest'))
    .option('--partition <p>', 'Slurm partition')
    .option('--account <a>', 'Slurm account')
    .option('--sbatch-arg <arg>', 'an extra sbatch option, e.g. --sbatch-arg=--qos=high (repeatable)', collect)
    .option('--time-limit <t>', "Slurm time per submission: minutes or [D-]HH:MM[:SS] (default: from the project's cases)")
    .option('--mem <size>', 'Slurm memory per submission (default 8G)')
    .option('--cpus <n>', 'Slurm CPUs per submission (default 2)')
    .option('--gres <spec>', "Slurm generic resources per submission (default gpu:1; 'none' for none)")
    .option('--container <image.sif>', 'grade inside this Apptainer image on the nodes (see harness/batch/README.md)')
    .option('--hidden', 'include hidden cases (needs MLSYS_HIDDEN_SECRET or --secret-file)')
    .option('--secret-file <file>', 'file holding the grader secret for hidden cases')
    .addOption(new Option('--sandbox <mode>', 'run submissions under bubblewrap').choices(['auto', 'required', 'off']).default('required'))
    .option('--task <id...>', 'only these tasks')
    .addOption(new Option('--backend <name>', 'tensor backend').choices(['auto', ...BACKENDS]))
    .option('--budget <s>', 'timing budget per timed case, in seconds')
    .option('--timeout-scale <x>', 'multiply every time limit (slow machines)', '1')
    .option('--submission-timeout <s>', "wall-clock limit for all of one submission's cases, in seconds")
    .option('--timestamps <csv>', 'submission times: a CSV with an entry or student column and a submitted_at column')
    .option('--course <file>', `the course's policies (default: ${path.relative(process.cwd(), DEFAULT_COURSE_FILE) || 'course.json'})`)
    .option('--poll-interval <s>', 'seconds between polls of the scheduler (default: 10 on Slurm)')
    .option('--json', 'print only the summary as JSON on stdout')
    .action((project: string | undefined, submissions: string | undefined, flags: BatchFlags) => guard(() => runBatch(project, submissions, flags)));

  program
    .command('gradebook')
    .argument('<batch-dirs...>', 'batch folders, one per project')
    .description("merge batches into one gradebook: gradebook.csv, gradebook.json, canvas.csv (late hours and weights from the course's policies)")
    .option('--out <dir>', 'where to write (default: results/gradebook-<time>/)')
    .option('--course <file>', "the course's policies", DEFAULT_COURSE_FILE)
    .option('--roster <csv>', "Canvas's gradebook export: every student gets a row, with Canvas's ids")
    .option('--as-of <time>', 'the gradebook as it stood at this time (default: now): later submissions are left out; ISO 8601')
    .action((dirs: string[], flags: { out?: string; course: string; roster?: string; asOf?: string }) =>
      guard(async () => {
        const course = loadCourse(flags.course);
        let asOf: DateTime | undefined;
        if (flags.asOf) {
          const t = parseTime(flags.asOf, course.timeZone);
          if (!t) throw new UsageError(`--as-of '${flags.asOf}' is not a time (ISO 8601)`);
          asOf = t;
        }
        const inputs = await Promise.all(dirs.map((d) => withDeclaredTasks(loadBatchInput(path.resolve(d)))));
        const g = buildGradebook(inputs, course, { roster: flags.roster ? readRoster(flags.roster) : undefined, asOf });
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const out = path.resolve(flags.out ?? path.join('results', `gradebook-${stamp}`));
        const files = writeGradebook(g, out);
        const flagged = g.rows.filter((r) => r.flags.length).length;
        process.stderr.write(`gradebook of ${g.rows.length} student(s), ${g.projects.map((p) => p.id).join(', ')}; ${flagged} flagged for a person\n${files.join('\n')}\n`);
        return 0;
      }),
    );

  const pkg = program.command('package').description('build what graders and students download');
  pkg
    .command('gradescope')
    .argument('<project>')
    .description('the Gradescope autograder zip (setup.sh, run_autograder, the harness, the reference solution, the grader secret)')
    .option('--out <file>', 'the zip to write (default: results/<project>-gradescope.zip)')
    .option('--secret-file <file>', 'the grader secret for hidden cases (default: MLSYS_HIDDEN_SECRET)')
    .option('--no-hidden', 'public cases only (no secret in the zip)')
    .action((name: string, flags: { out?: string; secretFile?: string; hidden: boolean }) =>
      guard(async () => {
        const project = await findProject(name);
        let secret: string | null = null;
        if (flags.hidden) {
          if (flags.secretFile && !existsSync(flags.secretFile)) throw new UsageError(`--secret-file not found: ${flags.secretFile}`);
          secret = flags.secretFile ? readFileSync(flags.secretFile, 'utf8').trim() : (process.env.MLSYS_HIDDEN_SECRET ?? '');
          if (!secret) throw new UsageError('the autograder grades hidden cases: set MLSYS_HIDDEN_SECRET or pass --secret-file (or --no-hidden)');
        }
        const out = path.resolve(flags.out ?? path.join('results', `${project.id}-gradescope.zip`));
        const r = await packageGradescope(project, out, secret);
        process.stderr.write(`wrote ${r.file} (${r.files} files${secret ? ', hidden cases with the secret' : ', public cases only'}): upload it as the assignment's autograder\n`);
        return 0;
      }),
    );
  pkg
    .command('student')
    .argument('<project>')
    .description('the starter bundle for students (harness, API, public cases, oracles, starter): no reference solution, no secret')
    .option('--out <file>', 'the zip to write (default: results/<project>-student.zip)')
    .action((name: string, flags: { out?: string }) =>
      guard(async () => {
        const project = await findProject(name);
        const out = path.resolve(flags.out ?? path.join('results', `${project.id}-student.zip`));
        const r = await packageStudent(project, out);
        process.stderr.write(`wrote ${r.file} (${r.files} files)\n`);
        return 0;
      }),
    );
}
