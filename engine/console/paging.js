// paging.js — whether the server pages the console's lists itself
// (GET /v1/obligations?order=due, GET /v1/alerts?order=newest). A server
// that does refuses an unknown order with 400; one that does not ignores
// the parameter and answers 200, and the pages then page the whole list
// themselves (officer.js, localAlertsPage and localDeadlinesPage). Asked
// once per page load.
import { api } from './core.js';

let known = null;

export async function pagedServer() {
  if (known === null) {
    const r = await api('/console/api/v1/obligations?order=none&limit=1');
    if (r.status === 401) return true; // signed out: the page's own request says so
    known = r.status === 400;
  }
  return known;
}
