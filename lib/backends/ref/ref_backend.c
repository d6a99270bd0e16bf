/* Reference backend: plans value shapes and buffers for one input size (buffers are
 * reused once a value's last reader has run) and executes the graph node by node. Its
 * kernels read f32 weights: made from the model's stored form once per model into its
 * packed store (shared by the sessions), or, for a plan without a store (calibration),
 * by the plan and freed with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/ref/ref_kernels.h"

typedef struct ref_plan {
    const vs_graph *g;
    int threads, batch;
    int *h, *w;      /* per value */
    int *buffer;     /* per value: index into buffers */
    float **buffers;
    int n_buffers;
    float *scratch;
    const float **weights; /* per node: f32 weights of CONV / CONVT */
    float **owned;         /* per node: what this plan made itself (no store) */
    char description[128];
} ref_plan;

static void plan_free(void *p)
{
    ref_plan *plan = p;
    if (!plan) return;
    for (int i = 0; i < plan->n_buffers; i++) free(plan->buffers[i]);
    free(plan->buffers);
    free(plan->buffer);
    free(plan->h);
    free(plan->w);
    free(plan->scratch);
    if (plan->owned)
        for (int i = 0; i < plan->g->n_nodes; i++) free(plan->owned[i]);
    free(plan->owned);
    free(plan->weights);
    free(plan);
}

/* A packed-store entry: the node's f32 weights (data), desc the buffer to free (NULL
 * when data is the file's own f32 bytes). */
static venseg_status make_weights(void *ctx, void **data, void **desc, size_t *bytes)
{
    const vs_node *n = ctx;
    float *owned = NULL;
    const float *w = vs_node_weights(n, &owned);
    if (!w) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "reference backend: out of memory for the weights of '%s'", n->name);
    *data = (void *)(uintptr_t)w;
    *desc = owned;
    *bytes = owned ? vs_node_weight_count(n) * sizeof(float) : 0;
    return VENSEG_OK;
}

static void release_weights(void *data, void *desc)
{
    (void)data;
    free(desc);
}

static venseg_status plan_weights(ref_plan *plan, vs_packed_store *packed)
{
    const vs_graph *g = plan->g;
    plan->weights = calloc((size_t)g->n_nodes + 1, sizeof *plan->weights);
    plan->owned = calloc((size_t)g->n_nodes + 1, sizeof *plan->owned);
    if (!plan->weights || !plan->owned) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "reference backend: out of memory");
    for (int i = 0; i < g->n_nodes; i++) {
        const vs_node *n = &g->nodes[i];
        if (n->op != VS_OP_CONV && n->op != VS_OP_CONVT) continue;
        if (packed) {
            vs_packed_request r = {&vs_backend_reference, i, 0, NULL, NULL, make_weights, release_weights,
                                   (void *)(uintptr_t)n};
            void *data = NULL;
            venseg_status st = vs_packed_get(packed, &r, &data);
            if (st) return st;
            plan->weights[i] = data;
        } else if (!(plan->weights[i] = vs_node_weights(n, &plan->owned[i]))) {
            return vs_fail(VENSEG_E_OUT_OF_MEMORY, "reference backend: out of memory for the weights of '%s'", n->name);
        }
    }
    return VENSEG_OK;
}

