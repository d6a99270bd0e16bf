/* Sessions: per-thread executors holding the backend plan and frame buffers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/registry.h"
#include "core/frame.h"
#include "core/model.h"
#include "core/options.h"
#include "core/regions.h"
#include "runtime/calibration.h"
#include "runtime/session.h"


/* MAX_PLAN_BATCH bounds one backend call of run_tensor: activations grow with it. */
enum { MAX_PLAN_BATCH = 16 };

/* A backend plan and the input shape it was made for. */
typedef struct vs_exec {
    void *plan;
    int h, w, batch;
} vs_exec;

struct venseg_session {
    venseg_model *model;
    vs_option_values opts;
    int threads;
    const vs_backend_ops *backend;
    vs_exec single;  /* batch 1: frames and the tail of a batch */
    vs_exec batched; /* run_tensor with n > 1 */
    int roi_x, roi_y, roi_w, roi_h; /* roi_w == 0: whole frame */
    double spacing_x, spacing_y;    /* 0: unknown */
    /* grown on demand, reused across frames */
    float *tensor, *logits, *mirror_logits, *roi_probs; /* mirror_logits: VENSEG_OPT_FLIP_AVERAGE */
    size_t tensor_cap, logits_cap, mirror_logits_cap, roi_probs_cap;
    uint8_t *roi_labels;
    vs_regions regions; /* of the last segmented frame's ROI, read by the tracker too */
    venseg_instance *instances;
    int n_instances, instances_cap;
    double *value_max; /* int8 activation ranges per graph value */
    char auto_note[448]; /* AUTO: the precision it chose and why; why a preferred backend was passed over;
                          * FLIP_AVERAGE */
    char description[640];
};

static int reserve(void **p, size_t *cap, size_t count, size_t elem)
{
    if (count <= *cap) return 1;
    size_t bytes;
    if (!vs_mul_size(count, elem, &bytes)) return 0;
    void *q = realloc(*p, bytes);
    if (!q) return 0;
    *p = q;
    *cap = count;
    return 1;
}

static venseg_status create(const venseg_model *model, const venseg_options *options,
                            const venseg_calibration *calibration, venseg_session **out);

venseg_status venseg_session_create(const venseg_model *model, const venseg_options *options, venseg_session **out)
{
    vs_clear_error();
    return create(model, options, NULL, out);
}

venseg_status venseg_session_create_calibrated(const venseg_model *model, const venseg_options *options,
                                               const venseg_calibration *calibration, venseg_session **out)
{
    vs_clear_error();
    if (!calibration) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_create_calibrated: calibration is NULL");
    return create(model, options, calibration, out);
}

static venseg_status create(const venseg_model *model, const venseg_options *options,
                            const venseg_calibration *calibration, venseg_session **out)
{
    vs_clear_error();
    if (!model || !out)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_create: %s is NULL", model ? "out" : "model");
    venseg_session *s = calloc(1, sizeof *s);
    if (!s) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_session_create: out of memory");
    if (options) s->opts = options->values;
    else vs_option_defaults(&s->opts);
    venseg_precision precision = (venseg_precision)s->opts.precision;
    vs_auto_facts facts = {0, NAN};
    venseg_status st = VENSEG_OK;
    if (precision == VENSEG_PRECISION_AUTO) {
        /* a calibration must give ranges; a file without them just rules int8 out */
        if ((st = vs_value_ranges(model, calibration, &s->value_max)) && calibration) {
            free(s);
            return st;
        }
        vs_clear_error();
        facts.int8_ranges = st == VENSEG_OK;
        for (int i = 0; facts.int8_ranges && i < model->graph.n_values; i++)
            if (!isnan(s->value_max[i]) && !(s->value_max[i] <= facts.activation_max))
                facts.activation_max = s->value_max[i];
    }
    char why[160], backend_note[256];
    st = vs_backend_pick_auto("venseg_session_create", (venseg_backend)s->opts.backend, &precision, &facts,
                              (int)s->opts.device, &s->backend, why, sizeof why, backend_note, sizeof backend_note);
    s->opts.precision = precision;
    if (!st && precision == VENSEG_PRECISION_INT8 && !s->value_max)
        st = vs_value_ranges(model, calibration, &s->value_max);
    if (st) {
        free(s->value_max);
        free(s);
        return st;
    }
    if (precision != VENSEG_PRECISION_INT8) { /* AUTO chose another */
        free(s->value_max);
        s->value_max = NULL;
    }
    snprintf(s->auto_note, sizeof s->auto_note, "%s%s%s%s", why[0] ? "auto precision: " : "", why,
             why[0] && backend_note[0] ? "; " : "", backend_note);
    if (s->opts.flip_average) {
        const size_t used = strlen(s->auto_note);
        snprintf(s->auto_note + used, sizeof s->auto_note - used, "%seach frame averaged with its mirror image (2 passes)",
                 used ? "; " : "");
    }
    s->threads = vs_resolve_threads(s->opts.num_threads);
    s->model = (venseg_model *)model; /* the model is immutable; the count is its only mutable part */
    vs_model_retain(s->model);
    snprintf(s->description, sizeof s->description, "%s: %d thread%s, %s (not planned yet)%s%s", s->backend->name,
             s->threads, s->threads == 1 ? "" : "s", vs_precision_name((venseg_precision)s->opts.precision), s->auto_note[0] ? "; " : "",
             s->auto_note);
    *out = s;
    return VENSEG_OK;
}

