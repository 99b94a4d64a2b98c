// Archives for tests. Good ones come from the real libraries (yazl, tar); hostile ones (an entry
// named ../x, a link to /etc, a hard link) cannot be made with them, so they are written byte by
// byte here, in the plain formats (zip "stored" entries; ustar headers, gzipped).
import { createWriteStream, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, gzipSync } from 'node:zlib';
import * as tar from 'tar';
import yazl from 'yazl';

/** Zips a folder with yazl; `prefix` puts everything under one top folder, as students often do. */
export async function zipFolder(dir: string, file: string, prefix = ''): Promise<void> {
  const z = new yazl.ZipFile();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else z.addFile(p, path.posix.join(prefix, path.relative(dir, p).split(path.sep).join('/')));
    }
  };
  walk(dir);
  z.end();
  await new Promise<void>((resolve, reject) => z.outputStream.pipe(createWriteStream(file)).on('close', resolve).on('error', reject));
}

export async function tarGzFolder(dir: string, file: string): Promise<void> {
  await tar.c({ gzip: true, file, cwd: dir, portable: true }, readdirSync(dir));
}

export interface RawEntry {
  name: string;
  data?: string;
  /** Unix file type and permissions, e.g. 0o100644 (file) or 0o120777 (link, data = target). */
  mode?: number;
}

/** A zip of stored (uncompressed) entries with the names and modes given, unchecked. */
export function rawZip(file: string, entries: RawEntry[]): void {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const name = Buffer.from(e.name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix: the mode is in the external attributes
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(file, Buffer.concat([...locals, cd, end]));
}

export interface RawTarEntry {
  name: string;
  data?: string;
  /** '0' file, '1' hard link, '2' symbolic link, '5' folder. */
  type?: '0' | '1' | '2' | '5';
  link?: string;
}

/** A .tar.gz of ustar entries with the names given, unchecked. */
export function rawTarGz(file: string, entries: RawTarEntry[]): void {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const h = Buffer.alloc(512);
    const put = (s: string, at: number, len: number) => h.write(s.slice(0, len), at, 'utf8');
    const oct = (n: number, at: number, len: number) => put(n.toString(8).padStart(len - 1, '0') + '\0', at, len);
    put(e.name, 0, 100);
    oct(0o644, 100, 8);
    oct(0, 108, 8);
    oct(0, 116, 8);
    oct(e.type && e.type !== '0' ? 0 : data.length, 124, 12);
    oct(0, 136, 12);
    h.fill(' ', 148, 156);
    put(e.type ?? '0', 156, 1);
    put(e.link ?? '', 157, 100);
    put('ustar\u000000', 257, 8);
    let sum = 0;
    for (const b of h) sum += b;
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
    blocks.push(h);
    if (!e.type || e.type === '0') blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  writeFileSync(file, gzipSync(Buffer.concat(blocks)));
}

export const read = (f: string) => readFileSync(f, 'utf8');
