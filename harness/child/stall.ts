// What a call that does not return is doing, for the message of its timeout. The parent asks
// (`status`, PROTOCOL.md) before it kills a process whose call ran out of time; the driver
// answers from the reporters registered here. A runtime that runs the submission's code off the
// main thread (the ranks) registers one while a call runs: the main thread is then free to
// answer. Code stuck on the main thread answers nothing, and the timeout says only that.

type Reporter = () => Promise<string | null>;

const reporters = new Set<Reporter>();

/** Registers a reporter; returns the function that removes it. */
export function onStallReport(r: Reporter): () => void {
  reporters.add(r);
  return () => reporters.delete(r);
}

/** Every reporter's text, or null when none has anything to say within `ms`. */
export async function stallReport(ms = 800): Promise<string | null> {
  const texts = await Promise.all(
    [...reporters].map((r) => Promise.race([r().catch(() => null), new Promise<null>((res) => setTimeout(() => res(null), ms))])),
  );
  const said = texts.filter((t): t is string => Boolean(t));
  return said.length ? said.join('\n') : null;
}
