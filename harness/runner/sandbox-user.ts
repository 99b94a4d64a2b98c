// The user the sandbox runs as (sandbox.ts: setpriv --reuid/--regid), and handing it a folder.
import { chownSync } from 'node:fs';

export const SANDBOX_UID = 65534;

/**
 * Makes `dir` the sandbox user's (its mode stays as made: 0700 from mkdtemp), so that it alone
 * writes there, and no other user of the machine (a folder anyone may write would let them in,
 * and its name is in the sandbox's command line for all to read). Needs root, as the sandbox
 * does; false where it cannot be done.
 */
export function giveToSandboxUser(dir: string): boolean {
  try {
    chownSync(dir, SANDBOX_UID, SANDBOX_UID);
    return true;
  } catch {
    return false;
  }
}
