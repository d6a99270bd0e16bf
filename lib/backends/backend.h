/* Internal backend interface (one folder per backend, ggml-style vtable). A backend
 * turns the graph into a plan for one input size and runs it; the core does the
 * pre- and post-processing around it. */
#ifndef VENSEG_BACKEND_H
#define VENSEG_BACKEND_H

#include "core/graph.h"

#define VS_BACKEND_API_VERSION 1

typedef struct vs_backend_ops {
    int api_version;
    venseg_backend id;
    const char *name;
    /* Plans the graph for one image of height x width; threads >= 1. */
    venseg_status (*plan_create)(const vs_graph *g, int height, int width, int threads, void **plan);
    /* input [channels][height][width] -> logits [classes][height][width] */
    venseg_status (*run)(void *plan, const float *input, float *logits);
    void (*plan_free)(void *plan);
    /* e.g. "reference: portable C, OpenMP, fp32" */
    const char *(*describe)(const void *plan);
} vs_backend_ops;

extern const vs_backend_ops vs_backend_reference;
#ifdef VENSEG_HAVE_ONEDNN
extern const vs_backend_ops vs_backend_onednn_f32;
extern const vs_backend_ops vs_backend_onednn_bf16;
#endif

#endif
