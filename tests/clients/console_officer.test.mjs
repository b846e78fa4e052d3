// The console's officer logic without a page (engine/console/officer.js):
// the paging queries and cursors, merging a next page, the forms' checks,
// the events recorded for an acknowledgement and a log review, last
// month in Amsterdam, rule paths from a chosen folder, a replay's
// differences in words, and the paging done in the browser for a server
// that does not page. Run by ctest as console/node_officer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../../engine/console/officer.js';

const q = (url) => Object.fromEntries(new URL(url, 'http://x').searchParams);

test('alerts: newest first, filters only when chosen, before the last seq', () => {
  assert.deepEqual(q(o.alertsQuery()), { order: 'newest', limit: '50' });
  assert.deepEqual(q(o.alertsQuery({ severity: 'critical', kind: 'a.b', acknowledged: '0', before: 17 })),
    { order: 'newest', limit: '50', severity: 'critical', kind: 'a.b', acknowledged: '0', before: '17' });
  assert.equal(q(o.alertsQuery({ acknowledged: 'x' })).acknowledged, undefined);
  assert.equal(o.alertCursor([{ seq: 9 }, { seq: 4 }]), 4);
  assert.equal(o.alertCursor([]), null);
});

test('deadlines: by due time, the keyset of the last row, within N days', () => {
  const now = Date.parse('2026-06-09T04:50:00Z');
  assert.deepEqual(q(o.deadlinesQuery({ kind: 'avg.notify_ap', dueBefore: o.withinDays('3', now),
    after: o.deadlineCursor([{ due_at: '2026-06-10T00:00:00Z', id: 3 }, { due_at: '2026-06-11T07:00:00Z', id: 8 }]) })),
  { order: 'due', status: 'open,overdue', limit: '50', kind: 'avg.notify_ap', due_before: '2026-06-12T04:50:00.000Z',
    after_due: '2026-06-11T07:00:00Z', after: '8' });
  assert.equal(o.withinDays('', now), null);
  assert.equal(o.withinDays('-1', now), null);
  assert.equal(o.deadlineCursor([]), null);
});

test('a next page adds only the rows not shown yet', () => {
  assert.deepEqual(o.unseen([{ id: 1 }, { id: 2 }], [{ id: 2 }, { id: 3 }], (r) => r.id), [{ id: 3 }]);
});

test('acknowledgement: a note is required', () => {
  assert.deepEqual(o.checkAck({ note: '' }), { note: 'ack.err.note' });
  assert.deepEqual(o.checkAck({ note: '   ' }), { note: 'ack.err.note' });
  assert.deepEqual(o.checkAck({ note: 'x'.repeat(2001) }), { note: 'ack.err.long' });
  assert.deepEqual(o.checkAck({ note: 'Besproken met U7' }), {});
});

test('log review: dates, their order, a reviewer', () => {
  assert.deepEqual(o.checkReview({ start: '2026-05-01', end: '2026-05-31', reviewer: 'FG' }), {});
  assert.deepEqual(o.checkReview({ start: '', end: '2026-13-45', reviewer: ' ' }),
    { start: 'review.err.date', end: 'review.err.date', reviewer: 'review.err.reviewer' });
  assert.deepEqual(o.checkReview({ start: '2026-05-31', end: '2026-05-01', reviewer: 'FG' }), { end: 'review.err.order' });
  assert.deepEqual(o.findingLines(' een \r\n\n twee\n'), ['een', 'twee']);
});

test('last month in Amsterdam, also on the first of the month and in January', () => {
  assert.deepEqual(o.lastMonth(Date.parse('2026-06-09T04:50:00Z')), { start: '2026-05-01', end: '2026-05-31' });
  // 23:30 UTC on 31 May is already 1 June in Amsterdam
  assert.deepEqual(o.lastMonth(Date.parse('2026-05-31T23:30:00Z')), { start: '2026-05-01', end: '2026-05-31' });
  assert.deepEqual(o.lastMonth(Date.parse('2026-01-15T12:00:00Z')), { start: '2025-12-01', end: '2025-12-31' });
  assert.deepEqual(o.lastMonth(Date.parse('2028-03-01T12:00:00Z')), { start: '2028-02-01', end: '2028-02-29' });
});

test('a plain date as a day, whatever the zone', () => {
  assert.equal(o.plainDate('nl', '2026-05-01'), '1 mei 2026');
  assert.equal(o.plainDate('en', '2026-05-31'), '31 May 2026');
  assert.equal(o.plainDate('nl', 'bogus'), 'bogus');
});

test('the events the console records', () => {
  const env = { source: 'urn:obligo:console:FG', id: 'u1', time: '2026-06-09T04:50:00.000Z' };
  assert.deepEqual(o.ackEvent({ id: 12, kind: 'k', subject: 's' }, 'FG', ' gezien ', env), {
    specversion: '1.0', id: 'u1', source: 'urn:obligo:console:FG', type: 'nl.obligo.alert.acknowledged',
    time: '2026-06-09T04:50:00.000Z', datacontenttype: 'application/json',
    data: { alert_id: '12', by: 'FG', note: 'gezien', kind: 'k', subject: 's' },
  });
  assert.deepEqual(o.reviewEvent({ start: '2026-05-01', end: '2026-05-31', reviewer: 'FG ', findings: '' }, env).data,
    { period_start: '2026-05-01', period_end: '2026-05-31', reviewer: 'FG' });
  assert.deepEqual(o.reviewEvent({ start: 'a', end: 'b', reviewer: 'FG', findings: 'x\ny' }, env).data.findings, ['x', 'y']);
  assert.equal(o.eventPath('urn:a/b', 'x y'), '/console/api/v1/events?source=urn%3Aa%2Fb&id=x+y');
});

test('rule paths from a chosen folder', () => {
  assert.equal(o.rulePath('cand/nen7513/access.lua'), 'nen7513/access.lua');
  assert.equal(o.rulePath('cand/nen7513/access_test.lua'), 'nen7513/access_test.lua');
  assert.equal(o.rulePath('cand/README.md'), null);
  assert.equal(o.rulePath('cand/.git/x.lua'), null);
  assert.equal(o.rulePath('cand/nen7513/._access.lua'), null);
  assert.equal(o.rulePath('access.lua'), null);
});

test('a replay difference in words', () => {
  const d = { change: 'alert_raised', kind: 'nen7513.vip_burst', subject: 'VIP1', recorded: null, candidate: { count: 1 },
    cause: { source: 'urn:praktijk', id: 'v3', time: '2026-06-10T06:20:00Z', type: 'nl.nen7513.access' } };
  assert.deepEqual(o.diffText('nl', d), {
    title: 'Signaal nen7513.vip_burst over VIP1 zou worden gegeven', now: 'nu: geen', then: 'met de wijziging: 1 keer gegeven',
    cause: 'veroorzaakt door Inzage in een dossier (logregel) (urn:praktijk / v3)',
  });
  assert.equal(o.diffText('en', { change: 'obligation_status', kind: 'k', subject: 's', recorded: { status: 'overdue' },
    candidate: { status: 'open' } }).then, 'with the change: status: open');
  assert.equal(o.diffText('nl', { change: 'new_kind', kind: 'k', subject: 's' }).title, 'Verschil new_kind bij k s');
  assert.equal(o.countsText('nl', { alert_raised: 2, weird: 1 }), '2 × een signaal dat zou worden gegeven, 1 × weird');
});

