// A fault of the machine or the harness, not of the submission: the run ends "not gradable"
// (exit code 4, no results.json) and is retried; it is never scored, least of all as a zero.
export class NotGradable extends Error {}