static venseg_status plan_create(const vs_graph *g, const vs_plan_config *cfg, void **out)
{
    const int height = cfg->height, width = cfg->width, threads = cfg->threads;
    ref_plan *plan = calloc(1, sizeof *plan);
    if (!plan) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "reference backend: out of memory");
    const int nv = g->n_values;
    plan->g = g;
    plan->threads = threads;
    plan->batch = cfg->batch > 0 ? cfg->batch : 1;
    plan->h = calloc((size_t)nv, sizeof *plan->h);
    plan->w = calloc((size_t)nv, sizeof *plan->w);
    plan->buffer = calloc((size_t)nv, sizeof *plan->buffer);
    int *last_use = calloc((size_t)nv, sizeof *last_use);
    size_t *sizes = calloc((size_t)nv, sizeof *sizes); /* floats per buffer, at most one buffer per value */
    int *busy = calloc((size_t)nv, sizeof *busy);
    venseg_status st = VENSEG_OK;
    if (!plan->h || !plan->w || !plan->buffer || !last_use || !sizes || !busy) {
        st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "reference backend: out of memory");
        goto done;
    }
    plan->h[0] = height;
    plan->w[0] = width;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[i].in[k] >= 0) last_use[g->nodes[i].in[k]] = i;
    last_use[g->output] = g->n_nodes;
    size_t scratch = 0;
    /* value 0 (the input) is the caller's buffer; give it no slot */
    for (int i = 0; i < g->n_nodes; i++) {
        const vs_node *n = &g->nodes[i];
        int ih = plan->h[n->in[0]], iw = plan->w[n->in[0]];
        int oh = vs_node_out_size(n, ih), ow = vs_node_out_size(n, iw);
        if (oh < 1 || ow < 1 || (n->in[1] >= 0 && (plan->h[n->in[1]] != oh || plan->w[n->in[1]] != ow))) {
            st = vs_fail(VENSEG_E_INVALID_ARGUMENT,
                         "input %dx%d does not fit the network at '%s' (use multiples of %d)", width, height, n->name,
                         g->multiple);
            goto done;
        }
        plan->h[n->out] = oh;
        plan->w[n->out] = ow;
        size_t need = (size_t)g->channels[n->out] * oh * ow;
        if (n->op == VS_OP_CONV && vs_ref_conv_scratch(n) > scratch) scratch = vs_ref_conv_scratch(n);
        /* best-fit free buffer, grown if needed */
        int pick = -1, largest = -1;
        for (int b = 0; b < plan->n_buffers; b++) {
            if (busy[b]) continue;
            if (sizes[b] >= need && (pick < 0 || sizes[b] < sizes[pick])) pick = b;
            if (largest < 0 || sizes[b] > sizes[largest]) largest = b;
        }
        if (pick < 0) pick = largest;
        if (pick < 0) pick = plan->n_buffers++;
        if (sizes[pick] < need) sizes[pick] = need;
        busy[pick] = 1;
        plan->buffer[n->out] = pick;
        for (int k = 0; k < 2; k++) {
            int v = n->in[k];
            if (v > 0 && last_use[v] == i) busy[plan->buffer[v]] = 0;
        }
    }
    plan->buffers = calloc((size_t)(plan->n_buffers ? plan->n_buffers : 1), sizeof *plan->buffers);
    if (!plan->buffers) {
        st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "reference backend: out of memory");
        goto done;
    }
    for (int b = 0; b < plan->n_buffers; b++)
        if (!(plan->buffers[b] = malloc(sizes[b] * sizeof(float)))) {
            st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "reference backend: out of memory for activations");
            goto done;
        }
    size_t scratch_total;
    if (!vs_mul_size(scratch ? scratch : 1, (size_t)threads, &scratch_total) ||
        !(plan->scratch = malloc(scratch_total * sizeof(float)))) {
        st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "reference backend: out of memory for scratch");
        goto done;
    }
    if ((st = plan_weights(plan, cfg->packed))) goto done;
    snprintf(plan->description, sizeof plan->description, "reference: portable C, %d thread%s, fp32", threads,
             threads == 1 ? "" : "s");
done:
    free(last_use);
    free(sizes);
    free(busy);
    if (st) {
        plan_free(plan);
        return st;
    }
    *out = plan;
    return VENSEG_OK;
}

venseg_status vs_ref_run_observed(void *p, const float *input, float *logits, vs_observer fn, void *ctx)
{
    ref_plan *plan = p;
    const vs_graph *g = plan->g;
    const int t = plan->threads;
    for (int i = 0; i < g->n_nodes; i++) {
        const vs_node *n = &g->nodes[i];
        const int a = n->in[0], v = n->out;
        const float *x = a == 0 ? input : plan->buffers[plan->buffer[a]];
        const float *x1 = n->in[1] < 0 ? NULL : n->in[1] == 0 ? input : plan->buffers[plan->buffer[n->in[1]]];
        float *y = plan->buffers[plan->buffer[v]];
        const int h = plan->h[a], w = plan->w[a], oh = plan->h[v], ow = plan->w[v];
        switch (n->op) {
        case VS_OP_CONV: vs_ref_conv(n, plan->weights[i], x, h, w, y, oh, ow, x1, plan->scratch, t); break;
        case VS_OP_CONVT: vs_ref_convt(n, plan->weights[i], x, h, w, y, oh, ow, t); break;
        case VS_OP_AFFINE: vs_ref_affine(n, x, h, w, y, t); break;
        case VS_OP_MAXPOOL: vs_ref_maxpool(n, x, h, w, y, oh, ow, t); break;
        case VS_OP_UPSAMPLE2X: vs_ref_upsample2x(n->cin, x, h, w, y, t); break;
        case VS_OP_CONCAT: vs_ref_concat(g->channels[a], x, g->channels[n->in[1]], x1, h, w, y); break;
        }
        if (fn) fn(ctx, i, y, (size_t)g->channels[v] * oh * ow);
    }
    const int out = g->output;
    memcpy(logits, plan->buffers[plan->buffer[out]],
           (size_t)g->channels[out] * plan->h[out] * plan->w[out] * sizeof(float));
    return VENSEG_OK;
}

/* A batch runs image by image: the kernels are per image and buffers stay small. */
static venseg_status run(void *p, const float *input, float *logits)
{
    ref_plan *plan = p;
    const vs_graph *g = plan->g;
    const size_t in_size = (size_t)g->input_channels * plan->h[0] * plan->w[0];
    const size_t out_size = (size_t)g->channels[g->output] * plan->h[g->output] * plan->w[g->output];
    for (int b = 0; b < plan->batch; b++) {
        venseg_status st = vs_ref_run_observed(p, input + b * in_size, logits + b * out_size, NULL, NULL);
        if (st) return st;
    }
    return VENSEG_OK;
}

static const char *describe(const void *p) { return ((const ref_plan *)p)->description; }

const vs_backend_ops vs_backend_reference = {
    VS_BACKEND_API_VERSION, VENSEG_BACKEND_REFERENCE, "reference", plan_create, run, plan_free, describe, vs_ref_run_observed,
};
