/* int8 calibration: max |activation| per calibrated graph value over sample inputs,
 * measured on the fp32 reference backend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/registry.h"
#include "core/frame.h"
#include "runtime/calibration.h"

struct venseg_calibration {
    venseg_model *model;
    const vs_backend_ops *ops; /* a backend with run_observed */
    double *node_max; /* per node */
    double input_max;
    int64_t samples;
    void *plan;
    int plan_h, plan_w;
};

int vs_calibrated_node(const vs_node *n)
{
    return n->op == VS_OP_CONV || n->op == VS_OP_CONVT || n->op == VS_OP_AFFINE;
}

venseg_status venseg_calibration_create(const venseg_model *model, venseg_calibration **out)
{
    vs_clear_error();
    if (!model || !out)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_calibration_create: %s is NULL", model ? "out" : "model");
    venseg_calibration *c = calloc(1, sizeof *c);
    if (!c || !(c->node_max = calloc((size_t)model->graph.n_nodes, sizeof *c->node_max))) {
        free(c);
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_calibration_create: out of memory");
    }
    c->model = (venseg_model *)model;
    c->ops = vs_backend_observable();
    vs_model_retain(c->model);
    *out = c;
    return VENSEG_OK;
}

void venseg_calibration_free(venseg_calibration *c)
{
    if (!c) return;
    if (c->plan) c->ops->plan_free(c->plan);
    vs_model_release(c->model);
    free(c->node_max);
    free(c);
}

static double max_abs(const float *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[i]));
    return m;
}

static void observe(void *ctx, int node, const float *data, size_t count)
{
    venseg_calibration *c = ctx;
    if (vs_calibrated_node(&c->model->graph.nodes[node]))
        c->node_max[node] = fmax(c->node_max[node], max_abs(data, count));
}

venseg_status venseg_calibration_add_tensor(venseg_calibration *c, const float *input, int32_t channels,
                                            int32_t height, int32_t width)
{
    vs_clear_error();
    if (!c || !input)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_calibration_add_tensor: %s is NULL", c ? "input" : "calibration");
    const vs_graph *g = &c->model->graph;
    venseg_status st = vs_check_tensor("venseg_calibration_add_tensor", channels, height, width, g->input_channels,
                                       g->multiple);
    if (st) return st;
    if (!c->plan || c->plan_h != height || c->plan_w != width) {
        if (c->plan) c->ops->plan_free(c->plan);
        c->plan = NULL;
        vs_plan_config cfg = {.height = height, .width = width, .threads = vs_resolve_threads(0), .batch = 1,
                              .precision = VENSEG_PRECISION_FP32};
        if ((st = c->ops->plan_create(g, &cfg, &c->plan))) return st;
        c->plan_h = height;
        c->plan_w = width;
    }
    const size_t classes = (size_t)g->channels[g->output];
    float *logits = malloc(classes * (size_t)height * width * sizeof *logits);
    if (!logits) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_calibration_add_tensor: out of memory");
    c->input_max = fmax(c->input_max, max_abs(input, (size_t)channels * height * width));
    st = c->ops->run_observed(c->plan, input, logits, observe, c);
    free(logits);
    if (!st) c->samples++;
    return st;
}

venseg_status venseg_calibration_add_frame(venseg_calibration *c, const void *pixels, venseg_pixel_format format,
                                           int32_t width, int32_t height, int64_t row_stride)
{
    vs_clear_error();
    if (!c || !pixels)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_calibration_add_frame: %s is NULL", c ? "pixels" : "calibration");
    venseg_status st = vs_check_frame("venseg_calibration_add_frame", format, width, height, row_stride, NULL);
    if (st) return st;
    const venseg_model *m = c->model;
    float *t = malloc((size_t)m->in_channels * m->in_width * m->in_height * sizeof *t);
    if (!t) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_calibration_add_frame: out of memory");
    vs_mapping map;
    vs_mapping_init(&map, width, height, m->in_width, m->in_height, m->letterbox);
    vs_frame_to_tensor(pixels, format, row_stride, &map, m->in_channels, m->scale, m->mean, m->std, t);
    st = venseg_calibration_add_tensor(c, t, m->in_channels, m->in_height, m->in_width);
    free(t);
    return st;
}

