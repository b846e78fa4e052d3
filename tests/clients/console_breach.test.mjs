// The guided breach form's own logic (engine/console/breach_form.js):
// Amsterdam wall-clock input across both changes of 2026 (summer time
// from Sun 29 March 02:00, winter time from Sun 25 October 03:00), the
// breach id, the message's elements, each step's validation and the
// catalogue events' data. Run by ctest as console/node_breach; the
// expected instants are worked out by hand from the offsets (+01:00 in
// winter, +02:00 in summer), not by the code under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  amsLocal, amsInput, amsIso, amsOffset, breachId, messageTemplate, messageElements, MESSAGE_ELEMENTS,
  validateReport, validateAssess, validateInform, validateClose, reportedData, assessedData,
  notifiedData, informedData, countries, nextStep, chainBreak, valuesFrom,
} from '../../engine/console/breach_form.js';

const NOW = Date.parse('2026-06-09T04:50:00Z'); // 06:50 in Amsterdam

test('summer and winter time: the wall clock read as Amsterdam time', () => {
  assert.deepEqual(amsLocal('2026-06-09T06:50'), { ms: Date.parse('2026-06-09T04:50:00Z'), iso: '2026-06-09T06:50:00+02:00', ambiguous: false });
  assert.deepEqual(amsLocal('2026-01-15T09:30'), { ms: Date.parse('2026-01-15T08:30:00Z'), iso: '2026-01-15T09:30:00+01:00', ambiguous: false });
  assert.equal(amsOffset(Date.parse('2026-06-09T04:50:00Z')), 120);
  assert.equal(amsOffset(Date.parse('2026-12-01T12:00:00Z')), 60);
});

test('the last Sunday of March: 02:00-02:59 does not exist, 01:59 and 03:00 do', () => {
  assert.deepEqual(amsLocal('2026-03-29T02:30'), { error: 'time.missing' });
  assert.equal(amsLocal('2026-03-29T01:59').iso, '2026-03-29T01:59:00+01:00');
  assert.equal(amsLocal('2026-03-29T03:00').ms, Date.parse('2026-03-29T01:00:00Z'));
  assert.equal(amsLocal('2026-03-29T03:00').iso, '2026-03-29T03:00:00+02:00');
});

test('the last Sunday of October: 02:00-02:59 comes twice, the earlier (summer time) is taken', () => {
  const t = amsLocal('2026-10-25T02:30');
  assert.equal(t.ambiguous, true);
  assert.equal(t.ms, Date.parse('2026-10-25T00:30:00Z'));
  assert.equal(t.iso, '2026-10-25T02:30:00+02:00');
  assert.equal(amsLocal('2026-10-25T03:00').iso, '2026-10-25T03:00:00+01:00');
  assert.equal(amsLocal('2026-10-25T03:00').ambiguous, false);
  // and back: both instants of that hour read 02:30
  assert.equal(amsInput(Date.parse('2026-10-25T00:30:00Z')), '2026-10-25T02:30');
  assert.equal(amsInput(Date.parse('2026-10-25T01:30:00Z')), '2026-10-25T02:30');
  assert.equal(amsIso(Date.parse('2026-10-25T01:30:00Z')), '2026-10-25T02:30:00+01:00');
});

test('not a time: refused', () => {
  for (const v of ['', 'gisteren', '2026-02-30T10:00', '2026-06-09T24:00', '2026-06-09 10:00x']) {
    assert.deepEqual(amsLocal(v), { error: 'time.invalid' }, v);
  }
});

test('the breach id: DL-year-four readable characters (31 of them: no 0, 1, I, L, O)', () => {
  assert.equal(breachId(NOW, [0, 1, 30, 31]), 'DL-2026-AB9A');
  // New Year's Eve 23:30 UTC is already next year in Amsterdam
  assert.match(breachId(Date.parse('2026-12-31T23:30:00Z'), [5, 6, 7, 8]), /^DL-2027-[A-Z2-9]{4}$/);
  for (let b = 0; b < 256; b += 4) assert.doesNotMatch(breachId(NOW, [b, b + 1, b + 2, b + 3]).slice(8), /[01OIL]/);
});

test('the message template has every element, and a template left as it is has none', () => {
  const t = messageTemplate('nl');
  for (const e of MESSAGE_ELEMENTS) assert.ok(t.includes(`${e.nl}:`), e.id);
  assert.deepEqual(messageElements(t).filter((x) => x.present).map((x) => x.id), []);
});

