// Keeps what a submission prints within a bound: the first and the last half of the budget,
// with a note of how much was dropped between them. A flood costs the harness no memory.
export class CappedOutput {
  private head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer[] = [];
  private tailLen = 0;
  dropped = 0;
  total = 0;
  /** Bytes the process wrote (the labels not counted), kept or dropped. */
  printed = 0;

  // 192 KiB, not more: the run record keeps at most 200,000 characters of a process's output by
  // cutting out its middle, and a longer text here would lose the note of what was dropped.
  constructor(private readonly limit = 192 * 1024) {}

  private pending: string | null = null;
  private lastLabel: string | null = null;

  /**
   * What the harness is about to ask the process for (a case's id): the next output, if any,
   * is preceded by a line naming it, so that a person can tell which case printed what.
   */
  label(what: string): void {
    this.pending = what === this.lastLabel ? null : what;
  }

  /** Where each label line went in the stream (bytes before it), for text() after a flood. */
  private marks: { at: number; label: string }[] = [];

  push(chunk: Buffer): void {
    this.printed += chunk.length;
    if (this.pending !== null) {
      const mark = this.pending;
      this.pending = null;
      this.lastLabel = mark;
      this.marks.push({ at: this.total, label: mark });
      this.store(Buffer.from(`${this.total && !this.endsWithNewline ? '\n' : ''}--- ${mark} ---\n`));
    }
    this.store(chunk);
  }

  private endsWithNewline = true;

  private store(chunk: Buffer): void {
    if (!chunk.length) return;
    this.endsWithNewline = chunk[chunk.length - 1] === 0x0a;
    this.total += chunk.length;
    const half = this.limit >> 1;
    if (this.headLen < half) {
      const take = chunk.subarray(0, half - this.headLen);
      this.head.push(Buffer.from(take));
      this.headLen += take.length;
      chunk = chunk.subarray(take.length);
      if (!chunk.length) return;
    }
    this.tail.push(Buffer.from(chunk));
    this.tailLen += chunk.length;
    while (this.tailLen - (this.tail[0]?.length ?? 0) >= half) {
      const first = this.tail.shift()!;
      this.tailLen -= first.length;
      this.dropped += first.length;
    }
    // Also trim inside the oldest chunk, so that the text never exceeds the limit by a chunk.
    if (this.tailLen > half) {
      const extra = this.tailLen - half;
      this.tail[0] = this.tail[0]!.subarray(extra);
      this.tailLen -= extra;
      this.dropped += extra;
    }
  }

  get flooded(): boolean {
    return this.dropped > 0;
  }

  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    if (!this.dropped) return head + tail;
    // The tail goes on with what the last label before it named (its line may have been dropped).
    const tailStart = this.total - this.tailLen;
    const within = this.marks.filter((m) => m.at < tailStart).pop();
    return `${head}\n[... ${this.dropped} bytes of output dropped ...]\n${within ? `--- ${within.label} (continued) ---\n` : ''}${tail}`;
  }
}