void venseg_session_free(venseg_session *s)
{
    if (!s) return;
    if (s->single.plan) s->backend->plan_free(s->single.plan);
    if (s->batched.plan) s->backend->plan_free(s->batched.plan);
    free(s->tensor);
    free(s->logits);
    free(s->mirror_logits);
    free(s->roi_probs);
    free(s->roi_labels);
    vs_regions_free(&s->regions);
    free(s->instances);
    free(s->value_max);
    vs_model_release(s->model);
    free(s);
}

venseg_status venseg_session_get(const venseg_session *s, venseg_option key, int64_t *value)
{
    vs_clear_error();
    if (!s || !value) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_get: %s is NULL", s ? "value" : "session");
    vs_option_values v = s->opts;
    v.backend = s->backend->id;
    v.num_threads = s->threads;
    int64_t *slot = vs_option_slot(&v, key);
    if (!slot) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_get: unknown option key %d", (int)key);
    *value = *slot;
    return VENSEG_OK;
}

const char *venseg_session_describe(const venseg_session *s)
{
    if (!s) return "";
    if (s->auto_note[0]) return s->description; /* kept up to date by forward() */
    return s->single.plan ? s->backend->describe(s->single.plan)
           : s->batched.plan ? s->backend->describe(s->batched.plan)
                             : s->description;
}

venseg_status venseg_session_set_roi(venseg_session *s, int32_t x, int32_t y, int32_t width, int32_t height)
{
    vs_clear_error();
    if (!s) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_set_roi: session is NULL");
    if (width == 0 || height == 0) {
        s->roi_x = s->roi_y = s->roi_w = s->roi_h = 0; /* the origin too: instances are offset by it */
        return VENSEG_OK;
    }
    if (x < 0 || y < 0 || width < 0 || height < 0 || width > VS_MAX_FRAME_SIDE || height > VS_MAX_FRAME_SIDE ||
        x > VS_MAX_FRAME_SIDE - width || y > VS_MAX_FRAME_SIDE - height)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_set_roi: (%d, %d, %d x %d) is not a valid region", x,
                       y, width, height);
    s->roi_x = x;
    s->roi_y = y;
    s->roi_w = width;
    s->roi_h = height;
    return VENSEG_OK;
}

venseg_status venseg_session_set_pixel_spacing(venseg_session *s, double mm_x, double mm_y)
{
    vs_clear_error();
    if (!s) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_set_pixel_spacing: session is NULL");
    int unknown = mm_x == 0 && mm_y == 0;
    if (!unknown && !(mm_x > 0 && mm_y > 0 && isfinite(mm_x) && isfinite(mm_y)))
        return vs_fail(VENSEG_E_INVALID_ARGUMENT,
                       "venseg_session_set_pixel_spacing: %g x %g mm is not a valid spacing (both > 0, or both 0)",
                       mm_x, mm_y);
    s->spacing_x = mm_x;
    s->spacing_y = mm_y;
    return VENSEG_OK;
}

/* Plan for the shape (kept while it repeats), then logits for `batch` images
 * [batch][C][h][w] -> [batch][classes][h][w]. */
