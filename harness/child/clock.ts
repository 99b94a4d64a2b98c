// The driver's clocks, captured when this module is evaluated: before any submission module
// loads. A submission that later replaces performance.now, Date.now or process.hrtime changes
// its own view only; the harness keeps timing with these references.
// Everything the clock calls is captured here, `Number` included: a submission that replaces a
// global cannot slow the harness's clock down.
const hrtimeBigint = process.hrtime.bigint.bind(process.hrtime);
const toNumber = Number;
const origin = hrtimeBigint();

/** Milliseconds since the driver started, from the monotonic high-resolution clock. */
export function nowMs(): number {
  return toNumber(hrtimeBigint() - origin) / 1e6;
}
