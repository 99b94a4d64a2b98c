// The late-hour arithmetic of the syllabus: due at 6 PM in America/New_York, midnight to 7 AM
// not counted, 144 hours in all and at most 72 on one project.
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { deadline, lastDayEnd, latePolicy, loadCourse, parseCourse, type Course } from '../../harness/batch/course.ts';
import { chargeLateHours, countedMs, lateHours } from '../../harness/batch/late.ts';

const ZONE = 'America/New_York';
const course: Course = {
  course: 'test',
  timeZone: ZONE,
  dueTime: '18:00',
  lastDayOfClasses: '2026-12-09',
  totalWeight: 65,
  lateHours: { total: 144, perProject: 72, notCounted: { from: '00:00', to: '07:00' }, rounding: 'ceil' },
  projects: [
    { id: 'a', title: 'A', weight: 18, due: '2026-09-25' },
    { id: 'b', title: 'B', weight: 18, due: '2026-10-16' },
    { id: 'c', title: 'C', weight: 18, due: '2026-11-13' },
    { id: 'd', title: 'D', weight: 11, due: '2026-12-04' },
  ],
};
const policy = latePolicy(course);
const exact = { ...policy, rounding: 'exact' as const };
const local = (iso: string) => DateTime.fromISO(iso, { zone: ZONE });
// Friday 16 October 2026, 6 PM (EDT).
const due = deadline(course, '2026-10-16');
const hours = (iso: string, p = policy) => lateHours(due, local(iso), p);

describe('late hours of one submission', () => {
  it('is zero at the deadline exactly and before it', () => {
    expect(due.toISO()).toBe('2026-10-16T18:00:00.000-04:00');
    expect(hours('2026-10-16T18:00:00.000')).toBe(0);
    expect(hours('2026-10-16T17:59:59.999')).toBe(0);
    expect(hours('2026-10-10T09:00')).toBe(0);
  });

  it('counts a second late as an hour (ceil), and keeps fractions when asked', () => {
    expect(hours('2026-10-16T18:00:01')).toBe(1);
    expect(hours('2026-10-16T23:30')).toBe(6);
    expect(hours('2026-10-16T23:30', exact)).toBe(5.5);
    expect(lateHours(due, local('2026-10-16T20:00:00.000'), policy)).toBe(2); // whole hours stay whole
  });

  it('does not count midnight to 7 AM', () => {
    expect(hours('2026-10-17T00:00')).toBe(6); // across midnight
    expect(hours('2026-10-17T02:00')).toBe(6); // inside the window
    expect(hours('2026-10-17T06:59:59', exact)).toBeCloseTo(6, 9);
    expect(hours('2026-10-17T07:00')).toBe(6); // the window ends at 7 AM
    expect(hours('2026-10-17T08:15', exact)).toBe(7.25); // across 7 AM
    expect(hours('2026-10-17T08:15')).toBe(8);
  });

  it('counts 17 hours for each whole day', () => {
    expect(hours('2026-10-19T18:00')).toBe(6 + 17 + 17 + 11); // Friday 6 PM to Monday 6 PM
    expect(hours('2026-10-18T00:00')).toBe(6 + 17); // to the start of Sunday
  });

  it('reads a submission time given in another offset as the same instant', () => {
    // 23:30 UTC is 19:30 EDT: 1.5 hours late.
    expect(lateHours(due, DateTime.fromISO('2026-10-16T23:30:00Z', { setZone: true }), exact)).toBe(1.5);
  });

  it('is not fooled by the end of daylight saving time (1 Nov 2026, 2 AM: the night is 8 hours long)', () => {
    const d = deadline(course, '2026-10-30'); // Friday, 6 PM EDT
    const s = local('2026-11-02T08:00'); // Monday, 8 AM EST
    expect(s.diff(d).as('hours')).toBe(63); // real hours between them
    // Fri 18-24 (6) + Sat 7-24 (17) + Sun 7-24 (17) + Mon 7-8 (1); the 8-hour night of Sunday is not counted.
    expect(lateHours(d, s, policy)).toBe(41);
    // The repeated hour (1 AM to 2 AM, twice) lies inside the window.
    expect(countedMs(local('2026-11-01T00:30'), local('2026-11-01T06:30'), policy)).toBe(0);
  });

  it('is not fooled by the start of daylight saving time (14 Mar 2027, 2 AM: the night is 6 hours long)', () => {
    const d = deadline(course, '2027-03-12'); // Friday, 6 PM EST
    const s = local('2027-03-14T12:00'); // Sunday, noon EDT
    expect(s.diff(d).as('hours')).toBe(41);
    expect(lateHours(d, s, policy)).toBe(6 + 17 + 5);
    expect(local('2027-03-14T07:00').offset).toBe(-240);
  });

  it('supports a window that crosses midnight', () => {
    const p = { ...exact, notCounted: { from: '23:00', to: '07:00' } };
    expect(hours('2026-10-17T08:00', p)).toBe(5 + 1);
    expect(hours('2026-10-16T23:30', p)).toBe(5);
  });
});