static venseg_status forward(venseg_session *s, vs_exec *e, const float *input, int batch, int h, int w, float *logits)
{
    if (!e->plan || e->h != h || e->w != w || e->batch != batch) {
        if (e->plan) s->backend->plan_free(e->plan);
        e->plan = NULL;
        vs_plan_config cfg = {.height = h, .width = w, .threads = s->threads, .batch = batch,
                              .precision = (venseg_precision)s->opts.precision, .value_max = s->value_max};
        cfg.device = (int)s->opts.device;
        cfg.allow_tf32 = (int)s->opts.allow_tf32;
        cfg.packed = &s->model->packed; /* weights packed once per model, not per plan */
        venseg_status st = s->backend->plan_create(&s->model->graph, &cfg, &e->plan);
        if (st) return st;
        e->h = h;
        e->w = w;
        e->batch = batch;
        if (s->auto_note[0])
            snprintf(s->description, sizeof s->description, "%s; %s",
                     s->backend->describe(s->single.plan ? s->single.plan : s->batched.plan), s->auto_note);
    }
    return s->backend->run(e->plan, input, logits);
}

static void activate(const venseg_model *m, float *maps, size_t plane)
{
    const int k = m->n_classes;
    if (!m->softmax) {
        for (size_t i = 0; i < (size_t)k * plane; i++) maps[i] = 1.0f / (1.0f + expf(-maps[i]));
        return;
    }
    for (size_t i = 0; i < plane; i++) {
        float mx = maps[i];
        for (int c = 1; c < k; c++) mx = fmaxf(mx, maps[c * plane + i]);
        float sum = 0.0f;
        for (int c = 0; c < k; c++) sum += (maps[c * plane + i] = expf(maps[c * plane + i] - mx));
        for (int c = 0; c < k; c++) maps[c * plane + i] /= sum;
    }
}

venseg_status venseg_session_run_tensor(venseg_session *s, const float *input, int32_t n, int32_t channels,
                                        int32_t height, int32_t width, int apply_activation, float *output)
{
    vs_clear_error();
    if (!s || !input || !output)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_run_tensor: %s is NULL",
                       !s ? "session" : !input ? "input" : "output");
    const venseg_model *m = s->model;
    if (n < 1 || n > 4096) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_session_run_tensor: batch %d outside [1, 4096]", n);
    venseg_status st = vs_check_tensor("venseg_session_run_tensor", channels, height, width, m->in_channels, m->graph.multiple);
    if (st) return st;
    const size_t plane = (size_t)height * width;
    /* whole batches in one backend call each; a shorter tail image by image */
    const int32_t chunk = n < MAX_PLAN_BATCH ? n : MAX_PLAN_BATCH;
    for (int32_t i = 0; i < n;) {
        const int32_t take = n - i >= chunk ? chunk : 1;
        float *out = output + (size_t)i * m->n_classes * plane;
        st = forward(s, take > 1 ? &s->batched : &s->single, input + (size_t)i * channels * plane, take, height,
                     width, out);
        if (st) return st;
        if (apply_activation)
            for (int32_t k = 0; k < take; k++) activate(m, out + (size_t)k * m->n_classes * plane, plane);
        i += take;
    }
    return VENSEG_OK;
}

static int by_label_then_area(const void *a, const void *b)
{
    const venseg_instance *x = a, *y = b;
    if (x->label != y->label) return x->label < y->label ? -1 : 1;
    if (x->area_px != y->area_px) return x->area_px > y->area_px ? -1 : 1;
    if (x->bbox_y != y->bbox_y) return x->bbox_y < y->bbox_y ? -1 : 1;
    return (x->bbox_x > y->bbox_x) - (x->bbox_x < y->bbox_x);
}

/* The labelled area of a frame at a grid: the ROI's box rounded to the grid's cells. */
typedef struct roi_grid {
    int fx, fy, fw, fh;  /* the ROI in frame px */
    int x, y, w, h;      /* its cells */
    double sx, sy;       /* grid px per frame px */
} roi_grid;

/* Labels, regions and instances of the ROI from its probability maps at grid r (instances
 * in frame px). */
