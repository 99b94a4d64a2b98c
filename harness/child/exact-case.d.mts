// Types of exact-case.mjs (plain JavaScript: the module hooks load it before TypeScript support).
export interface CaseMismatch {
  wrote: string;
  onDisk: string;
}
export function caseMismatch(file: string, fromDir: string): CaseMismatch | null;
export function caseMessage(what: string, m: CaseMismatch): string;
export function stem(name: string): string;
