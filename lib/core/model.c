/* Model loading and queries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"

static venseg_status meta_double_or(const vs_file *f, const char *key, double fallback, double *out)
{
    const vs_kv *kv = vs_file_find(f, key);
    if (!kv) {
        *out = fallback;
        return VENSEG_OK;
    }
    if (kv->type != VS_KV_F64 && kv->type != VS_KV_I64)
        return vs_fail(VENSEG_E_BAD_MODEL, "model: metadata '%s' must be a number", key);
    *out = kv->type == VS_KV_F64 ? kv->f64 : (double)kv->i64;
    return VENSEG_OK;
}

static venseg_status channel_values(const vs_file *f, const char *key, int channels, double fallback, double *out)
{
    const vs_kv *kv = vs_file_find(f, key);
    for (int c = 0; c < 3; c++) out[c] = fallback;
    if (!kv) return VENSEG_OK;
    if (kv->type != VS_KV_F64_ARRAY || (int)kv->count != channels)
        return vs_fail(VENSEG_E_BAD_MODEL, "model: metadata '%s' must be %d numbers (one per input channel)", key,
                       channels);
    for (int c = 0; c < channels; c++) out[c] = kv->f64s[c];
    return VENSEG_OK;
}

static venseg_status read_spec(venseg_model *m)
{
    const vs_file *f = &m->file;
    const vs_graph *g = &m->graph;
    venseg_status st;
    m->in_channels = g->input_channels;
    const char *dims[2] = {"input.width", "input.height"};
    int *slots[2] = {&m->in_width, &m->in_height};
    for (int i = 0; i < 2; i++) {
        const vs_kv *kv = vs_file_find(f, dims[i]);
        if (!kv || kv->type != VS_KV_I64)
            return vs_fail(VENSEG_E_BAD_MODEL, "model: metadata '%s' is missing or not an integer", dims[i]);
        if (kv->i64 < g->multiple || kv->i64 > 4096 || kv->i64 % g->multiple)
            return vs_fail(VENSEG_E_BAD_MODEL, "model: %s = %lld must be a multiple of %d in [%d, 4096]", dims[i],
                           (long long)kv->i64, g->multiple, g->multiple);
        *slots[i] = (int)kv->i64;
    }
    if ((st = meta_double_or(f, "input.scale", 1.0, &m->scale))) return st;
    if ((st = channel_values(f, "input.mean", m->in_channels, 0.0, m->mean))) return st;
    if ((st = channel_values(f, "input.std", m->in_channels, 1.0, m->std))) return st;
    for (int c = 0; c < m->in_channels; c++)
        if (!(m->std[c] > 0)) return vs_fail(VENSEG_E_BAD_MODEL, "model: input.std[%d] must be positive", c);
    const vs_kv *kv = vs_file_find(f, "input.resize");
    if (kv && (kv->type != VS_KV_STR || (strcmp(kv->str, "stretch") && strcmp(kv->str, "letterbox"))))
        return vs_fail(VENSEG_E_BAD_MODEL, "model: input.resize must be 'stretch' or 'letterbox'");
    m->letterbox = kv && !strcmp(kv->str, "letterbox");
    kv = vs_file_find(f, "output.activation");
    if (kv && (kv->type != VS_KV_STR || (strcmp(kv->str, "sigmoid") && strcmp(kv->str, "softmax"))))
        return vs_fail(VENSEG_E_BAD_MODEL, "model: output.activation must be 'sigmoid' or 'softmax'");
    m->softmax = kv && !strcmp(kv->str, "softmax");
    if ((st = meta_double_or(f, "output.threshold", 0.5, &m->threshold))) return st;
    if (!(m->threshold >= 0 && m->threshold < 1))
        return vs_fail(VENSEG_E_BAD_MODEL, "model: output.threshold must be in [0, 1)");
    kv = vs_file_find(f, "output.classes");
    m->n_classes = (int)kv->count;
    m->class_names = (const char *const *)kv->strs;
    return VENSEG_OK;
}

venseg_status venseg_model_load_memory(const void *data, size_t size, venseg_model **out)
{
    vs_clear_error();
    if (!data || !out)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_model_load_memory: %s is NULL", data ? "out" : "data");
    venseg_model *m = calloc(1, sizeof *m);
    if (!m) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_model_load_memory: out of memory");
    venseg_status st = vs_file_parse(data, size, &m->file);
    if (!st) st = vs_graph_build(&m->file, &m->graph);
    if (!st) st = read_spec(m);
    if (st) {
        vs_graph_release(&m->graph);
        vs_file_release(&m->file);
        free(m);
        return st;
    }
    atomic_init(&m->refs, 1);
    vs_packed_init(&m->packed);
    *out = m;
    return VENSEG_OK;
}

venseg_status venseg_model_load_file(const char *path, venseg_model **out)
{
    vs_clear_error();
    if (!path || !out)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_model_load_file: %s is NULL", path ? "out" : "path");
    FILE *fp = fopen(path, "rb");
    if (!fp) return vs_fail(VENSEG_E_IO, "cannot open weights file '%s'", path);
    unsigned char *buf = NULL;
    size_t size = 0, cap = 0;
    venseg_status st = VENSEG_OK;
    for (;;) { /* read to EOF: works for pipes and does not trust a size query */
        if (size == cap) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
            unsigned char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "out of memory reading '%s'", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + size, 1, cap - size, fp);
        size += got;
        if (got == 0) {
            if (ferror(fp)) st = vs_fail(VENSEG_E_IO, "read error on weights file '%s'", path);
            break;
        }
    }
    fclose(fp);
    if (!st) {
        st = venseg_model_load_memory(buf, size, out);
        if (st) {
            char detail[1024];
            snprintf(detail, sizeof detail, "%s", venseg_last_error());
            vs_fail(st, "%s: %s", path, detail);
        }
    }
    free(buf);
    return st;
}