static venseg_status label_roi(venseg_session *s, const roi_grid *r)
{
    const int rw = r->w, rh = r->h;
    const double cell = r->sx * r->sy; /* frame px per cell: 1 / cell */
    const venseg_model *m = s->model;
    const size_t plane = (size_t)rw * rh;
    const double thr = s->opts.threshold_permille > 0 ? s->opts.threshold_permille / 1000.0 : m->threshold;
    for (size_t i = 0; i < plane; i++) {
        int best = 0;
        for (int c = 1; c < m->n_classes; c++)
            if (s->roi_probs[c * plane + i] > s->roi_probs[best * plane + i]) best = c;
        s->roi_labels[i] = s->roi_probs[best * plane + i] > thr ? (uint8_t)(best + 1) : 0;
    }
    vs_regions *rg = &s->regions;
    venseg_status st = vs_regions_find(rg, "venseg_segment", s->roi_labels, rw, rw, rh, r->x, r->y, s->roi_probs);
    if (st) return st;
    /* the minimum area is in frame px; a grid cell stands for 1 / cell of them */
    const double min_area = (double)s->opts.min_instance_area * cell;
    int kept = 0;
    for (int i = 0; i < rg->count; i++) kept += (double)rg->items[i].area >= min_area;
    if (kept > s->instances_cap) {
        venseg_instance *ni = realloc(s->instances, (size_t)kept * sizeof *ni);
        if (!ni) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_segment: out of memory (instances)");
        s->instances = ni;
        s->instances_cap = kept;
    }
    const int spacing = s->spacing_x > 0;
    const double px_mm2 = s->spacing_x * s->spacing_y;
    s->n_instances = 0;
    for (int i = 0; i < rg->count; i++) {
        const vs_region *a = &rg->items[i];
        if ((double)a->area < min_area) continue;
        venseg_instance *o = &s->instances[s->n_instances++];
        memset(o, 0, sizeof *o);
        o->struct_size = sizeof *o;
        o->label = a->label;
        o->area_px = cell == 1.0 ? a->area : llround((double)a->area / cell);
        o->centroid_x = (r->x + a->sx / a->area) / r->sx;
        o->centroid_y = (r->y + a->sy / a->area) / r->sy;
        o->bbox_x = (int32_t)floor((r->x + a->x0) / r->sx);
        o->bbox_y = (int32_t)floor((r->y + a->y0) / r->sy);
        o->bbox_width = (int32_t)ceil((r->x + a->x1 + 1) / r->sx) - o->bbox_x;
        o->bbox_height = (int32_t)ceil((r->y + a->y1 + 1) / r->sy) - o->bbox_y;
        o->equivalent_diameter_px = vs_disc_diameter((double)o->area_px);
        o->area_mm2 = spacing ? (double)o->area_px * px_mm2 : NAN;
        o->equivalent_diameter_mm = spacing ? vs_disc_diameter(o->area_mm2) : NAN;
        o->mean_probability = a->prob / (double)a->area;
    }
    /* small regions leave the mask (and the regions) too, so mask, instances and tracker agree */
    for (size_t i = 0; i < plane; i++) {
        int c = rg->comp[i];
        if (c >= 0 && (double)rg->items[c].area < min_area) {
            s->roi_labels[i] = 0;
            rg->comp[i] = -1;
        }
    }
    for (int i = 0; i < rg->count; i++)
        if ((double)rg->items[i].area < min_area) rg->items[i].label = 0;
    if (s->n_instances > 1) qsort(s->instances, (size_t)s->n_instances, sizeof *s->instances, by_label_then_area);
    return VENSEG_OK;
}

const vs_regions *vs_session_regions(const venseg_session *s) { return &s->regions; }

static void mirror_rows(float *planes, int n_planes, int h, int w)
{
    for (int p = 0; p < n_planes; p++)
        for (int y = 0; y < h; y++) {
            float *row = planes + ((size_t)p * h + y) * w;
            for (int a = 0, b = w - 1; a < b; a++, b--) {
                const float t = row[a];
                row[a] = row[b];
                row[b] = t;
            }
        }
}

/* VENSEG_OPT_FLIP_AVERAGE: s->logits (probabilities of s->tensor) become the mean of
 * theirs and those of the mirrored input, mirrored back. s->tensor is left mirrored. */
