/* Internal backend interface (one folder per backend, ggml-style vtable). A backend
 * turns the graph into a plan for one input size and runs it; the core does the
 * pre- and post-processing around it. */
#ifndef VENSEG_BACKEND_H
#define VENSEG_BACKEND_H

#include "core/graph.h"
#include "core/packed.h"

#define VS_BACKEND_API_VERSION 1

/* What a plan is made for: `batch` images of height x width, run together. */
typedef struct vs_plan_config {
    int height, width, threads;
    int batch;
    venseg_precision precision;
    const double *value_max; /* INT8: calibrated max |x| per graph value (NaN = derive); else NULL */
    int device;              /* GPU backends: device index (VENSEG_OPT_DEVICE) */
    int allow_tf32;          /* GPU backends, FP32: TF32 tensor cores allowed (VENSEG_OPT_ALLOW_TF32) */
    vs_packed_store *packed; /* the model's shared packed weights; NULL: the plan packs its own */
} vs_plan_config;

/* Called after each node of an observed run with the node's output. */
typedef void (*vs_observer)(void *ctx, int node, const float *data, size_t count);

typedef struct vs_backend_ops {
    int api_version;
    venseg_backend id;
    const char *name;
    /* Plans the graph for one image of cfg->height x cfg->width. */
    venseg_status (*plan_create)(const vs_graph *g, const vs_plan_config *cfg, void **plan);
    /* input [batch][channels][height][width] -> logits [batch][classes][height][width] */
    venseg_status (*run)(void *plan, const float *input, float *logits);
    void (*plan_free)(void *plan);
    /* e.g. "reference: portable C, OpenMP, fp32" */
    const char *(*describe)(const void *plan);
    /* Optional (NULL: not supported): run() calling fn after each node (calibration). */
    venseg_status (*run_observed)(void *plan, const float *input, float *logits, vs_observer fn, void *ctx);
} vs_backend_ops;

/* Defined by the backends compiled in; chosen through backends/registry.h. */
extern const vs_backend_ops vs_backend_reference;
extern const vs_backend_ops vs_backend_onednn;

/* The reference backend run with an observer (its run_observed). */
venseg_status vs_ref_run_observed(void *plan, const float *input, float *logits, vs_observer fn, void *ctx);

#endif
