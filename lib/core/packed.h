/* Packed weights: what a backend derives from the model's weights (oneDNN's blocked
 * layouts, int8 weights and their scales, device copies) made once per model and
 * shared read-only by every plan of every session of it, as ncnn's Net or ggml's
 * weight buffers. Entries live until the model is freed; activations and scratch
 * stay per plan, so sessions still run concurrently. */
#ifndef VENSEG_PACKED_H
#define VENSEG_PACKED_H

#include <pthread.h>

#include "core/internal.h"

typedef struct vs_packed_entry vs_packed_entry;

typedef struct vs_packed_store {
    pthread_mutex_t lock; /* lookups and making: one plan packs an entry, the others wait */
    vs_packed_entry *head;
    int entries;
    size_t bytes;
} vs_packed_store;

/* What a plan asks for: an entry is found by owner, node and kind, and, when
 * same is set, by same(entry's desc, want) (a layout that must match too). */
typedef struct vs_packed_request {
    const void *owner; /* the backend, e.g. its ops table: backends never share entries */
    int node, kind;    /* graph node and the backend's own tag (precision, device, layout) */
    const void *want;
    int (*same)(const void *desc, const void *want);
    /* makes the data (and a desc that same() compares with later requests; may be NULL) */
    venseg_status (*make)(void *ctx, void **data, void **desc, size_t *bytes);
    void (*release)(void *data, void *desc); /* when the model goes */
    void *ctx;
} vs_packed_request;

/* Statistics for tests and benchmarks. */
typedef struct vs_packed_stats {
    int entries; /* made so far (each once) */
    size_t bytes;
} vs_packed_stats;

void vs_packed_init(vs_packed_store *s);
/* Releases the entries newest first: an entry may use an older one (oneDNN's weights
 * memories live on the model's engine, its first entry). */
void vs_packed_release(vs_packed_store *s);
/* *data of the request's entry, made by r->make on its first request. */
venseg_status vs_packed_get(vs_packed_store *s, const vs_packed_request *r, void **data);
vs_packed_stats vs_packed_stats_of(vs_packed_store *s);

/* The model's store and graph, for code that cannot include core/model.h (its C11
 * atomics are not C++): internal tests. */
struct vs_graph;
vs_packed_store *vs_model_packed(const venseg_model *m);
const struct vs_graph *vs_model_graph(const venseg_model *m);
/* Bytes the model holds for its weights outside the packed store: the file's tensors
 * as stored (q8 stays q8) and the graph's small f32 vectors (biases, BN scales). */
size_t vs_model_weight_bytes(const venseg_model *m);

#endif