void vs_model_retain(venseg_model *m) { atomic_fetch_add(&m->refs, 1); }

void vs_model_release(venseg_model *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1) return;
    vs_packed_release(&m->packed);
    vs_graph_release(&m->graph);
    vs_file_release(&m->file);
    free(m);
}

void venseg_model_free(venseg_model *model) { vs_model_release(model); }

vs_packed_store *vs_model_packed(const venseg_model *m) { return &((venseg_model *)m)->packed; }

const vs_graph *vs_model_graph(const venseg_model *m) { return &m->graph; }

size_t vs_model_weight_bytes(const venseg_model *m) { return m->file.blob_size + m->graph.owned_bytes; }

#define CHECK_MODEL(fn, ptr)                                                                    \
    do {                                                                                        \
        vs_clear_error();                                                                       \
        if (!model) return vs_fail(VENSEG_E_INVALID_ARGUMENT, fn ": model is NULL");            \
        if (!(ptr)) return vs_fail(VENSEG_E_INVALID_ARGUMENT, fn ": output pointer is NULL");   \
    } while (0)

venseg_status venseg_model_input_size(const venseg_model *model, int32_t *width, int32_t *height, int32_t *channels)
{
    CHECK_MODEL("venseg_model_input_size", width && height && channels);
    *width = model->in_width;
    *height = model->in_height;
    *channels = model->in_channels;
    return VENSEG_OK;
}

venseg_status venseg_model_class_count(const venseg_model *model, int32_t *count)
{
    CHECK_MODEL("venseg_model_class_count", count);
    *count = model->n_classes;
    return VENSEG_OK;
}

venseg_status venseg_model_class_name_at(const venseg_model *model, int32_t index, const char **name)
{
    CHECK_MODEL("venseg_model_class_name_at", name);
    if (index < 0 || index >= model->n_classes)
        return vs_fail(VENSEG_E_NOT_FOUND, "venseg_model_class_name_at: index %d outside [0, %d)", index,
                       model->n_classes);
    *name = model->class_names[index];
    return VENSEG_OK;
}

/* ABI 1 names (aliases) */
venseg_status venseg_model_num_classes(const venseg_model *model, int32_t *n)
{
    return venseg_model_class_count(model, n);
}

venseg_status venseg_model_class_name(const venseg_model *model, int32_t index, const char **name)
{
    return venseg_model_class_name_at(model, index, name);
}