static venseg_status add_mirror_view(venseg_session *s, const char *fn)
{
    const venseg_model *m = s->model;
    const int h = m->in_height, w = m->in_width;
    const size_t plane = (size_t)h * w, n = plane * m->n_classes;
    if (!reserve((void **)&s->mirror_logits, &s->mirror_logits_cap, n, sizeof(float)))
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for the mirrored view", fn);
    mirror_rows(s->tensor, m->in_channels, h, w);
    venseg_status st = forward(s, &s->single, s->tensor, 1, h, w, s->mirror_logits);
    if (st) return st;
    activate(m, s->mirror_logits, plane);
    mirror_rows(s->mirror_logits, m->n_classes, h, w);
    for (size_t i = 0; i < n; i++) s->logits[i] = 0.5f * (s->logits[i] + s->mirror_logits[i]);
    return VENSEG_OK;
}

/* The ROI of a width x height frame (its pixels at *bpp bytes each) at grid g (NULL: the
 * frame itself) segmented: the session's probabilities, labels, regions and instances. */
static venseg_status segment_roi(venseg_session *s, const char *fn, const void *pixels, venseg_pixel_format format,
                                 int32_t width, int32_t height, int64_t row_stride, const vs_grid *g, roi_grid *r)
{
    int bpp;
    venseg_status st = vs_check_frame(fn, format, width, height, row_stride, &bpp);
    if (st) return st;
    *r = (roi_grid){0, 0, width, height, 0, 0, width, height, 1.0, 1.0};
    if (s->roi_w) {
        if (s->roi_x + s->roi_w > width || s->roi_y + s->roi_h > height)
            return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: region (%d, %d, %d x %d) lies outside the %d x %d frame", fn,
                           s->roi_x, s->roi_y, s->roi_w, s->roi_h, width, height);
        r->fx = r->x = s->roi_x;
        r->fy = r->y = s->roi_y;
        r->fw = r->w = s->roi_w;
        r->fh = r->h = s->roi_h;
    }
    if (g && !vs_grid_is_frame(g)) {
        const int x1 = (int)floor((r->fx + r->fw) * g->sx + 0.5), y1 = (int)floor((r->fy + r->fh) * g->sy + 0.5);
        r->x = (int)floor(r->fx * g->sx + 0.5);
        r->y = (int)floor(r->fy * g->sy + 0.5);
        if (r->x > g->w - 1) r->x = g->w - 1;
        if (r->y > g->h - 1) r->y = g->h - 1;
        r->w = x1 > r->x ? (x1 < g->w ? x1 : g->w) - r->x : 1;
        r->h = y1 > r->y ? (y1 < g->h ? y1 : g->h) - r->y : 1;
        r->sx = g->sx;
        r->sy = g->sy;
    }
    const venseg_model *m = s->model;
    const size_t net_plane = (size_t)m->in_width * m->in_height, roi_plane = (size_t)r->w * r->h;
    if (!reserve((void **)&s->tensor, &s->tensor_cap, net_plane * m->in_channels, sizeof(float)) ||
        !reserve((void **)&s->logits, &s->logits_cap, net_plane * m->n_classes, sizeof(float)) ||
        !reserve((void **)&s->roi_probs, &s->roi_probs_cap, roi_plane * m->n_classes, sizeof(float)))
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for a %d x %d frame", fn, width, height);
    uint8_t *labels = realloc(s->roi_labels, roi_plane);
    if (!labels) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for a %d x %d frame", fn, width, height);
    s->roi_labels = labels;

    vs_mapping map;
    vs_mapping_init(&map, r->fw, r->fh, m->in_width, m->in_height, m->letterbox);
    const uint8_t *roi = (const uint8_t *)pixels + (int64_t)r->fy * row_stride + (int64_t)r->fx * bpp;
    vs_frame_to_tensor(roi, format, row_stride, &map, m->in_channels, m->scale, m->mean, m->std, s->tensor);
    st = forward(s, &s->single, s->tensor, 1, m->in_height, m->in_width, s->logits);
    if (st) return st;
    activate(m, s->logits, net_plane);
    if (s->opts.flip_average && (st = add_mirror_view(s, fn))) return st;
    /* back to the ROI's cells: the frame's pixels, or the grid's (the full-size maps are never made) */
    if (r->w != r->fw || r->h != r->fh) vs_mapping_init(&map, r->w, r->h, m->in_width, m->in_height, m->letterbox);
    if (vs_maps_to_frame(s->logits, m->n_classes, &map, s->roi_probs))
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for a %d x %d frame", fn, width, height);
    return label_roi(s, r);
}