describe('the late-hour budget across projects', () => {
  const lastDay = lastDayEnd(course);
  const asOf = local('2026-12-20T12:00');
  const item = (project: string, submitted: string | null) => ({
    project,
    deadline: deadline(course, course.projects.find((p) => p.id === project)!.due),
    submitted: submitted ? local(submitted) : null,
  });

  it('charges projects in deadline order and flags the one past 144 in total', () => {
    // a: Fri 25 Sep 18:00 -> Mon 28 Sep 18:00 = 51 h; b: 51 h (102 in all); c: 51 h would make 153.
    const r = chargeLateHours(
      [item('c', '2026-11-16T18:00'), item('a', '2026-09-28T18:00'), item('b', '2026-10-19T18:00'), item('d', '2026-12-04T17:00')],
      policy,
      lastDay,
      asOf,
    );
    expect(r.map((x) => [x.project, x.status, x.hours, x.charged, x.left])).toEqual([
      ['a', 'late', 51, 51, 93],
      ['b', 'late', 51, 51, 42],
      ['c', 'over_budget', 51, 0, 42],
      ['d', 'on_time', 0, 0, 42],
    ]);
    expect(r[2].note).toMatch(/only 42 of 144 left: D or F by whether it basically works/);
  });

  it('flags more than 72 hours on one project without charging them', () => {
    // a: Fri 18:00 to Wed 00:00 = 6 + 4 * 17 = 74 h > 72; b: Fri 18:00 to Tue 22:00 = 6 + 3 * 17 + 15 = 72 h, allowed.
    const r = chargeLateHours([item('a', '2026-09-30T00:00'), item('b', '2026-10-20T22:00')], policy, lastDay, asOf);
    expect(r[0]).toMatchObject({ status: 'over_budget', hours: 74, charged: 0, left: 144 });
    expect(r[0].note).toMatch(/over the 72 allowed on one project/);
    expect(r[1]).toMatchObject({ status: 'late', hours: 72, charged: 72, left: 72 });
  });

  it('gives zero for nothing by the last day of classes, and waits before it', () => {
    expect(chargeLateHours([item('d', null)], policy, lastDay, asOf)[0].status).toBe('missing');
    expect(chargeLateHours([item('d', null)], policy, lastDay, local('2026-12-09T23:59'))[0].status).toBe('open');
    const after = chargeLateHours([item('d', '2026-12-10T00:00')], policy, lastDay, asOf)[0];
    expect(after.status).toBe('missing');
    expect(after.note).toMatch(/after the last day of classes/);
    // 9 Dec before midnight still counts (late, but by the last day): 4 Dec 18:00 -> 9 Dec 23:00 = 6 + 4*17 + 16 = 90 > 72.
    expect(chargeLateHours([item('d', '2026-12-09T23:00')], policy, lastDay, asOf)[0].status).toBe('over_budget');
  });

  it('flags a submission whose time is unknown', () => {
    const r = chargeLateHours([{ ...item('a', null), timeUnknown: true }], policy, lastDay, asOf)[0];
    expect(r.status).toBe('unknown_time');
  });
});

describe('course.json', () => {
  it('declares the syllabus weights (65 in all) and validates', () => {
    const c = loadCourse();
    expect(Object.fromEntries(c.projects.map((p) => [p.id, p.weight]))).toEqual({ p1: 18, p2: 18, p3: 18, p4: 11 });
    expect(c.totalWeight).toBe(65);
    expect(c.timeZone).toBe(ZONE);
    expect(c.lateHours).toMatchObject({ total: 144, perProject: 72, notCounted: { from: '00:00', to: '07:00' } });
  });

  it('rejects weights that do not add up, unknown zones and malformed dates', () => {
    const bad = (patch: object) => () => parseCourse(JSON.stringify({ ...course, ...patch }), 'x.json');
    expect(bad({ totalWeight: 60 })).toThrow(/add up to 65, but totalWeight is 60/);
    expect(bad({ timeZone: 'Mars/Olympus' })).toThrow(/unknown time zone/);
    expect(bad({ lastDayOfClasses: '12/09/2026' })).toThrow(/lastDayOfClasses: a local date/);
  });
});
