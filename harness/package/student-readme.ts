// What a student bundle says about itself: its own README (the repository's is for the whole
// course: staff commands, other projects, files the bundle does not have) and a package.json
// whose scripts run what the bundle holds (the repository's run its tests and the reference).
import type { Project } from '../project.ts';
import { projectFolder } from './files.ts';

export function studentReadme(project: Project): string {
  const p = project.id;
  const dir = projectFolder(project);
  const mine = `${dir}/mine`;
  const task = project.tasks[0]!.id;
  return `# mlsys: ${project.title} (${p})

The course's autograder, as you run it before you submit: it runs your implementation of the
project on the public cases, checks every answer against the oracle, and times it.

## Quick start

On a machine with Node.js 20, in this folder (\`npx mlsys doctor\` says what else this project
can use here, and how to get what is missing):

\`\`\`sh
npm install && cp -r ${dir}/starter ${mine}    # install; your copy of the starter, beside it
npx mlsys test ${p} ${mine}                      # every public case, with a precise message for each failure
\`\`\`

In Windows PowerShell, copy the starter with \`Copy-Item -Recurse ${dir}/starter ${mine}\` instead of \`cp -r\`.

What the project asks, its API, how answers are checked and what is timed:
[${dir}/README.md](${dir}/README.md).

## Commands

Run them in this folder (where \`npm install\` ran); \`npm test\` runs the first one.

\`\`\`sh
npx mlsys test ${p} ${mine}                       # every public case (no timing)
npx mlsys test ${p} ${mine} --task ${task.padEnd(12)}   # one task
npx mlsys test ${p} ${mine} --case ${task}/0     # one case, same seed and inputs (each failure prints this line)
npx mlsys bench ${p} ${mine}                      # timings of your code (npm run bench)
npx mlsys doctor                                 # what this machine can run: tfjs backends, WebGPU, the sandbox
\`\`\`

## Good to know

- Your submission is the folder with \`${project.entries.join('` (or `')}\`; the stubs in
  \`${dir}/starter/\` show what it must export, \`${dir}/api.ts\` has the types.
- Your code runs in its own process, from a copy of its folder: it can import the files inside
  that folder and the packages the harness provides, nothing around it (the starter's
  \`import type\` from \`../api.ts\` is fine: types vanish at run time). Importing the oracle is
  refused: read it, it defines the expected answers exactly.
- An exception, a crash, an endless loop (killed at the case's time limit), a wrong shape or
  NaN fail that case only; the next case starts on a fresh process.
- What your code prints is shown after the results (the last 20 lines of each stream);
  \`run.json\`, in the results folder the run names, keeps more of it.
- Grading also runs hidden cases (other seeds and sizes) and times your code against the course's
  reference solution, which is not in this bundle, on the course's machines. Speed counts only
  when every case of a task is correct.
- On your own machine your code runs without a sandbox when bubblewrap is missing (a warning
  says so); grading always sandboxes it. [SECURITY.md](SECURITY.md) says how.
- Grading runs on Linux, whose file names tell capitals apart: an import or a file spelled with
  other capitals than on disk (\`import './Attention'\` for \`attention.ts\`) fails here too, even on
  macOS or Windows, which would accept it. CI tests the harness on Linux only; on Windows, if
  something fails that you cannot explain, try it under WSL 2.
`;
}

/** The repository's package.json with scripts that run this bundle's project on the student's copy. */
export function studentPackageJson(text: string, project: Project): string {
  const pkg = JSON.parse(text) as Record<string, unknown>;
  const mine = `${projectFolder(project)}/mine`;
  pkg.scripts = {
    test: `node bin/mlsys.js test ${project.id} ${mine}`,
    bench: `node bin/mlsys.js bench ${project.id} ${mine}`,
    doctor: 'node bin/mlsys.js doctor',
  };
  return JSON.stringify(pkg, null, 2) + '\n';
}
