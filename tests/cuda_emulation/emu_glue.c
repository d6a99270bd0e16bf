/* C side of test_cuda_emulated: one forward pass through a backend's vtable on the
 * model's internal graph (C, because core/model.h is C11 with atomics). */
#include <stdio.h>

#include "backends/backend.h"
#include "backends/cuda/cuda_backend.h"
#include "core/model.h"
#include "emu_glue.h"

/* the module gets this from its host; here the core is linked in */
const char *vc_last_error(void) { return venseg_last_error(); }

static venseg_status forward(const venseg_model *m, int cuda, int precision, int tf32, int batch, int h, int w,
                             const float *input, float *logits, char *describe, size_t describe_len, int shared)
{
    const vs_backend_ops *ops = cuda ? &vc_backend_cuda : &vs_backend_reference;
    vs_plan_config cfg = {.height = h, .width = w, .threads = 2, .batch = batch, .precision = (venseg_precision)precision,
                          .value_max = NULL, .device = 0, .allow_tf32 = tf32};
    if (shared) cfg.packed = vs_model_packed(m);
    void *plan = NULL;
    venseg_status st = ops->plan_create(&m->graph, &cfg, &plan);
    if (st) return st;
    st = ops->run(plan, input, logits);
    snprintf(describe, describe_len, "%s", ops->describe(plan));
    ops->plan_free(plan);
    return st;
}

venseg_status emu_forward(const venseg_model *m, int cuda, int precision, int tf32, int batch, int h, int w,
                          const float *input, float *logits, char *describe, size_t describe_len)
{
    return forward(m, cuda, precision, tf32, batch, h, w, input, logits, describe, describe_len, 0);
}

venseg_status emu_forward_shared(const venseg_model *m, int precision, int tf32, int batch, int h, int w,
                                 const float *input, float *logits)
{
    char d[8];
    return forward(m, 1, precision, tf32, batch, h, w, input, logits, d, sizeof d, 1);
}

int emu_packed_entries(const venseg_model *m) { return vs_packed_stats_of(vs_model_packed(m)).entries; }
