// A control group per sandboxed process (cgroup v1, as on the course's machines and CI): a memory
// limit on what the process actually uses (address-space limits cannot do that, since every
// WebAssembly instance reserves ~10 GiB it never touches), and a process/thread limit of its
// own (RLIMIT_NPROC counts every process of the sandbox's user on the machine together).
// Where the controllers are not writable (not root, cgroup v2 only), there is none, and the
// prlimit limits alone apply.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
}

export interface Cgroup {
  /** Files a process writes its pid to, to join the groups. */
  procsFiles: string[];
  /** Whether the kernel's OOM killer ended a process of this group. */
  oomKilled(): boolean;
  /** Removes the groups (once their processes are gone); retries briefly. */
  remove(): void;
}

function ownPath(controller: string): string | null {
  try {
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const [, ctrls, p] = line.split(':');
      if (ctrls?.split(',').includes(controller)) return path.join('/sys/fs/cgroup', controller, p ?? '/');
    }
  } catch {
    /* not Linux */
  }
  return null;
}

let counter = 0;
/** Groups not yet removed: one last try when the harness exits. */
const pending = new Set<string>();
process.once('exit', () => {
  for (const d of pending) {
    try {
      rmdirSync(d);
    } catch {
      /* still busy: the kernel keeps it until emptied */
    }
  }
});

export function createCgroup(limits: CgroupLimits): Cgroup | null {
  const mem = ownPath('memory');
  const pids = ownPath('pids');
  if (!mem || !pids || !existsSync(path.join(mem, 'memory.limit_in_bytes')) || !existsSync(pids)) return null;
  const name = `mlsys-${process.pid}-${++counter}`;
  const memDir = path.join(mem, name);
  const pidsDir = path.join(pids, name);
  try {
    mkdirSync(memDir);
    mkdirSync(pidsDir);
    writeFileSync(path.join(memDir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    // Without swap accounting this file is absent: the limit above still holds.
    if (existsSync(path.join(memDir, 'memory.memsw.limit_in_bytes')))
      writeFileSync(path.join(memDir, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    writeFileSync(path.join(pidsDir, 'pids.max'), String(limits.pids));
  } catch {
    for (const d of [memDir, pidsDir]) {
      try {
        rmdirSync(d);
      } catch {
        /* never made */
      }
    }
    return null;
  }
  pending.add(memDir);
  pending.add(pidsDir);
  return {
    procsFiles: [path.join(memDir, 'cgroup.procs'), path.join(pidsDir, 'cgroup.procs')],
    oomKilled() {
      try {
        const m = /oom_kill (\d+)/.exec(readFileSync(path.join(memDir, 'memory.oom_control'), 'utf8'));
        return Number(m?.[1] ?? 0) > 0;
      } catch {
        return false;
      }
    },
    remove() {
      const attempt = (left: number) => {
        let busy = false;
        for (const d of [memDir, pidsDir]) {
          if (!existsSync(d)) {
            pending.delete(d);
            continue;
          }
          try {
            rmdirSync(d);
            pending.delete(d);
          } catch {
            busy = true;
          }
        }
        if (busy && left > 0) setTimeout(() => attempt(left - 1), 200).unref();
      };
      attempt(25);
    },
  };
}