test('every element present once each heading has text of its own', () => {
  const msg = [
    'Wat is er gebeurd:', 'Een USB-stick met uw gegevens is kwijtgeraakt.',
    'Wat dit voor u kan betekenen: anderen kunnen uw gegevens hebben gezien.',
    'Wat wij hebben gedaan:', 'We hebben de stick laten blokkeren.',
    'Wat wij u aanraden:', 'Wees alert op vreemde e-mails.',
    'Waar u meer informatie krijgt:', 'autoriteitpersoonsgegevens.nl',
    'Contact met ons:', '020 123 4567',
  ].join('\n');
  assert.ok(messageElements(msg).every((x) => x.present));
  // a heading in English counts too; one missing is named
  const en = msg.replace('Contact met ons:', 'How to contact us:').replace('Wat wij u aanraden:\nWees alert op vreemde e-mails.\n', '');
  const got = messageElements(en);
  assert.deepEqual(got.filter((x) => !x.present).map((x) => x.id), ['advice']);
  // a heading whose text is still the hint is not present
  assert.equal(messageElements('Wat is er gebeurd:\n[in algemene zin]').find((x) => x.id === 'nature').present, false);
});

test('step 1: the required fields, each error on its field', () => {
  assert.deepEqual(validateReport({}, NOW), {
    description: 'err.required', aware_at: 'err.required', cause: 'err.required',
    personal_data: 'err.required', reporter_name: 'err.required', reporter_phone: 'err.phone_or_email',
  });
  const ok = { description: 'USB-stick kwijt', aware_at: '2026-06-09T06:00', cause: 'lost_device', personal_data: 'yes', reporter_name: 'A. de Vries', reporter_email: 'a@praktijk.nl' };
  assert.deepEqual(validateReport(ok, NOW), {});
  assert.equal(validateReport({ ...ok, aware_at: '2026-06-09T08:00' }, NOW).aware_at, 'err.future');
  assert.equal(validateReport({ ...ok, aware_at: '2026-03-29T02:15' }, NOW).aware_at, 'err.time.missing');
  assert.equal(validateReport({ ...ok, reporter_email: 'geen-adres' }, NOW).reporter_email, 'err.email');
  assert.equal(validateReport({ ...ok, persons_affected: '-3' }, NOW).persons_affected, 'err.count');
  assert.equal(validateReport({ ...ok, started_at: '2026-06-08T10:00', ended_at: '2026-06-08T09:00' }, NOW).ended_at, 'err.end_before_start');
  assert.equal(validateReport({ ...ok, ended_at: '2026-06-08T09:00', ongoing: true }, NOW).ended_at, 'err.ended_and_ongoing');
  assert.equal(validateReport({ ...ok, started_at: '2026-06-09T06:30' }, NOW).started_at, 'err.start_after_aware');
});

test('step 1: the event data, with the catalogue names and Amsterdam instants', () => {
  const d = reportedData('DL-2026-ABCD', {
    description: ' USB-stick kwijt ', aware_at: '2026-06-09T06:00', cause: 'processor', processor: 'Intramed',
    personal_data: 'yes', categories: ['health', 'bsn'], persons_affected: '40', records_affected: '',
    groups: ['clients'], started_at: '2026-06-08T17:00', ongoing: true, ended_at: '', unintelligible: 'no',
    reporter_name: 'A. de Vries', reporter_role: 'FG', reporter_phone: '', reporter_email: 'a@praktijk.nl',
  });
  assert.deepEqual(d, {
    breach_id: 'DL-2026-ABCD', aware_at: '2026-06-09T06:00:00+02:00', description: 'USB-stick kwijt',
    cause: 'processor', processor: 'Intramed', personal_data: 'yes', categories: ['health', 'bsn'],
    persons_affected: 40, groups: ['clients'], started_at: '2026-06-08T17:00:00+02:00', ongoing: true,
    unintelligible: false, reporter: { name: 'A. de Vries', role: 'FG', email: 'a@praktijk.nl' },
  });
  assert.equal(reportedData('X', { cause: 'hacking', processor: 'Intramed' }).processor, undefined);
});

test('step 2: a risk needs the AP notification now or later; late needs the reasons', () => {
  assert.deepEqual(validateAssess({}, NOW), { risk: 'err.required', rationale: 'err.required' });
  assert.deepEqual(validateAssess({ risk: 'unlikely', rationale: 'versleuteld' }, NOW), {});
  assert.deepEqual(validateAssess({ risk: 'high', rationale: 'r' }, NOW), { notify: 'err.required' });
  assert.deepEqual(validateAssess({ risk: 'high', rationale: 'r', notify: 'later' }, NOW), {});
  assert.deepEqual(validateAssess({ risk: 'risk', rationale: 'r', notify: 'now' }, NOW),
    { reference: 'err.required', notified_at: 'err.required', phase: 'err.required' });
  const now = { risk: 'risk', rationale: 'r', notify: 'now', reference: 'M-1', notified_at: '2026-06-09T06:40', phase: 'initial' };
  assert.deepEqual(validateAssess(now, NOW, Date.parse('2026-06-11T07:00:00Z')), {});
  assert.deepEqual(validateAssess(now, NOW, Date.parse('2026-06-09T04:00:00Z')), { delay_reasons: 'err.required' });
  assert.deepEqual(assessedData('K', { risk: 'high', rationale: 'r', cross_border: 'yes', countries: 'Duitsland, België', consequences: ['identity_fraud'] }),
    { breach_id: 'K', risk: 'high', rationale: 'r', cross_border: 'yes', countries: ['Duitsland', 'België'], consequences: ['identity_fraud'] });
  assert.equal(notifiedData('K', { ...now, notify: 'later' }), null);
  assert.deepEqual(notifiedData('K', now), { breach_id: 'K', reference: 'M-1', notified_at: '2026-06-09T06:40:00+02:00', phase: 'initial' });
  assert.deepEqual(countries(' ;\n'), undefined);
});

