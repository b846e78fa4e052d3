// The console's own logic (engine/console/format.js): the countdown text
// and times in Europe/Amsterdam, across the change from summer to winter
// time on Sunday 2026-10-25. Run by ctest as console/node_unit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countdown, amsterdam, span } from '../../engine/console/format.js';

const NOW = Date.parse('2026-06-09T10:00:00Z');

test('countdown before due, in Dutch and English', () => {
  const due = '2026-06-11T14:00:00Z'; // 2 days 4 hours after NOW
  assert.deepEqual(countdown('nl', due, NOW), { text: 'nog 2 dagen 4 uur', late: false });
  assert.deepEqual(countdown('en', due, NOW), { text: '2 days 4 hours left', late: false });
});

test('countdown singular units and the last hour', () => {
  assert.equal(countdown('nl', '2026-06-10T11:00:00Z', NOW).text, 'nog 1 dag 1 uur');
  assert.equal(countdown('nl', '2026-06-09T10:45:00Z', NOW).text, 'nog 45 minuten');
  assert.equal(countdown('nl', '2026-06-09T11:01:00Z', NOW).text, 'nog 1 uur 1 minuut');
  assert.equal(countdown('en', '2026-06-09T10:01:00Z', NOW).text, '1 minute left');
});

test('countdown past due is late', () => {
  assert.deepEqual(countdown('nl', '2026-06-07T10:00:00Z', NOW), { text: '2 dagen te laat', late: true });
  assert.deepEqual(countdown('en', '2026-06-07T06:00:00Z', NOW), { text: '2 days 4 hours overdue', late: true });
});

test('span keeps the two largest units', () => {
  assert.equal(span('nl', (3 * 24 + 5) * 3600e3 + 59 * 60e3), '3 dagen 5 uur');
});

test('Amsterdam time across the change to winter time (2026-10-25)', () => {
  // 02:30 happens twice that night: first in summer time, then in winter time
  const summer = amsterdam('nl', '2026-10-25T00:30:00Z');
  const winter = amsterdam('nl', '2026-10-25T01:30:00Z');
  assert.match(summer, /25 okt 2026/);
  assert.match(summer, /02:30/);
  assert.match(winter, /02:30/);
  assert.match(summer, /CEST|GMT\+2/);
  assert.match(winter, /CET|GMT\+1/);
  assert.notEqual(summer, winter);
  assert.match(amsterdam('en', '2026-10-25T12:00:00Z'), /13:00/);
  assert.match(amsterdam('nl', '2026-06-09T10:00:00Z'), /12:00/);
});

test('a countdown does not depend on the machine time zone', () => {
  // the due time is an instant: the same text whatever TZ the test runs in
  assert.equal(countdown('nl', '2026-10-26T01:00:00Z', Date.parse('2026-10-24T00:00:00Z')).text,
    'nog 2 dagen 1 uur');
});