/* Entry i: 0 = input, then calibrated nodes in graph order. Returns the node or -1. */
static int entry_node(const vs_graph *g, int index)
{
    for (int i = 0, k = 1; i < g->n_nodes; i++)
        if (vs_calibrated_node(&g->nodes[i]) && k++ == index) return i;
    return -1;
}

venseg_status venseg_calibration_count(const venseg_calibration *c, int32_t *count)
{
    vs_clear_error();
    if (!c || !count) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_calibration_count: NULL argument");
    int32_t n = 1;
    for (int i = 0; i < c->model->graph.n_nodes; i++) n += vs_calibrated_node(&c->model->graph.nodes[i]);
    *count = n;
    return VENSEG_OK;
}

venseg_status venseg_calibration_entry(const venseg_calibration *c, int32_t index, const char **name, double *max)
{
    vs_clear_error();
    if (!c || !name || !max) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_calibration_entry: NULL argument");
    if (c->samples == 0) return vs_fail(VENSEG_E_BAD_STATE, "venseg_calibration_entry: no sample added yet");
    if (index == 0) {
        *name = "input";
        *max = c->input_max;
        return VENSEG_OK;
    }
    int node = index > 0 ? entry_node(&c->model->graph, index) : -1;
    if (node < 0) return vs_fail(VENSEG_E_NOT_FOUND, "venseg_calibration_entry: index %d out of range", index);
    *name = c->model->graph.nodes[node].name;
    *max = c->node_max[node];
    return VENSEG_OK;
}

venseg_status vs_value_ranges(const venseg_model *m, const venseg_calibration *cal, double **out)
{
    const vs_graph *g = &m->graph;
    double *v = malloc((size_t)g->n_values * sizeof *v);
    if (!v) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "int8: out of memory");
    for (int i = 0; i < g->n_values; i++) v[i] = NAN;
    if (cal) {
        int same = cal->model == m || cal->model->graph.n_nodes == g->n_nodes;
        for (int i = 0; same && cal->model != m && i < g->n_nodes; i++)
            same = !strcmp(cal->model->graph.nodes[i].name, g->nodes[i].name);
        if (!same) {
            free(v);
            return vs_fail(VENSEG_E_INVALID_ARGUMENT, "int8: the calibration was made for another model");
        }
        if (cal->samples == 0) {
            free(v);
            return vs_fail(VENSEG_E_BAD_STATE, "int8: the calibration has no samples");
        }
        v[0] = cal->input_max;
        for (int i = 0; i < g->n_nodes; i++)
            if (vs_calibrated_node(&g->nodes[i])) v[g->nodes[i].out] = cal->node_max[i];
    } else {
        const vs_kv *names = vs_file_find(&m->file, "int8.activation_names");
        const vs_kv *maxs = vs_file_find(&m->file, "int8.activation_max");
        if (!names || !maxs || names->type != VS_KV_STR_ARRAY || maxs->type != VS_KV_F64_ARRAY ||
            names->count != maxs->count) {
            free(v);
            return vs_fail(VENSEG_E_UNSUPPORTED,
                           "int8: the model has no int8.activation_names / int8.activation_max metadata; calibrate "
                           "(venseg_calibration_*) and use venseg_session_create_calibrated");
        }
        for (uint32_t k = 0; k < names->count; k++) {
            if (!strcmp(names->strs[k], "input")) v[0] = maxs->f64s[k];
            for (int i = 0; i < g->n_nodes; i++)
                if (vs_calibrated_node(&g->nodes[i]) && !strcmp(g->nodes[i].name, names->strs[k]))
                    v[g->nodes[i].out] = maxs->f64s[k];
        }
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (vs_calibrated_node(&g->nodes[i]) && !(v[g->nodes[i].out] >= 0)) {
            const char *name = g->nodes[i].name;
            free(v);
            return vs_fail(VENSEG_E_BAD_MODEL, "int8: no activation range for '%s'", name);
        }
    if (!(v[0] >= 0)) {
        free(v);
        return vs_fail(VENSEG_E_BAD_MODEL, "int8: no activation range for the input");
    }
    *out = v;
    return VENSEG_OK;
}
