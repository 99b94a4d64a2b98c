// What a result ran on: the host (CPU, cores, memory, OS) and the versions of what measured it.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HARNESS_ROOT } from '../runner/launcher.ts';

export function hostDevice(): Record<string, string | number> {
  return {
    hostname: os.hostname(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memory_bytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

export function harnessVersions(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(path.join(HARNESS_ROOT, 'package.json'), 'utf8')) as { version: string };
  return { mlsys: pkg.version, node: process.version, v8: process.versions.v8 };
}
