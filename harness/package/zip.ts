// Writes a zip with yazl: entries in the order given, a fixed date (the same files give the
// same bytes), scripts marked executable. Written beside the target and renamed over it.
import { createWriteStream, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';

export interface ZipItem {
  /** Path inside the zip (POSIX). */
  name: string;
  data: Buffer | string;
  executable?: boolean;
}

const EPOCH = new Date('2000-01-01T00:00:00Z');

export async function writeZip(file: string, items: ZipItem[]): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const z = new yazl.ZipFile();
  for (const it of items) z.addBuffer(Buffer.isBuffer(it.data) ? it.data : Buffer.from(it.data), it.name, { mtime: EPOCH, mode: it.executable ? 0o100755 : 0o100644 });
  z.end();
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(tmp);
      out.on('close', resolve).on('error', reject);
      z.outputStream.on('error', reject).pipe(out);
    });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function fileItem(root: string, rel: string, name = rel): ZipItem {
  return { name, data: readFileSync(path.join(root, rel)) };
}
