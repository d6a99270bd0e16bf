/* Packed weights shared by the plans of one model (core/packed.h). */
#include <stdlib.h>

#include "core/packed.h"

struct vs_packed_entry {
    vs_packed_entry *next;
    const void *owner;
    int node, kind;
    void *data, *desc;
    size_t bytes;
    void (*release)(void *data, void *desc);
};

void vs_packed_init(vs_packed_store *s)
{
    pthread_mutex_init(&s->lock, NULL);
    s->head = NULL;
    s->entries = 0;
    s->bytes = 0;
}

void vs_packed_release(vs_packed_store *s)
{
    for (vs_packed_entry *e = s->head, *next; e; e = next) {
        next = e->next;
        if (e->release) e->release(e->data, e->desc);
        free(e);
    }
    s->head = NULL;
    pthread_mutex_destroy(&s->lock);
}

static vs_packed_entry *find(const vs_packed_store *s, const vs_packed_request *r)
{
    for (vs_packed_entry *e = s->head; e; e = e->next)
        if (e->owner == r->owner && e->node == r->node && e->kind == r->kind && (!r->same || r->same(e->desc, r->want)))
            return e;
    return NULL;
}

venseg_status vs_packed_get(vs_packed_store *s, const vs_packed_request *r, void **data)
{
    venseg_status st = VENSEG_OK;
    pthread_mutex_lock(&s->lock);
    vs_packed_entry *e = find(s, r);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e) st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "packed weights: out of memory");
        if (!st) st = r->make(r->ctx, &e->data, &e->desc, &e->bytes);
        if (st) {
            free(e);
            e = NULL;
        } else {
            e->owner = r->owner;
            e->node = r->node;
            e->kind = r->kind;
            e->release = r->release;
            e->next = s->head;
            s->head = e;
            s->entries++;
            s->bytes += e->bytes;
        }
    }
    if (e) *data = e->data;
    pthread_mutex_unlock(&s->lock);
    return st;
}

vs_packed_stats vs_packed_stats_of(vs_packed_store *s)
{
    pthread_mutex_lock(&s->lock);
    vs_packed_stats out = {s->entries, s->bytes};
    pthread_mutex_unlock(&s->lock);
    return out;
}