test('step 3: high risk cannot be skipped; informing needs every element of the message', () => {
  assert.deepEqual(validateInform({ inform: 'skip' }, NOW, true), { inform: 'err.inform_required' });
  assert.deepEqual(validateInform({ inform: 'skip' }, NOW, false), {});
  assert.deepEqual(validateInform({ inform: 'informed', message: messageTemplate('nl'), channel: 'letter', informed_at: '2026-06-09T06:00' }, NOW, true),
    { message: 'err.message_elements' });
  assert.deepEqual(validateInform({ inform: 'exception' }, NOW, true), { exception: 'err.required', exception_rationale: 'err.required' });
  assert.deepEqual(informedData('K', { inform: 'exception', exception: 'unintelligible', exception_rationale: 'versleuteld' }),
    { breach_id: 'K', exception: 'unintelligible', rationale: 'versleuteld' });
  assert.deepEqual(informedData('K', { inform: 'informed', informed_at: '2026-06-09T06:00', channel: 'letter', count: '3', message: 'm' }),
    { breach_id: 'K', informed_at: '2026-06-09T06:00:00+02:00', channel: 'letter', count: 3, message: 'm' });
  assert.equal(informedData('K', { inform: 'skip' }), null);
  assert.deepEqual(validateClose({ measures: ' ' }), { measures: 'err.required' });
});

test('the next step of the scheme', () => {
  const open = (kind) => [{ kind, status: 'open' }];
  assert.deepEqual(nextStep({ status: 'reported' }, open('avg.notify_ap')), { step: 2, key: 'next.notify' });
  assert.deepEqual(nextStep({ status: 'notified', risk: 'high' }, open('avg.inform_subjects')), { step: 3, key: 'next.inform' });
  assert.deepEqual(nextStep({ status: 'notified', risk: 'risk' }, [{ kind: 'avg.notify_ap', status: 'fulfilled' }]), { step: 4, key: 'next.register' });
  assert.equal(nextStep({ status: 'closed' }, []), null);
  // notified without an assessment: nothing left open, so register
  assert.deepEqual(nextStep({ status: 'notified' }, [{ kind: 'avg.notify_ap', status: 'late' }]), { step: 4, key: 'next.register' });
  // no personal data: no duty, the assessment is next
  assert.deepEqual(nextStep({ status: 'reported', personal_data: 'no' }, []), { step: 2, key: 'next.assess' });
  assert.deepEqual(nextStep({ status: 'notified', risk: 'high' }, [{ kind: 'avg.complete_notification', status: 'overdue' }]), { step: 2, key: 'next.complete' });
});

test('the chain\'s break as the server names it', () => {
  assert.deepEqual(chainBreak('version 3 (register seq 812): hash does not match its content'),
    { version: 3, seq: 812, reason: 'altered', text: 'hash does not match its content' });
  assert.equal(chainBreak('version 2 (register seq 9): prev_hash does not match the hash of the register\'s version before it').reason, 'relinked');
  assert.equal(chainBreak('version 2 (register seq 9): something else').reason, null);
  assert.equal(chainBreak(null), null);
  assert.equal(chainBreak('kapot'), null);
});

test('a breach taken up again: the form shows what the register holds', () => {
  const v = valuesFrom({
    description: 'USB-stick kwijt', aware_at: '2026-10-25T01:30:00Z', personal_data: 'yes', persons_affected: 40,
    categories: ['health'], reporter: { name: 'A', email: 'a@b.nl' }, unintelligible: false, countries: ['Duitsland', 'België'],
    risk: 'high', ongoing: true,
  });
  assert.deepEqual(v, {
    description: 'USB-stick kwijt', aware_at: '2026-10-25T02:30', personal_data: 'yes', persons_affected: '40',
    categories: ['health'], reporter_name: 'A', reporter_email: 'a@b.nl', countries: 'Duitsland, België', risk: 'high', ongoing: true,
  });
  // and a report built from them again says the same
  assert.equal(reportedData('K', { ...v, aware_at: '2026-06-09T06:30' }).persons_affected, 40);
  assert.deepEqual(valuesFrom(undefined), { ongoing: false });
});
