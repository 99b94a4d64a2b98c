// Waits until what this thread wrote to stdout and stderr has left it, so that a reply sent next
// cannot overtake it and the harness shows the output under the case that printed it. Writes to a
// pipe are asynchronous on macOS, and a worker thread's output is relayed by the main thread.
// Gives up after `ms`: a reader that stopped reading must not hold the reply back for ever.

// Captured when the harness loads this module, before any submission code can replace them.
const setTimer = setTimeout;
const clearTimer = clearTimeout;

export function stdioFlushed(ms = 2000): Promise<void> {
  const drained = (s: NodeJS.WriteStream) => new Promise<void>((r) => (s.writableLength ? s.write('', () => r()) : r()));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => (timer = setTimer(r, ms)));
  return Promise.race([Promise.all([drained(process.stdout), drained(process.stderr)]).then(() => {}), late]).finally(() => clearTimer(timer));
}
