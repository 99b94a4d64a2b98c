// Words for a shell command line: job scripts, and the commands the harness tells a user to run.

/** Single-quotes a word for bash. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A word as a person would type it: quoted only when the shell would split or expand it. */
export function shellWord(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : shq(s);
}
