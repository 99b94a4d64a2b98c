// Words for a shell command line: job scripts, and the commands the harness tells a user to run.

/** Single-quotes a word for bash. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A word as a person would type it: quoted only when the shell would split or expand it. On
 * Windows in double quotes, which cmd.exe and PowerShell both take (a path has no '"' there).
 */
export function shellWord(s: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return /^[\w.\\/@%+=:,-]+$/.test(s) ? s : `"${s}"`;
  return /^[\w./@%+=:,-]+$/.test(s) ? s : shq(s);
}
