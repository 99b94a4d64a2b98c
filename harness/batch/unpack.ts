// Unpacks a student's .zip or .tar.gz without trusting it: no absolute paths, no `..`, no links
// that could lead out of the folder, no device files, and caps on the number of entries and on
// the bytes written (counted as they are written, so a header that lies does not help). A bad
// archive is refused whole, and nothing of it is left on disk.
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';

export interface UnpackLimits {
  maxEntries: number;
  maxBytes: number;
  maxFileBytes: number;
  maxDepth: number;
}

export const DEFAULT_LIMITS: UnpackLimits = { maxEntries: 5000, maxBytes: 100 * 2 ** 20, maxFileBytes: 50 * 2 ** 20, maxDepth: 32 };

/** The submission's fault: the archive is refused and the submission scores 0, flagged. */
export class UnpackError extends Error {}

export type ArchiveKind = 'zip' | 'tar.gz';

export function archiveKind(file: string): ArchiveKind | null {
  const f = file.toLowerCase();
  if (f.endsWith('.zip')) return 'zip';
  if (f.endsWith('.tar.gz') || f.endsWith('.tgz')) return 'tar.gz';
  return null;
}

/** Folders that archiving tools add and no submission needs. */
const IGNORED = new Set(['__MACOSX']);

/** The path segments of an entry name, or an UnpackError saying why it is refused. */
export function safeSegments(name: string, limits: UnpackLimits): string[] {
  if (name.includes('\0')) throw new UnpackError(`an entry name holds a NUL byte`);
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[A-Za-z]:/.test(n)) throw new UnpackError(`'${name}' is an absolute path`);
  const segs = n.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.includes('..')) throw new UnpackError(`'${name}' leads out of the folder (..)`);
  if (segs.length > limits.maxDepth) throw new UnpackError(`'${name}' is nested deeper than ${limits.maxDepth} folders`);
  return segs;
}

/**
 * A link is accepted only when it is relative and has no `..`: then following it (and any link
 * it leads to) only ever goes deeper into the folder.
 */
function checkLinkTarget(name: string, target: string): void {
  const t = target.replace(/\\/g, '/');
  if (!t || t.startsWith('/') || /^[A-Za-z]:/.test(t) || t.split('/').includes('..'))
    throw new UnpackError(`'${name}' is a link to '${target}', outside the submission`);
}

/** Writes entries under `root`, enforcing the limits; links are made at the end. */
class Sink {
  entries = 0;
  bytes = 0;
  private links: { at: string; target: string }[] = [];

  constructor(
    readonly root: string,
    readonly limits: UnpackLimits,
  ) {}

  private target(name: string): string | null {
    if (++this.entries > this.limits.maxEntries) throw new UnpackError(`more than ${this.limits.maxEntries} entries`);
    const segs = safeSegments(name, this.limits);
    if (!segs.length || IGNORED.has(segs[0])) return null;
    return path.join(this.root, ...segs);
  }

  dir(name: string): void {
    const t = this.target(name);
    if (t) mkdirSync(t, { recursive: true });
  }

  link(name: string, linkTarget: string): void {
    const t = this.target(name);
    if (!t) return;
    checkLinkTarget(name, linkTarget);
    this.links.push({ at: t, target: linkTarget });
  }

  async file(name: string, data: Readable, mode: number): Promise<void> {
    const t = this.target(name);
    if (!t) {
      data.resume();
      return;
    }
    mkdirSync(path.dirname(t), { recursive: true });
    let mine = 0;
    const count = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        mine += chunk.length;
        this.bytes += chunk.length;
        if (mine > this.limits.maxFileBytes) return cb(new UnpackError(`'${name}' is larger than ${mb(this.limits.maxFileBytes)}`));
        if (this.bytes > this.limits.maxBytes) return cb(new UnpackError(`the archive unpacks to more than ${mb(this.limits.maxBytes)}`));
        cb(null, chunk);
      },
    });
    // 'wx': an entry that appears twice, or a path through a file, fails instead of overwriting.
    try {
      await pipeline(data, count, createWriteStream(t, { flags: 'wx', mode: mode & 0o111 ? 0o755 : 0o644 }));
    } catch (e) {
      if (e instanceof UnpackError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new UnpackError(`'${name}' appears twice in the archive`);
      if (code === 'ENOTDIR' || code === 'EISDIR') throw new UnpackError(`'${name}' clashes with another entry of the archive`);
      throw e;
    }
  }

  finish(): void {
    for (const l of this.links) {
      mkdirSync(path.dirname(l.at), { recursive: true });
      try {
        symlinkSync(l.target, l.at);
      } catch {
        throw new UnpackError(`the link '${path.relative(this.root, l.at)}' clashes with another entry of the archive`);
      }
    }
  }
}

const mb = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: true, validateEntrySizes: true }, (err, zf) => (err ? reject(new UnpackError(`not a readable zip file: ${err.message}`)) : resolve(zf!))),
  );
}

/** yauzl checks names itself; its messages, said the way this file says them. */
function zipError(message: string): UnpackError {
  const m = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/s.exec(message);
  if (!m) return new UnpackError(`the zip file is damaged: ${message}`);
  if (m[1] === 'absolute path') return new UnpackError(`'${m[2]}' is an absolute path`);
  if (m[1] === 'invalid relative path') return new UnpackError(`'${m[2]}' leads out of the folder (..)`);
  return new UnpackError(`'${m[2]}' holds a backslash`);
}