static venseg_status find_meta(const venseg_model *model, const char *key, vs_kv_type want, const vs_kv **kv)
{
    if (!key) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "metadata query: key is NULL");
    *kv = vs_file_find(&model->file, key);
    if (!*kv) return vs_fail(VENSEG_E_NOT_FOUND, "metadata key '%s' is not in the model", key);
    if ((*kv)->type != want && !(want == VS_KV_F64 && (*kv)->type == VS_KV_I64))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "metadata key '%s' has another type", key);
    return VENSEG_OK;
}

venseg_status venseg_model_meta_string(const venseg_model *model, const char *key, const char **value)
{
    CHECK_MODEL("venseg_model_meta_string", value);
    const vs_kv *kv = NULL;
    venseg_status st = find_meta(model, key, VS_KV_STR, &kv);
    if (!st) *value = kv->str;
    return st;
}

venseg_status venseg_model_meta_int(const venseg_model *model, const char *key, int64_t *value)
{
    CHECK_MODEL("venseg_model_meta_int", value);
    const vs_kv *kv = NULL;
    venseg_status st = find_meta(model, key, VS_KV_I64, &kv);
    if (!st) *value = kv->i64;
    return st;
}

venseg_status venseg_model_meta_double(const venseg_model *model, const char *key, double *value)
{
    CHECK_MODEL("venseg_model_meta_double", value);
    const vs_kv *kv = NULL;
    venseg_status st = find_meta(model, key, VS_KV_F64, &kv);
    if (!st) *value = kv->type == VS_KV_F64 ? kv->f64 : (double)kv->i64;
    return st;
}

venseg_status venseg_model_parameter_count(const venseg_model *model, int64_t *count)
{
    CHECK_MODEL("venseg_model_parameter_count", count);
    *count = model->graph.parameter_count;
    return VENSEG_OK;
}

venseg_status venseg_model_input_multiple(const venseg_model *model, int32_t *multiple)
{
    CHECK_MODEL("venseg_model_input_multiple", multiple);
    *multiple = model->graph.multiple;
    return VENSEG_OK;
}

venseg_status venseg_model_tensor_count(const venseg_model *model, int32_t *count)
{
    CHECK_MODEL("venseg_model_tensor_count", count);
    *count = (int32_t)model->file.n_tensors;
    return VENSEG_OK;
}

venseg_status venseg_model_tensor_info(const venseg_model *model, int32_t index, const char **name, int32_t *ndim,
                                       int64_t dims[4], int32_t *stored_dtype)
{
    CHECK_MODEL("venseg_model_tensor_info", name && ndim && dims && stored_dtype);
    if (index < 0 || (size_t)index >= model->file.n_tensors)
        return vs_fail(VENSEG_E_NOT_FOUND, "venseg_model_tensor_info: index %d out of range", index);
    const vs_tensor *t = &model->file.tensors[index];
    *name = t->name;
    *ndim = t->ndim;
    for (int i = 0; i < 4; i++) dims[i] = i < t->ndim ? t->dims[i] : 1;
    *stored_dtype = (int32_t)t->dtype;
    return VENSEG_OK;
}

venseg_status venseg_model_macs(const venseg_model *model, int32_t width, int32_t height, int64_t *macs)
{
    CHECK_MODEL("venseg_model_macs", macs);
    const vs_graph *g = &model->graph;
    if (width < g->multiple || height < g->multiple || width % g->multiple || height % g->multiple || width > 16384 ||
        height > 16384)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_model_macs: %d x %d must be multiples of %d", width, height,
                       g->multiple);
    int *h = calloc((size_t)g->n_values, sizeof *h), *w = calloc((size_t)g->n_values, sizeof *w);
    if (!h || !w) {
        free(h), free(w);
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_model_macs: out of memory");
    }
    h[0] = height;
    w[0] = width;
    int64_t total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const vs_node *n = &g->nodes[i];
        int ih = h[n->in[0]], iw = w[n->in[0]];
        h[n->out] = vs_node_out_size(n, ih);
        w[n->out] = vs_node_out_size(n, iw);
        const int64_t k2 = (int64_t)n->kernel * n->kernel;
        if (n->op == VS_OP_CONV) total += (int64_t)n->cout * n->cin * k2 * h[n->out] * w[n->out];
        else if (n->op == VS_OP_CONVT) total += (int64_t)n->cout * n->cin * k2 * ih * iw;
    }
    free(h), free(w);
    *macs = total;
    return VENSEG_OK;
}
