// paging.js — the console's paged lists (Termijnen, Signalen): the server
// orders and pages them (GET /v1/obligations?order=due with after_due and
// after, GET /v1/alerts?order=newest with before), the page asks for one
// page at a time.
import { $, failed } from './core.js';
import { PAGE, unseen } from './officer.js';

// A paged list: list.query(false) asks for the first page, list.query(true)
// for the one after the rows shown. An answer a later query overtook is
// dropped; the section is aria-busy meanwhile (tests wait for "false");
// a next page adds only the rows not shown yet (by key), and the first row
// it added takes the focus (its element id from focusId), so a keyboard
// user goes on where the new rows begin. fetchPage(next) answers {status,
// body}; shown(body) renders list.rows.
export function pagedList({ sectionId, errorId, errorKey, fetchPage, key, focusId, shown }) {
  const list = { rows: [], more: false, gen: 0 };
  list.query = async (next) => {
    const gen = ++list.gen, section = $(sectionId);
    section.setAttribute('aria-busy', 'true');
    $(errorId).textContent = '';
    const r = await fetchPage(next);
    if (gen !== list.gen) return;
    section.setAttribute('aria-busy', 'false');
    if (failed([r], errorId, errorKey)) return;
    const rows = next ? unseen(list.rows, r.body, key) : r.body;
    list.rows = next ? [...list.rows, ...rows] : rows;
    list.more = r.body.length === PAGE;
    shown(r.body);
    if (next && rows.length) $(focusId(rows[0]))?.focus();
  };
  return list;
}