async function unzip(file: string, sink: Sink): Promise<void> {
  const zf = await openZip(file);
  await new Promise<void>((resolve, reject) => {
    const fail = (e: unknown) => {
      zf.close();
      reject(e instanceof UnpackError ? e : zipError((e as Error).message));
    };
    zf.on('error', fail);
    zf.on('end', () => resolve());
    zf.on('entry', (entry: yauzl.Entry) => {
      void (async () => {
        const name = entry.fileName;
        const type = (entry.externalFileAttributes >>> 16) & 0o170000;
        if (entry.isEncrypted()) throw new UnpackError(`'${name}' is encrypted`);
        if (name.endsWith('/') || type === 0o040000) sink.dir(name);
        else if (type === 0o120000) {
          const stream = await new Promise<Readable>((res, rej) => zf.openReadStream(entry, (e, s) => (e ? rej(e) : res(s!))));
          const chunks: Buffer[] = [];
          for await (const c of stream) chunks.push(c as Buffer);
          sink.link(name, Buffer.concat(chunks).toString('utf8'));
        } else if (type !== 0 && type !== 0o100000) throw new UnpackError(`'${name}' is not a regular file, folder or link`);
        else {
          const stream = await new Promise<Readable>((res, rej) => zf.openReadStream(entry, (e, s) => (e ? rej(e) : res(s!))));
          await sink.file(name, stream, entry.externalFileAttributes >>> 16);
        }
        zf.readEntry();
      })().catch(fail);
    });
    zf.readEntry();
  });
}

async function untar(file: string, sink: Sink): Promise<void> {
  const pending: Promise<void>[] = [];
  let failure: unknown = null;
  // tar's parser notices gzip by itself; with strict, a malformed header is an error.
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      try {
        if (failure) return entry.resume();
        switch (entry.type) {
          case 'Directory':
            sink.dir(entry.path);
            return entry.resume();
          case 'SymbolicLink':
            sink.link(entry.path, entry.linkpath ?? '');
            return entry.resume();
          case 'File':
          case 'OldFile':
          case 'ContiguousFile':
            pending.push(
              sink.file(entry.path, Readable.from(entry), entry.mode ?? 0o644).catch((e) => {
                failure ??= e;
                entry.resume(); // the parser waits until every entry is read
              }),
            );
            return;
          default:
            throw new UnpackError(`'${entry.path}' is a ${entry.type === 'Link' ? 'hard link' : entry.type}, not a regular file, folder or link`);
        }
      } catch (e) {
        failure ??= e;
        entry.resume();
      }
    },
  });
  await new Promise<void>((resolve) => {
    const damaged = (e: Error) => {
      failure ??= new UnpackError(`the .tar.gz file is damaged: ${e.message}`);
      resolve();
    };
    parser.on('error', damaged);
    parser.on('abort', damaged);
    parser.on('end', () => resolve());
    const src = createReadStream(file);
    src.on('error', damaged);
    src.pipe(parser as unknown as NodeJS.WritableStream);
  });
  await Promise.all(pending);
  if (failure) throw failure;
}

/** Unpacks `file` into `dest` (which must not exist yet). Throws UnpackError for a bad archive. */
export async function unpackArchive(file: string, dest: string, limits: UnpackLimits = DEFAULT_LIMITS): Promise<void> {
  const kind = archiveKind(file);
  if (!kind) throw new UnpackError(`${path.basename(file)}: not a .zip, .tar.gz or .tgz file`);
  if (existsSync(dest)) rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const sink = new Sink(dest, limits);
  try {
    await (kind === 'zip' ? unzip(file, sink) : untar(file, sink));
    sink.finish();
  } catch (e) {
    rmSync(dest, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Checks a submission handed in as a folder by the same rules (links, size, count); files
 * the engine does not copy (node_modules, .git) are not counted.
 */
export function checkFolder(dir: string, limits: UnpackLimits = DEFAULT_LIMITS): void {
  let entries = 0;
  let bytes = 0;
  const walk = (d: string, depth: number) => {
    if (depth > limits.maxDepth) throw new UnpackError(`'${path.relative(dir, d)}' is nested deeper than ${limits.maxDepth} folders`);
    for (const name of readdirSync(d)) {
      if (name === 'node_modules' || name === '.git') continue;
      const p = path.join(d, name);
      const rel = path.relative(dir, p);
      if (++entries > limits.maxEntries) throw new UnpackError(`more than ${limits.maxEntries} files`);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) checkLinkTarget(rel, readlinkSync(p));
      else if (st.isDirectory()) walk(p, depth + 1);
      else if (st.isFile()) {
        if (st.size > limits.maxFileBytes) throw new UnpackError(`'${rel}' is larger than ${mb(limits.maxFileBytes)}`);
        if ((bytes += st.size) > limits.maxBytes) throw new UnpackError(`the folder holds more than ${mb(limits.maxBytes)}`);
      } else throw new UnpackError(`'${rel}' is not a regular file, folder or link`);
    }
  };
  walk(dir, 0);
}

/**
 * Where the code is: students often zip the folder itself, so when the top holds no entry file
 * and exactly one folder, that folder is the submission (at most a few levels down).
 */
export function codeRoot(dir: string, entries: string[]): string {
  let d = dir;
  for (let i = 0; i < 3; i++) {
    if (entries.some((e) => existsSync(path.join(d, e)))) return d;
    const kids = readdirSync(d).filter((n) => !n.startsWith('.') && !IGNORED.has(n));
    if (kids.length !== 1 || !lstatSync(path.join(d, kids[0])).isDirectory()) return d;
    d = path.join(d, kids[0]);
  }
  return d;
}
