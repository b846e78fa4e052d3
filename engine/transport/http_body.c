/*
 * http_body.c — room for request bodies and connections per client, for
 * the HTTP server (transport_http.c). Every byte of capacity held for
 * bodies counts against the server's max_buffered_body_bytes; a
 * connection whose body does not fit waits in a first-come queue, admitted
 * from an idle callback as room is given back or answered 503 after
 * body_wait_ms. A table of open connections per client address enforces
 * max_connections_per_client.
 *
 * Depends on: libuv (the idle callback, the wait timer), llhttp (resuming
 * an admitted parser), http_internal.h (the connection, and the core's
 * answers and parsing) and alloc.h. Runs on the loop thread.
 */
#include "http_internal.h"

#include "alloc.h"
#include "error.h"

#include <stdint.h>
#include <string.h>

static void on_admit_idle(uv_idle_t *h);

/* ---- room for bodies -------------------------------------------------- */

/* Gives n bytes back to the server's budget; waiting connections are
 * looked at from admit_idle, on the loop's next turn, so that no
 * connection is parsed from inside another one's callbacks. */
void body_unreserve(http_server *srv, size_t n)
{
    srv->buffered -= n;
    if (srv->wait_head && srv->idle_open && !srv->stopping)
        uv_idle_start(&srv->admit_idle, on_admit_idle);
}

/* Grows c's body buffer to hold need bytes (its NUL included) if the
 * server's budget has room. Returns 0 when it holds them, 1 when there is
 * no room now, or OBLIGO_ENOMEM. A chunked body is given room to double, up
 * to the body limit, so that many small chunks do not mean many copies; the
 * room counts as held. */
int body_reserve(http_conn *c, size_t need)
{
    http_server *srv = c->srv;
    if (need <= c->body.cap)
        return 0;
    size_t room = srv->limits.max_buffered_body_bytes - srv->buffered;
    size_t cap = need;
    if (c->chunked && c->body.cap <= SIZE_MAX / 2) {
        size_t more = c->body.cap * 2, top = srv->limits.max_body_bytes + 1;
        if (more > top)
            more = top;
        if (more > cap && more - c->body_reserved <= room)
            cap = more;
    }
    if (cap - c->body_reserved > room)
        return 1;
    char *p = obligo_realloc(c->body.p, cap);
    if (!p)
        return OBLIGO_ENOMEM;
    c->body.p = p;
    srv->buffered += cap - c->body_reserved;
    if (srv->buffered > srv->buffered_peak)
        srv->buffered_peak = srv->buffered;
    c->body.cap = c->body_reserved = cap;
    return 0;
}

int budget_take(http_server *srv, size_t n)
{
    if (n > srv->limits.max_buffered_body_bytes - srv->buffered)
        return 1;
    srv->buffered += n;
    if (srv->buffered > srv->buffered_peak)
        srv->buffered_peak = srv->buffered;
    return 0;
}

/* Frees c's body buffer and gives its room back. */
void body_release(http_conn *c)
{
    size_t n = c->body_reserved;
    c->body_reserved = 0;
    dbuf_free(&c->body);
    if (n)
        body_unreserve(c->srv, n);
}

static void on_wait_timer(uv_timer_t *t);

/* Puts c at the end of the queue for need bytes; llhttp is paused by the
 * caller and reading stops (conn_update). */
void wait_enqueue(http_conn *c, size_t need)
{
    http_server *srv = c->srv;
    c->waiting = 1;
    c->body_need = need;
    c->wait_next = NULL;
    c->wait_prev = srv->wait_tail;
    if (srv->wait_tail)
        srv->wait_tail->wait_next = c;
    else
        srv->wait_head = c;
    srv->wait_tail = c;
    srv->nwaiting++;
    uv_timer_start(&c->wait_timer, on_wait_timer, srv->limits.body_wait_ms, 0);
}

void wait_remove(http_conn *c)
{
    if (!c->waiting)
        return;
    http_server *srv = c->srv;
    if (c->wait_prev)
        c->wait_prev->wait_next = c->wait_next;
    else
        srv->wait_head = c->wait_next;
    if (c->wait_next)
        c->wait_next->wait_prev = c->wait_prev;
    else
        srv->wait_tail = c->wait_prev;
    c->wait_prev = c->wait_next = NULL;
    c->waiting = 0;
    c->continue_owed = 0;
    srv->nwaiting--;
    if (!c->closing)
        uv_timer_stop(&c->wait_timer);
}

static void on_wait_timer(uv_timer_t *t)
{
    http_conn *c = t->data;
    if (!c->waiting || c->closing)
        return;
    c->srv->wait_refused++;
    conn_fail(c, 503, "the server holds as many request bodies as it may; retry later");
    conn_update(c);
}

/* Admits waiting connections in their order while there is room; the
 * first that does not fit keeps the others waiting (first come, first
 * served: a large body is not passed over forever by small ones). */
static void on_admit_idle(uv_idle_t *h)
{
    http_server *srv = h->data;
    uv_idle_stop(h);
    while (srv->wait_head) {
        http_conn *c = srv->wait_head;
        int rc = body_reserve(c, c->body_need);
        if (rc == 1)
            break;
        int send_continue = c->continue_owed && !c->head;
        wait_remove(c);
        if (rc < 0) {
            conn_fail(c, 503, NULL);
            conn_update(c);
            continue;
        }
        if (send_continue)
            conn_send_raw(c, "HTTP/1.1 100 Continue\r\n\r\n");
        if (c->closing)
            continue;
        llhttp_resume(&c->parser);
        conn_pump(c);
        conn_update(c);
    }
}

/* ---- client addresses ------------------------------------------------- */

static client_count **client_slot(http_server *srv, const unsigned char *addr)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 16777619u;
    client_count **pp = &srv->clients[h % HTTP_CLIENT_BUCKETS];
    while (*pp && memcmp((*pp)->addr, addr, 16) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Counts c against its address. Returns 0, 1 when the address has its
 * share already, or OBLIGO_ENOMEM. */
int client_admit(http_conn *c)
{
    if (!c->have_addr || (c->loopback && !c->srv->limits.per_client_loopback))
        return 0; /* the proxy or this machine: max_connections bounds it */
    client_count **pp = client_slot(c->srv, c->addr);
    client_count *e = *pp;
    if (e && e->n >= c->srv->limits.max_connections_per_client)
        return 1;
    if (!e) {
        e = obligo_calloc(1, sizeof *e);
        if (!e)
            return OBLIGO_ENOMEM;
        memcpy(e->addr, c->addr, 16);
        *pp = e;
    }
    e->n++;
    c->client = e;
    return 0;
}

void client_leave(http_conn *c)
{
    if (!c->client)
        return;
    client_count **pp = client_slot(c->srv, c->addr);
    c->client = NULL;
    if (*pp && --(*pp)->n == 0) {
        client_count *e = *pp;
        *pp = e->next;
        obligo_free(e);
    }
}