venseg_status venseg_segment(venseg_session *s, const void *pixels, venseg_pixel_format format, int32_t width,
                             int32_t height, int64_t row_stride, uint8_t *label_mask, int64_t mask_stride,
                             float *probabilities, int64_t prob_row_stride)
{
    vs_clear_error();
    if (!s || !pixels || !label_mask)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_segment: %s is NULL",
                       !s ? "session" : !pixels ? "pixels" : "label_mask");
    static const char fn[] = "venseg_segment";
    venseg_status st = vs_check_frame(fn, format, width, height, row_stride, NULL);
    if (!st) st = vs_check_stride(fn, "mask_stride", mask_stride, width, height, 1);
    /* 64: room for the class planes, rows prob_row_stride floats apart */
    if (!st && probabilities) st = vs_check_stride(fn, "prob_row_stride", prob_row_stride, width, height, 64);
    roi_grid r;
    if (!st) st = segment_roi(s, fn, pixels, format, width, height, row_stride, NULL, &r);
    if (st) return st;
    const int rx = r.fx, ry = r.fy, rw = r.fw, rh = r.fh;
    const size_t roi_plane = (size_t)rw * rh;
    for (int y = 0; y < height; y++) {
        uint8_t *row = label_mask + (int64_t)y * mask_stride;
        memset(row, 0, (size_t)width);
        if (y >= ry && y < ry + rh) memcpy(row + rx, s->roi_labels + (size_t)(y - ry) * rw, (size_t)rw);
    }
    if (probabilities)
        for (int c = 0; c < s->model->n_classes; c++)
            for (int y = 0; y < height; y++) {
                float *row = probabilities + ((int64_t)c * height + y) * prob_row_stride;
                for (int x = 0; x < width; x++) row[x] = 0.0f;
                if (y >= ry && y < ry + rh)
                    memcpy(row + rx, s->roi_probs + c * roi_plane + (size_t)(y - ry) * rw, (size_t)rw * sizeof(float));
            }
    return VENSEG_OK;
}

venseg_status vs_segment_grid(venseg_session *s, const char *fn, const void *pixels, venseg_pixel_format format,
                              int32_t width, int32_t height, int64_t row_stride, const vs_grid *g, uint8_t *label_mask,
                              int64_t mask_stride)
{
    roi_grid r;
    venseg_status st = segment_roi(s, fn, pixels, format, width, height, row_stride, g, &r);
    if (st || !label_mask) return st;
    /* the frame's mask: each ROI pixel takes the label of the cell under it */
    int *col = malloc((size_t)width * sizeof *col);
    if (!col) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for a %d x %d mask", fn, width, height);
    for (int x = 0; x < width; x++) {
        const int i = vs_grid_cell(x, g->sx, g->w) - r.x;
        col[x] = x >= r.fx && x < r.fx + r.fw && i >= 0 && i < r.w ? i : -1;
    }
    for (int y = 0, last = -1; y < height; y++) {
        uint8_t *row = label_mask + (int64_t)y * mask_stride;
        const int j = vs_grid_cell(y, g->sy, g->h) - r.y;
        if (y < r.fy || y >= r.fy + r.fh || j < 0 || j >= r.h) {
            memset(row, 0, (size_t)width);
            last = -1;
        } else if (j == last) { /* the row above sampled the same cells */
            memcpy(row, row - mask_stride, (size_t)width);
        } else {
            const uint8_t *src = s->roi_labels + (size_t)j * r.w;
            for (int x = 0; x < width; x++) row[x] = col[x] >= 0 ? src[col[x]] : 0;
            last = j;
        }
    }
    free(col);
    return VENSEG_OK;
}

venseg_status venseg_session_instance_count(const venseg_session *s, int32_t *count)
{
    return vs_count_out("venseg_session_instance_count", s, "session", count, s ? s->n_instances : 0);
}

venseg_status venseg_session_instance_at(const venseg_session *s, int32_t index, venseg_instance *out)
{
    venseg_status st = vs_item_check("venseg_session_instance_at", s, "session", out, index, s ? s->n_instances : 0);
    if (!st) vs_struct_copy(out, &s->instances[index], sizeof s->instances[index]);
    return st;
}

venseg_status venseg_session_instance(const venseg_session *s, int32_t index, venseg_instance *out)
{
    return venseg_session_instance_at(s, index, out);
}
