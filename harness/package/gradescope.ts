// `mlsys package gradescope <project>`: the autograder zip Gradescope expects. Gradescope unpacks
// it into /autograder/source, runs setup.sh once when it builds the image, and run_autograder for
// every submission, which must leave /autograder/results/results.json. The reference solution
// (timed next to the submission for speed credit) and the grader secret (hidden cases) are in the
// zip, readable by root only; the submission runs sandboxed as another user and never sees them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.ts';
import { HARNESS_ROOT } from '../runner/launcher.ts';
import { shq } from '../shell.ts';
import { harnessFiles, listFiles } from './files.ts';
import { referenceFolder } from '../staff.ts';
import { PackageError } from './student.ts';
import { writeZip, type ZipItem } from './zip.ts';

export function setupScript(): string {
  return `#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
cd /autograder/source
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates curl gnupg bubblewrap util-linux
# Node.js 20 or later (the image's own is older): NodeSource's packages.
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
  apt-get install -y -q nodejs
fi
npm ci --omit=dev --no-audit --no-fund
# The sandboxed submission runs as nobody: it may read the harness and its packages (bound
# read-only into its sandbox), never the reference solution or the secret.
chmod a+x /autograder
chmod -R a+rX /autograder/source
chmod -R go-rwx /autograder/source/reference
if [ -f /autograder/source/secret ]; then chmod 600 /autograder/source/secret; fi
`;
}

export function runAutograderScript(project: Project, hidden: boolean): string {
  const entries = project.entries.map(shq).join(' ');
  return `#!/usr/bin/env bash
# Gradescope runs this for every submission. It grades the submission in the sandbox
# (${hidden ? 'public and hidden cases' : 'public cases only'}) and copies results.json where Gradescope reads it. A harness or
# machine fault (exit 4) is retried once and then leaves no results.json: Gradescope reports the
# autograder as failed, course staff re-run it, and it is never scored as a zero.
# AUTOGRADER_ROOT (default /autograder) and MLSYS_GRADE_ARGS (extra flags for mlsys grade, e.g.
# --timeout-scale 2 on a slow machine) are for trying it out of Gradescope.
set -uo pipefail
root=\${AUTOGRADER_ROOT:-/autograder}
cd "$root/source"
export XDG_RUNTIME_DIR=/tmp
mkdir -p "$root/results"
out=$root/results/mlsys
# Students often zip their folder: go down while there is no entry file and a single folder.
sub=$root/submission
for _ in 1 2 3; do
  found=0
  for e in ${entries}; do [ -e "$sub/$e" ] && found=1; done
  [ $found = 1 ] && break
  mapfile -t kids < <(find "$sub" -mindepth 1 -maxdepth 1 ! -name '.*' ! -name __MACOSX)
  if [ \${#kids[@]} = 1 ] && [ -d "\${kids[0]}" ]; then sub=\${kids[0]}; else break; fi
done
args=(grade ${shq(project.id)} "$sub" --out "$out" --sandbox required${hidden ? ' --hidden --secret-file "$root/source/secret"' : ''})
read -r -a extra <<<"\${MLSYS_GRADE_ARGS:-}"
for attempt in 1 2; do
  resume=()
  [ "$attempt" = 2 ] && resume=(--resume)
  node bin/mlsys.js "\${args[@]}" "\${resume[@]}" "\${extra[@]}"
  rc=$?
  case $rc in
    0|3) cp "$out/results.json" "$root/results/results.json"; exit 0 ;;
    4) echo "not gradable (a harness or machine fault), attempt $attempt" >&2 ;;
    *) echo "mlsys grade exited $rc, attempt $attempt" >&2 ;;
  esac
done
exit 1
`;
}

export async function packageGradescope(project: Project, out: string, secret: string | null): Promise<{ file: string; files: number }> {
  const ref = referenceFolder(project);
  const refFiles = listFiles(ref);
  if (!refFiles.length) throw new PackageError(`no reference solution in ${path.join(HARNESS_ROOT, ref)}: speed is graded against it`);
  const items: ZipItem[] = [
    { name: 'setup.sh', data: setupScript(), executable: true },
    { name: 'run_autograder', data: runAutograderScript(project, secret !== null), executable: true },
    ...[...harnessFiles(project), ...refFiles].map((rel) => ({ name: rel, data: readFileSync(path.join(HARNESS_ROOT, rel)), executable: rel.startsWith('bin/') })),
    ...(secret !== null ? [{ name: 'secret', data: secret + '\n' }] : []),
  ];
  await writeZip(out, items);
  return { file: out, files: items.length };
}
