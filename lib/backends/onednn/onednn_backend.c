/* oneDNN backend: the graph lowered to oneDNN primitives once per input size.
 * Convolutions carry folded BN as bias and the residual sum + ReLU as post-ops;
 * activations stay in the layouts oneDNN picks (format_any) from input to output,
 * in one arena per plan where values whose steps do not overlap share bytes;
 * weights are reordered once per model and layout into the model's packed store and
 * shared by every plan of every session (a second session costs activations only),
 * each from f32 weights made from the file's stored form and freed once reordered;
 * every primitive uses the plan's own scratchpad (user mode), so sessions run
 * concurrently. fp32, or bf16 activations and weights (AMX / AVX512-BF16 where the
 * CPU has them) with f32 accumulation, or int8: s8 weights, u8 / s8 activations chosen
 * per value (assign_int8).
 * A decoder's nearest x2 upsample and its concat with the skip are one copy step of our
 * own (run_upcat): oneDNN 2.6's fast convolution and resampling kernels do not take
 * sub-memory (channel slice) views of NHWC, its int8 ones no channel-blocked layout
 * either, so producers cannot write into the concat's slices there. The 2-class head
 * stays a oneDNN convolution into NHWC and one reorder to the caller's NCHW: measured,
 * an NCHW destination only gets the reference or im2col+GEMM kernels. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <dnnl_debug.h>

#include "backends/backend.h"
#include "backends/onednn/dnnl_compat.h"

/* A step copying a nearest x2 upsample of args[0] and args[1] into the channels of
 * args[2] (NHWC, elements of `elem` bytes): one pass where oneDNN's resampling and
 * concat make two and a full-size intermediate. */
typedef struct od_upcat {
    int batch, h, w; /* of the output */
    size_t c0, c1;   /* bytes per pixel of the upsampled part and of the skip */
} od_upcat;

typedef struct od_step {
    dnnl_primitive_t prim; /* NULL: the upsample-concat copy */
    int nargs;
    dnnl_exec_arg_t args[8];
    od_upcat upcat;
} od_step;

/* An activation memory placed in the plan's arena. */
typedef struct od_slot {
    dnnl_memory_t mem;
    size_t bytes, offset;
    int first, last; /* steps that use it */
    int alias_of;    /* >= 0: another data type on that slot's bytes (int8 residual sums) */
} od_slot;

typedef struct od_plan {
    const vs_graph *g;
    vs_packed_store *packed; /* the model's; NULL: weights packed for this plan alone */
    int threads, batch, bf16, int8;
    const double *value_max; /* int8: calibrated ranges */
    dnnl_data_type_t *vdt;   /* int8: data type per value */
    float *vscale;           /* int8: quantisation scale per value (q = x * scale) */
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    vsd_md *md;          /* per value: layout of its memory */
    dnnl_memory_t *mem;  /* per value */
    int *last_use;
    od_step *steps;
    int n_steps, cap_steps;
    dnnl_memory_t *mems; /* every memory object the plan owns */
    int n_mems, cap_mems;
    void **bufs;         /* every buffer the plan owns */
    int n_bufs, cap_bufs;
    od_slot *slots;      /* activations, placed in one arena once every step is known */
    int n_slots, cap_slots;
    struct od_owned *owned; /* without a store: the packed data this plan made for itself */
    int n_owned, cap_owned;
    size_t scratch_size, arena_size;
    dnnl_memory_t scratch;
    dnnl_memory_t user_in, user_out;
    unsigned char *fused; /* per node: an upsample done by its concat's copy step */
    char description[160];
} od_plan;

static venseg_status dnnl_error(dnnl_status_t st, const char *what)
{
    return vs_fail(VENSEG_E_BACKEND, "oneDNN backend: %s failed (%s)", what, dnnl_status2str(st));
}

#define DNNL_TRY(call, what)                                         \
    do {                                                             \
        dnnl_status_t dnnl_st_ = (call);                             \
        if (dnnl_st_ != dnnl_success) return dnnl_error(dnnl_st_, what); \
    } while (0)

static int push(void **arr, int *n, int *cap, size_t elem)
{
    if (*n < *cap) return 1;
    int ncap = *cap ? *cap * 2 : 32;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return 0;
    *arr = p;
    *cap = ncap;
    return 1;
}

static void *plan_buffer(od_plan *p, size_t bytes)
{
    if (!push((void **)&p->bufs, &p->n_bufs, &p->cap_bufs, sizeof *p->bufs)) return NULL;
    size_t rounded = (bytes + 63) / 64 * 64;
    void *b = aligned_alloc(64, rounded ? rounded : 64);
    if (b) p->bufs[p->n_bufs++] = b;
    return b;
}

/* A memory of the given layout: on `handle`, or an activation slot of the arena
 * (bound by place_activations) when handle is NULL. */
static venseg_status new_memory(od_plan *p, const vsd_md md, void *handle, dnnl_memory_t *out)
{
    if (!push((void **)&p->mems, &p->n_mems, &p->cap_mems, sizeof *p->mems) ||
        (!handle && !push((void **)&p->slots, &p->n_slots, &p->cap_slots, sizeof *p->slots)))
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
    DNNL_TRY(vsd_memory_create(out, md, p->eng, handle ? handle : DNNL_MEMORY_NONE), "memory_create");
    p->mems[p->n_mems++] = *out;
    if (!handle) {
        od_slot *sl = &p->slots[p->n_slots++];
        memset(sl, 0, sizeof *sl);
        sl->mem = *out;
        sl->bytes = (vsd_md_size(md) + 63) / 64 * 64;
        sl->alias_of = -1;
    }
    return VENSEG_OK;
}

/* A memory of layout md on the bytes of activation `of` (an int8 type of the same size). */
static venseg_status new_alias(od_plan *p, const vsd_md md, dnnl_memory_t of, dnnl_memory_t *out)
{
    int k = 0;
    while (k < p->n_slots && p->slots[k].mem != of) k++;
    if (k == p->n_slots) return vs_fail(VENSEG_E_BACKEND, "oneDNN backend: a residual sum outside the activations");
    while (p->slots[k].alias_of >= 0) k = p->slots[k].alias_of;
    venseg_status st = new_memory(p, md, NULL, out);
    if (!st) {
        p->slots[p->n_slots - 1].alias_of = k;
        p->slots[p->n_slots - 1].bytes = 0;
    }
    return st;
}

static dnnl_primitive_attr_t attr_new(void)
{
    dnnl_primitive_attr_t a = NULL;
    if (dnnl_primitive_attr_create(&a) != dnnl_success) return NULL;
    dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user);
    return a;
}

/* Creates the primitive of pd as the next step (args filled by the caller). */
static venseg_status add_step(od_plan *p, const_dnnl_primitive_desc_t pd, od_step **out)
{
    if (!push((void **)&p->steps, &p->n_steps, &p->cap_steps, sizeof *p->steps))
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
    od_step *s = &p->steps[p->n_steps];
    memset(s, 0, sizeof *s);
    DNNL_TRY(dnnl_primitive_create(&s->prim, pd), "primitive_create");
    p->n_steps++;
    vsd_md scratch;
    if (vsd_md_query(&scratch, pd, dnnl_query_scratchpad_md, 0) == dnnl_success) {
        size_t sz = vsd_md_size(scratch);
        if (sz > p->scratch_size) p->scratch_size = sz;
        vsd_md_free(&scratch);
    }
    *out = s;
    return VENSEG_OK;
}

static void arg(od_step *s, int which, dnnl_memory_t m)
{
    s->args[s->nargs].arg = which;
    s->args[s->nargs].memory = m;
    s->nargs++;
}

/* Step copying/converting src (layout a) into dst (layout b). */
static venseg_status reorder_step(od_plan *p, const vsd_md a, dnnl_memory_t src, const vsd_md b, dnnl_memory_t dst,
                                  float scale)
{
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = attr_new();
    if (scale != 1.0f && vsd_output_scales(attr, 1, 0, &scale) != dnnl_success) {
        dnnl_primitive_attr_destroy(attr);
        return vs_fail(VENSEG_E_BACKEND, "oneDNN backend: cannot scale a reorder");
    }
    dnnl_status_t st = vsd_reorder_pd(&pd, a, p->eng, b, attr);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) return dnnl_error(st, "reorder");
    od_step *s;
    venseg_status vs = add_step(p, pd, &s);
    dnnl_primitive_desc_destroy(pd);
    if (vs) return vs;
    arg(s, DNNL_ARG_FROM, src);
    arg(s, DNNL_ARG_TO, dst);
    return VENSEG_OK;
}

/* The memory of value v in layout md (a reorder step is added when it differs). */
static venseg_status value_as(od_plan *p, int v, const vsd_md md, dnnl_memory_t *out)
{
    if (vsd_md_equal(p->md[v], md)) {
        *out = p->mem[v];
        return VENSEG_OK;
    }
    venseg_status st = new_memory(p, md, NULL, out);
    /* the caller's f32 input is quantised on its way in */
    float scale = (p->int8 && v == 0) ? p->vscale[0] : 1.0f;
    if (!st) st = reorder_step(p, p->md[v], p->mem[v], md, *out, scale);
    return st;
}

/* One reorder of weights, run now: src in layout `user` -> dst in layout `want`. */
static venseg_status reorder_now(od_plan *p, const vsd_md user, const void *src, const vsd_md want, void *dst)
{
    dnnl_memory_t msrc = NULL, mdst = NULL, smem = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t r = NULL;
    void *sbuf = NULL;
    size_t scratch_size = 0;
    venseg_status st = VENSEG_OK;
    if (vsd_memory_create(&msrc, user, p->eng, (void *)(uintptr_t)src) != dnnl_success ||
        vsd_memory_create(&mdst, want, p->eng, dst) != dnnl_success)
        st = vs_fail(VENSEG_E_BACKEND, "oneDNN backend: weights memory");
    if (!st) {
        dnnl_primitive_attr_t attr = attr_new();
        dnnl_status_t ds = vsd_reorder_pd(&pd, user, p->eng, want, attr);
        dnnl_primitive_attr_destroy(attr);
        if (ds != dnnl_success) st = dnnl_error(ds, "weights reorder");
    }
    if (!st) {
        vsd_md smd;
        if (vsd_md_query(&smd, pd, dnnl_query_scratchpad_md, 0) == dnnl_success) {
            scratch_size = vsd_md_size(smd);
            vsd_md_free(&smd);
        }
        /* a one-off scratchpad (s8 weights get their compensation computed here) */
        if (scratch_size) {
            vsd_md smd2;
            dnnl_dims_t sd = {(dnnl_dim_t)scratch_size};
            sbuf = aligned_alloc(64, (scratch_size + 63) / 64 * 64);
            if (!sbuf || vsd_md_init(&smd2, 1, sd, dnnl_u8, dnnl_x) != dnnl_success)
                st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: weights reorder scratchpad");
            else {
                if (vsd_memory_create(&smem, smd2, p->eng, sbuf) != dnnl_success)
                    st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: weights reorder scratchpad");
                vsd_md_free(&smd2);
            }
        }
    }
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_FROM, msrc}, {DNNL_ARG_TO, mdst}, {DNNL_ARG_SCRATCHPAD, smem}};
    if (!st && (dnnl_primitive_create(&r, pd) != dnnl_success ||
                dnnl_primitive_execute(r, p->stream, smem ? 3 : 2, a) != dnnl_success ||
                dnnl_stream_wait(p->stream) != dnnl_success))
        st = vs_fail(VENSEG_E_BACKEND, "oneDNN backend: weights reorder failed");
    if (r) dnnl_primitive_destroy(r);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (smem) dnnl_memory_destroy(smem);
    if (msrc) dnnl_memory_destroy(msrc);
    if (mdst) dnnl_memory_destroy(mdst);
    free(sbuf);
    return st;
}

/* Entries of the model's packed store made by this backend. The engine is one per
 * model, so that each packed weights memory is created (and zero-padded) once, by the
 * plan that packs it, and is never written again while other plans read it. */
enum { PACK_WEIGHTS, PACK_INT8_SCALES, PACK_ENGINE };

typedef struct od_owned {
    void (*release)(void *data, void *desc);
    void *data, *desc;
} od_owned;

typedef struct od_weights {
    dnnl_memory_t mem; /* on the model's engine */
    void *buf;
} od_weights;

typedef struct od_pack {
    od_plan *p;
    const vs_node *n;
    const vsd_md *want;   /* PACK_WEIGHTS: the layout the primitive chose */
    const float *wscale;  /* PACK_WEIGHTS of an int8 plan */
} od_pack;

/* int8 weight index of output channel o, input channel i, tap j. */
static size_t wat(const vs_node *n, int cin, size_t per, int o, int i, size_t j)
{
    return n->op == VS_OP_CONVT ? ((size_t)i * n->cout + o) * per + j : ((size_t)o * cin + i) * per + j;
}

/* int8 weight scales, per output channel 127 / max |w|: from the weights alone, so
 * every calibration of the model shares them (and the s8 weights). */
static venseg_status make_scales(void *ctx, void **data, void **desc, size_t *bytes)
{
    const vs_node *n = ((const od_pack *)ctx)->n;
    const int depthwise = n->op == VS_OP_AFFINE, cin = depthwise ? 1 : n->cin;
    const size_t per = depthwise ? 1 : (size_t)n->kernel * n->kernel;
    float *wf32 = NULL; /* the f32 weights, only while they are read */
    const float *w = depthwise ? n->scale : vs_node_weights(n, &wf32);
    float *sc = w ? malloc((size_t)n->cout * sizeof *sc) : NULL;
    if (!sc) {
        free(wf32);
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
    }
    for (int o = 0; o < n->cout; o++) {
        float m = 0.0f;
        for (int i = 0; i < cin; i++)
            for (size_t j = 0; j < per; j++) {
                float a = fabsf(w[wat(n, cin, per, o, i, j)]);
                if (a > m) m = a;
            }
        sc[o] = m > 0 ? 127.0f / m : 1.0f;
    }
    free(wf32);
    *data = sc;
    *desc = NULL;
    *bytes = (size_t)n->cout * sizeof *sc;
    return VENSEG_OK;
}

/* The node's weights in the primitive's layout (*desc: a copy of that layout). */
static venseg_status make_weights(void *ctx, void **data, void **desc, size_t *bytes)
{
    const od_pack *k = ctx;
    od_plan *p = k->p;
    const vs_node *n = k->n;
    const int depthwise = n->op == VS_OP_AFFINE, cin = depthwise ? 1 : n->cin;
    const size_t per = depthwise ? 1 : (size_t)n->kernel * n->kernel;
    const size_t total = (size_t)n->cout * cin * per;
    float *wf32 = NULL; /* the f32 weights (made from the model's stored form), only until reordered */
    const float *w = depthwise ? n->scale : vs_node_weights(n, &wf32);
    if (!w) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory for the weights of '%s'", n->name);
    const void *src = w;
    int8_t *q = NULL;
    if (p->int8) { /* s8 in the user layout, only until reordered */
        if (!(q = malloc(total ? total : 1))) {
            free(wf32);
            return vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
        }
        for (int o = 0; o < n->cout; o++)
            for (int i = 0; i < cin; i++)
                for (size_t j = 0; j < per; j++) {
                    const size_t at = wat(n, cin, per, o, i, j);
                    long r = lroundf(w[at] * k->wscale[o]);
                    q[at] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
                }
        src = q;
        free(wf32); /* the s8 copy is what gets reordered */
        wf32 = NULL;
    }
    vsd_md user;
    dnnl_status_t ds;
    const dnnl_data_type_t dt = p->int8 ? dnnl_s8 : dnnl_f32;
    if (depthwise) {
        dnnl_dims_t d = {n->cin, 1, 1, 1, 1};
        ds = vsd_md_init(&user, 5, d, dt, dnnl_goihw);
    } else { /* PyTorch ConvTranspose2d [in][out][k][k] is oneDNN's iohw */
        dnnl_dims_t d = {n->cout, n->cin, n->kernel, n->kernel};
        ds = vsd_md_init(&user, 4, d, dt, n->op == VS_OP_CONVT ? dnnl_iohw : dnnl_oihw);
    }
    if (ds != dnnl_success) {
        free(q);
        free(wf32);
        return dnnl_error(ds, "weights md");
    }
    const size_t size = vsd_md_size(*k->want);
    od_weights *wt = calloc(1, sizeof *wt);
    void *dst = aligned_alloc(64, (size + 63) / 64 * 64 + (size ? 0 : 64));
    vsd_md *copy = malloc(sizeof *copy);
    venseg_status st = wt && dst && copy ? VENSEG_OK : vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory for weights");
    if (!st) st = reorder_now(p, user, src, *k->want, dst);
    if (!st && vsd_memory_create(&wt->mem, *k->want, p->eng, dst) != dnnl_success)
        st = vs_fail(VENSEG_E_BACKEND, "oneDNN backend: weights memory");
    if (!st && vsd_md_copy(copy, *k->want) != dnnl_success) st = vs_fail(VENSEG_E_BACKEND, "oneDNN backend: weights md");
    vsd_md_free(&user);
    free(q);
    free(wf32);
    if (st) {
        if (wt && wt->mem) dnnl_memory_destroy(wt->mem);
        free(wt);
        free(dst);
        free(copy);
        return st;
    }
    wt->buf = dst;
    *data = wt;
    *desc = copy;
    *bytes = size;
    return VENSEG_OK;
}

static void release_weights(void *data, void *desc)
{
    od_weights *wt = data;
    if (wt) {
        dnnl_memory_destroy(wt->mem);
        free(wt->buf);
        free(wt);
    }
    vsd_md_free(desc);
    free(desc);
}

static void release_scales(void *data, void *desc)
{
    (void)desc;
    free(data);
}

static venseg_status make_engine(void *ctx, void **data, void **desc, size_t *bytes)
{
    (void)ctx;
    dnnl_engine_t eng = NULL;
    if (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success)
        return vs_fail(VENSEG_E_BACKEND, "oneDNN backend: cannot create a CPU engine");
    *data = eng;
    *desc = NULL;
    *bytes = 0;
    return VENSEG_OK;
}

static void release_engine(void *data, void *desc)
{
    (void)desc;
    dnnl_engine_destroy(data);
}

static int same_layout(const void *desc, const void *want)
{
    return vsd_md_equal(*(const vsd_md *)desc, *(const vsd_md *)want);
}

/* The request's data: from the model's store, shared; without one, made for this plan
 * and released by plan_free (newest first, as the store does). */
static venseg_status packed(od_plan *p, const vs_packed_request *r, void **data)
{
    if (p->packed) return vs_packed_get(p->packed, r, data);
    if (!push((void **)&p->owned, &p->n_owned, &p->cap_owned, sizeof *p->owned))
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
    od_owned *o = &p->owned[p->n_owned];
    o->release = r->release;
    o->desc = NULL;
    size_t bytes = 0;
    venseg_status st = r->make(r->ctx, &o->data, &o->desc, &bytes);
    if (st) return st;
    p->n_owned++;
    *data = o->data;
    return VENSEG_OK;
}

static venseg_status lower_conv(od_plan *p, const vs_node *n, int oh, int ow)
{
    const int last = n->out == p->g->output;
    const dnnl_data_type_t dt = p->int8 ? p->vdt[n->in[0]] : p->bf16 ? dnnl_bf16 : dnnl_f32;
    const dnnl_data_type_t out_dt = last ? dnnl_f32 : p->int8 ? p->vdt[n->out] : dt;
    const dnnl_data_type_t wei_dt = p->int8 ? dnnl_s8 : dt;
    const int transpose = n->op == VS_OP_CONVT, depthwise = n->op == VS_OP_AFFINE;
    vsd_md src, wei, bias, dst;
    memset(&bias, 0, sizeof bias);
    dnnl_dims_t sdims = {p->batch, n->cin, 0, 0}, ddims = {p->batch, n->cout, oh, ow};
    /* the producer's spatial size: from its md */
#if DNNL_VERSION_MAJOR >= 3
    const dnnl_dim_t *pd_dims = NULL;
    dnnl_memory_desc_query(p->md[n->in[0]], dnnl_query_dims, &pd_dims);
    sdims[2] = pd_dims[2];
    sdims[3] = pd_dims[3];
#else
    sdims[2] = p->md[n->in[0]].dims[2];
    sdims[3] = p->md[n->in[0]].dims[3];
#endif
    DNNL_TRY(vsd_md_init(&src, 4, sdims, dt, depthwise ? dnnl_format_tag_any : dnnl_format_tag_any), "src md");
    if (depthwise) {
        dnnl_dims_t w = {n->cin, 1, 1, 1, 1};
        DNNL_TRY(vsd_md_init(&wei, 5, w, wei_dt, dnnl_format_tag_any), "weights md");
    } else {
        dnnl_dims_t w = {n->cout, n->cin, n->kernel, n->kernel};
        DNNL_TRY(vsd_md_init(&wei, 4, w, wei_dt, dnnl_format_tag_any), "weights md");
    }
    if (n->bias) {
        dnnl_dims_t b = {n->cout};
        DNNL_TRY(vsd_md_init(&bias, 1, b, dnnl_f32, dnnl_x), "bias md");
    }
    const int residual = n->op == VS_OP_CONV && n->in[1] >= 0;
    /* int8: a residual may differ in data type from the sum (an s8 downsample summed into a
     * u8 ReLU output): the sum post-op reads the destination's bytes as the residual's type */
    const int retyped = residual && p->int8 && p->vdt[n->in[1]] != p->vdt[n->out];
    if (residual && retyped) DNNL_TRY(vsd_md_retype(&dst, p->md[n->in[1]], p->vdt[n->out]), "dst md");
    else if (residual) DNNL_TRY(vsd_md_copy(&dst, p->md[n->in[1]]), "dst md");
    else DNNL_TRY(vsd_md_init(&dst, 4, ddims, out_dt, dnnl_format_tag_any), "dst md"); /* logits in f32 */

    dnnl_primitive_attr_t attr = attr_new();
    const int node = (int)(n - p->g->nodes);
    od_pack pack = {p, n, NULL, NULL};
    const float *bias_data = n->bias;
    if (p->int8) {
        vs_packed_request rq = {&vs_backend_onednn, node, PACK_INT8_SCALES, NULL, NULL,
                                make_scales, release_scales, &pack};
        void *sc = NULL;
        venseg_status qs = packed(p, &rq, &sc);
        const float *wscale = sc;
        pack.wscale = wscale;
        float *oscale = qs ? NULL : plan_buffer(p, (size_t)n->cout * sizeof(float));
        float *qbias = (qs || !n->bias) ? NULL : plan_buffer(p, (size_t)n->cout * sizeof(float));
        if (qs || !oscale || (n->bias && !qbias)) {
            dnnl_primitive_attr_destroy(attr);
            vsd_md_free(&src), vsd_md_free(&wei), vsd_md_free(&dst), vsd_md_free(&bias);
            return qs ? qs : vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
        }
        const float s_in = p->vscale[n->in[0]], s_out = last ? 1.0f : p->vscale[n->out];
        for (int o = 0; o < n->cout; o++) {
            oscale[o] = s_out / (s_in * wscale[o]);
            if (qbias) qbias[o] = n->bias[o] * s_in * wscale[o];
        }
        vsd_output_scales(attr, n->cout, 1 << 1, oscale);
        bias_data = qbias;
    }
    dnnl_post_ops_t po = NULL;
    dnnl_post_ops_create(&po);
    if (residual) {
        const float sum_scale = p->int8 ? p->vscale[n->out] / p->vscale[n->in[1]] : 1.0f;
        if (retyped) vsd_post_ops_sum_dt(po, sum_scale, p->vdt[n->in[1]]);
        else vsd_post_ops_sum(po, sum_scale);
    }
    if (n->relu) vsd_post_ops_relu(po);
    dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_dims_t strides = {depthwise ? 1 : n->stride, depthwise ? 1 : n->stride};
    dnnl_dims_t pad = {depthwise ? 0 : n->pad, depthwise ? 0 : n->pad};
    dnnl_status_t ds = transpose ? vsd_deconv_pd(&pd, p->eng, src, wei, bias, dst, strides, pad, attr)
                                 : vsd_conv_pd(&pd, p->eng, src, wei, bias, dst, strides, pad, attr);
    dnnl_primitive_attr_destroy(attr);
    vsd_md_free(&src), vsd_md_free(&wei), vsd_md_free(&dst);
    if (ds != dnnl_success) {
        vsd_md_free(&bias);
        return vs_fail(VENSEG_E_BACKEND, "oneDNN backend: no %s for '%s' (%s)", transpose ? "deconvolution" : "convolution",
                       n->name, dnnl_status2str(ds));
    }
    venseg_status st = VENSEG_OK;
    vsd_md psrc, pwei, pdst;
    vsd_md_query(&psrc, pd, dnnl_query_src_md, 0);
    vsd_md_query(&pwei, pd, dnnl_query_weights_md, 0);
    vsd_md_query(&pdst, pd, dnnl_query_dst_md, 0);
    dnnl_memory_t msrc = NULL, mwei = NULL, mbias = NULL, mdst = NULL;
    st = value_as(p, n->in[0], psrc, &msrc);
    if (!st) {
        /* keyed by the layout the primitive chose: plans that agree on it share one copy */
        pack.want = &pwei;
        vs_packed_request rq = {&vs_backend_onednn, node, PACK_WEIGHTS, &pwei, same_layout,
                                make_weights, release_weights, &pack};
        void *wt = NULL;
        st = packed(p, &rq, &wt);
        if (!st) mwei = ((od_weights *)wt)->mem;
    }
    if (!st && n->bias) st = new_memory(p, bias, (void *)(uintptr_t)bias_data, &mbias);
    if (!st && residual) {
        const int r = n->in[1];
        vsd_md rdst; /* the destination as the sum reads it */
        memset(&rdst, 0, sizeof rdst);
        dnnl_memory_t mres = NULL;
        if ((retyped ? vsd_md_retype(&rdst, pdst, p->vdt[r]) : vsd_md_copy(&rdst, pdst)) != dnnl_success) {
            st = vs_fail(VENSEG_E_BACKEND, "oneDNN backend: residual md of '%s'", n->name);
        } else if (p->last_use[r] == (int)(n - p->g->nodes) && vsd_md_equal(p->md[r], rdst)) {
            mres = p->mem[r]; /* in place: the sum post-op accumulates onto the residual */
        } else {
            st = new_memory(p, rdst, NULL, &mres);
            if (!st) st = reorder_step(p, p->md[r], p->mem[r], rdst, mres, 1.0f);
        }
        if (!st) {
            if (retyped) st = new_alias(p, pdst, mres, &mdst);
            else mdst = mres;
        }
        vsd_md_free(&rdst);
    } else if (!st) {
        st = new_memory(p, pdst, NULL, &mdst);
    }
    od_step *s = NULL;
    if (!st) st = add_step(p, pd, &s);
    if (!st) {
        arg(s, DNNL_ARG_SRC, msrc);
        arg(s, DNNL_ARG_WEIGHTS, mwei);
        if (mbias) arg(s, DNNL_ARG_BIAS, mbias);
        arg(s, DNNL_ARG_DST, mdst);
        p->mem[n->out] = mdst;
        vsd_md_copy(&p->md[n->out], pdst);
    }
    dnnl_primitive_desc_destroy(pd);
    vsd_md_free(&psrc), vsd_md_free(&pwei), vsd_md_free(&pdst), vsd_md_free(&bias);
    return st;
}

/* Dims and data type of a 4-d md. */
static void md_shape(const vsd_md md, dnnl_dims_t dims, dnnl_data_type_t *dt)
{
#if DNNL_VERSION_MAJOR >= 3
    const dnnl_dim_t *d = NULL;
    dnnl_memory_desc_query(md, dnnl_query_dims, &d);
    memcpy(dims, d, 4 * sizeof *dims);
    dnnl_memory_desc_query(md, dnnl_query_data_type, dt);
#else
    memcpy(dims, md.dims, 4 * sizeof *dims);
    *dt = md.data_type;
#endif
}

/* Whether md is dense NHWC (oneDNN's acdb) of data type dt. */
static int is_nhwc(const vsd_md md, dnnl_data_type_t dt)
{
    dnnl_dims_t d;
    dnnl_data_type_t mdt;
    vsd_md want;
    md_shape(md, d, &mdt);
    if (mdt != dt || vsd_md_init(&want, 4, d, dt, dnnl_acdb) != dnnl_success) return 0;
    const int same = vsd_md_equal(want, md);
    vsd_md_free(&want);
    return same;
}

/* The concat node reading upsample node u as its first part when the two can be one
 * copy step: u's output read by nothing else, u's input and the skip dense NHWC of the
 * concat's data type (int8: the parts share the concat's scale by construction). */
static int upcat_of(const od_plan *p, int u)
{
    const vs_graph *g = p->g;
    const vs_node *n = &g->nodes[u];
    if (n->op != VS_OP_UPSAMPLE2X) return -1;
    int c = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const vs_node *m = &g->nodes[i];
        if (m->in[0] != n->out && m->in[1] != n->out) continue;
        if (c >= 0 || m->op != VS_OP_CONCAT || m->in[0] != n->out) return -1;
        c = i;
    }
    if (c < 0) return -1;
    const vs_node *cat = &g->nodes[c];
    const dnnl_data_type_t dt = p->int8 ? p->vdt[cat->out] : p->bf16 ? dnnl_bf16 : dnnl_f32;
    if (!p->mem[cat->in[1]] || !is_nhwc(p->md[n->in[0]], dt) || !is_nhwc(p->md[cat->in[1]], dt)) return -1;
    if (p->int8 && (p->vscale[n->in[0]] != p->vscale[cat->out] || p->vscale[cat->in[1]] != p->vscale[cat->out])) return -1;
    return c;
}

/* The concat of an upsample fused by upcat_of: one NHWC copy step. */
static venseg_status lower_upcat(od_plan *p, const vs_node *n, const vs_node *up, int oh, int ow)
{
    dnnl_dims_t d;
    dnnl_data_type_t dt;
    md_shape(p->md[up->in[0]], d, &dt);
    const size_t elem = dnnl_data_type_size(dt);
    dnnl_dims_t od = {p->batch, n->cout, oh, ow};
    vsd_md dst;
    DNNL_TRY(vsd_md_init(&dst, 4, od, dt, dnnl_acdb), "dst md");
    dnnl_memory_t mdst = NULL;
    venseg_status st = new_memory(p, dst, NULL, &mdst);
    if (!st && !push((void **)&p->steps, &p->n_steps, &p->cap_steps, sizeof *p->steps))
        st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
    if (!st) {
        od_step *s = &p->steps[p->n_steps++];
        memset(s, 0, sizeof *s);
        s->upcat = (od_upcat){p->batch, oh, ow, (size_t)d[1] * elem, (size_t)p->g->channels[n->in[1]] * elem};
        arg(s, DNNL_ARG_MULTIPLE_SRC + 0, p->mem[up->in[0]]);
        arg(s, DNNL_ARG_MULTIPLE_SRC + 1, p->mem[n->in[1]]);
        arg(s, DNNL_ARG_DST, mdst);
        p->mem[n->out] = mdst;
        vsd_md_copy(&p->md[n->out], dst);
    }
    vsd_md_free(&dst);
    return st;
}

/* Runs an upsample-concat step: row by row, each output pixel the upsampled pixel's
 * channels then the skip's. */
static venseg_status run_upcat(const od_step *s)
{
    void *h[3];
    for (int i = 0; i < 3; i++)
        if (dnnl_memory_get_data_handle(s->args[i].memory, &h[i]) != dnnl_success)
            return vs_fail(VENSEG_E_BACKEND, "oneDNN backend: upsample-concat memory");
    const od_upcat u = s->upcat;
    const char *x = h[0], *k = h[1];
    char *d = h[2];
    const size_t c = u.c0 + u.c1;
    const int rows = u.batch * u.h;
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int r = 0; r < rows; r++) {
        const int b = r / u.h, y = r % u.h;
        const char *xr = x + ((size_t)b * (u.h / 2) + y / 2) * (size_t)(u.w / 2) * u.c0;
        const char *kr = k + (size_t)r * u.w * u.c1;
        char *dr = d + (size_t)r * u.w * c;
        for (int i = 0; i < u.w; i++) {
            memcpy(dr + (size_t)i * c, xr + (size_t)(i / 2) * u.c0, u.c0);
            memcpy(dr + (size_t)i * c + u.c0, kr + (size_t)i * u.c1, u.c1);
        }
    }
    return VENSEG_OK;
}

/* Pooling, nearest upsampling and concat: layouts follow the inputs. */
static venseg_status lower_data_op(od_plan *p, const vs_node *n, int oh, int ow)
{
    const int node = (int)(n - p->g->nodes);
    if (n->op == VS_OP_UPSAMPLE2X && upcat_of(p, node) >= 0) {
        p->fused[node] = 1; /* done by its concat's copy step */
        return VENSEG_OK;
    }
    if (n->op == VS_OP_CONCAT) {
        const vs_graph *g = p->g;
        for (int u = 0; u < node; u++)
            if (p->fused[u] && g->nodes[u].out == n->in[0]) return lower_upcat(p, n, &g->nodes[u], oh, ow);
    }
    const dnnl_data_type_t dt = p->int8 ? p->vdt[n->out] : p->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t ddims = {p->batch, n->cout, oh, ow};
    vsd_md dst;
    DNNL_TRY(vsd_md_init(&dst, 4, ddims, dt, dnnl_format_tag_any), "dst md");
    dnnl_primitive_attr_t attr = attr_new();
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t ds;
    if (n->op == VS_OP_MAXPOOL) {
        dnnl_dims_t k = {n->kernel, n->kernel}, s = {n->stride, n->stride}, pad = {n->pad, n->pad};
        ds = vsd_pool_max_pd(&pd, p->eng, p->md[n->in[0]], dst, k, s, pad, attr);
    } else if (n->op == VS_OP_UPSAMPLE2X) {
        ds = vsd_resample_pd(&pd, p->eng, p->md[n->in[0]], dst, attr);
    } else {
        vsd_md srcs[2];
        vsd_md_copy(&srcs[0], p->md[n->in[0]]);
        vsd_md_copy(&srcs[1], p->md[n->in[1]]);
        ds = vsd_concat_pd(&pd, p->eng, 2, srcs, attr);
        vsd_md_free(&srcs[0]), vsd_md_free(&srcs[1]);
    }
    dnnl_primitive_attr_destroy(attr);
    vsd_md_free(&dst);
    if (ds != dnnl_success)
        return vs_fail(VENSEG_E_BACKEND, "oneDNN backend: no primitive for op %d (%s)", (int)n->op, dnnl_status2str(ds));
    vsd_md pdst;
    vsd_md_query(&pdst, pd, dnnl_query_dst_md, 0);
    dnnl_memory_t mdst = NULL;
    od_step *s = NULL;
    venseg_status st = new_memory(p, pdst, NULL, &mdst);
    if (!st) st = add_step(p, pd, &s);
    if (!st) {
        if (n->op == VS_OP_CONCAT) {
            arg(s, DNNL_ARG_MULTIPLE_SRC + 0, p->mem[n->in[0]]);
            arg(s, DNNL_ARG_MULTIPLE_SRC + 1, p->mem[n->in[1]]);
        } else {
            arg(s, DNNL_ARG_SRC, p->mem[n->in[0]]);
        }
        arg(s, DNNL_ARG_DST, mdst);
        p->mem[n->out] = mdst;
        vsd_md_copy(&p->md[n->out], pdst);
    }
    dnnl_primitive_desc_destroy(pd);
    vsd_md_free(&pdst);
    return st;
}

static void plan_free(void *vp)
{
    od_plan *p = vp;
    if (!p) return;
    for (int i = 0; i < p->n_steps; i++)
        if (p->steps[i].prim) dnnl_primitive_destroy(p->steps[i].prim);
    for (int i = 0; i < p->n_mems; i++) dnnl_memory_destroy(p->mems[i]);
    if (p->scratch) dnnl_memory_destroy(p->scratch);
    for (int i = 0; i < p->n_bufs; i++) free(p->bufs[i]);
    if (p->md)
        for (int v = 0; v < p->g->n_values; v++) vsd_md_free(&p->md[v]);
    if (p->stream) dnnl_stream_destroy(p->stream);
    for (int i = p->n_owned - 1; i >= 0; i--) p->owned[i].release(p->owned[i].data, p->owned[i].desc);
    free(p->owned);
    free(p->steps), free(p->mems), free(p->bufs), free(p->slots), free(p->md), free(p->mem), free(p->last_use);
    free(p->vdt), free(p->vscale), free(p->fused);
    free(p);
}

static const char *isa_name(void)
{
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_sse41: return "sse41";
    default: return "other";
    }
}

/* bf16 on AVX-512 without the BF16/AMX instructions is converted in software: slower than fp32. */
static const char *bf16_note(const od_plan *p)
{
    if (!p->bf16) return "";
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (isa == dnnl_cpu_isa_avx512_core_amx) return " (AMX tiles)";
    if (isa == dnnl_cpu_isa_avx512_core_bf16) return " (AVX512-BF16 dot products, no AMX)";
    return " (emulated on AVX-512: no BF16 instructions)";
}

static int find_root(int *parent, int v)
{
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
}

/* int8 data type and scale of every value. Values that must share one quantisation
 * (pooling / upsampling in and out, concat parts, a residual and the sum onto it) are
 * grouped and take the widest calibrated range of the group. The data type is u8 for
 * non-negative values (ReLU outputs), else s8, alike across pooling, upsampling and
 * concat parts but not across a residual sum, whose post-op reads the residual in its
 * own type: a block's s8 downsample branch keeps the ReLU outputs of its layer u8,
 * so that the convolutions reading them get oneDNN 2.6's brgconv kernels (an s8
 * source gets the slower jit_int8 ones). */
static venseg_status assign_int8(od_plan *p)
{
    const vs_graph *g = p->g;
    const int nv = g->n_values;
    int *parent = malloc((size_t)nv * sizeof *parent), *tparent = malloc((size_t)nv * sizeof *tparent);
    int *nonneg = malloc((size_t)nv * sizeof *nonneg);
    double *range = malloc((size_t)nv * sizeof *range);
    p->vdt = malloc((size_t)nv * sizeof *p->vdt);
    p->vscale = malloc((size_t)nv * sizeof *p->vscale);
    if (!parent || !tparent || !nonneg || !range || !p->vdt || !p->vscale) {
        free(parent), free(tparent), free(nonneg), free(range);
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
    }
    for (int v = 0; v < nv; v++) parent[v] = tparent[v] = v, nonneg[v] = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const vs_node *n = &g->nodes[i];
        switch (n->op) {
        case VS_OP_MAXPOOL:
        case VS_OP_UPSAMPLE2X:
            nonneg[n->out] = nonneg[n->in[0]];
            parent[find_root(parent, n->out)] = find_root(parent, n->in[0]);
            tparent[find_root(tparent, n->out)] = find_root(tparent, n->in[0]);
            break;
        case VS_OP_CONCAT:
            nonneg[n->out] = nonneg[n->in[0]] && nonneg[n->in[1]];
            parent[find_root(parent, n->in[1])] = find_root(parent, n->in[0]);
            parent[find_root(parent, n->out)] = find_root(parent, n->in[0]);
            tparent[find_root(tparent, n->in[1])] = find_root(tparent, n->in[0]);
            tparent[find_root(tparent, n->out)] = find_root(tparent, n->in[0]);
            break;
        default:
            nonneg[n->out] = n->relu;
            if (n->in[1] >= 0) parent[find_root(parent, n->out)] = find_root(parent, n->in[1]);
            break;
        }
    }
    for (int v = 0; v < nv; v++) range[v] = 0.0, p->vdt[v] = dnnl_u8;
    for (int v = 0; v < nv; v++) {
        int r = find_root(parent, v);
        if (p->value_max[v] >= 0 && p->value_max[v] > range[r]) range[r] = p->value_max[v];
        if (!nonneg[v]) p->vdt[find_root(tparent, v)] = dnnl_s8;
    }
    for (int v = 0; v < nv; v++) {
        int r = find_root(parent, v);
        p->vdt[v] = p->vdt[find_root(tparent, v)];
        double top = range[r] > 1e-6 ? range[r] : 1e-6;
        p->vscale[v] = (float)((p->vdt[v] == dnnl_u8 ? 255.0 : 127.0) / top);
    }
    free(parent), free(tparent), free(nonneg), free(range);
    return VENSEG_OK;
}

static int by_size(const void *a, const void *b)
{
    const od_slot *x = *(const od_slot *const *)a, *y = *(const od_slot *const *)b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    return (x > y) - (x < y);
}

static int by_offset(const void *a, const void *b)
{
    const od_slot *x = *(const od_slot *const *)a, *y = *(const od_slot *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Activations into one arena: each slot lives from the first to the last step that
 * names it or an alias of it, and slots whose lives overlap get disjoint bytes (largest
 * first, each at the lowest offset that fits). Bound to the memories once, for every run. */
static venseg_status place_activations(od_plan *p)
{
    const int n_all = p->n_slots;
    if (!n_all) return VENSEG_OK;
    od_slot **order = malloc((size_t)n_all * sizeof *order), **live = malloc((size_t)n_all * sizeof *live);
    if (!order || !live) {
        free(order), free(live);
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
    }
    for (int k = 0; k < n_all; k++) {
        od_slot *sl = &p->slots[k];
        sl->first = INT_MAX;
        sl->last = -1;
        for (int i = 0; i < p->n_steps; i++)
            for (int a = 0; a < p->steps[i].nargs; a++)
                if (p->steps[i].args[a].memory == sl->mem) {
                    if (i < sl->first) sl->first = i;
                    sl->last = i;
                }
    }
    int n = 0;
    for (int k = 0; k < n_all; k++) { /* an alias's steps are its slot's (aliases follow their slot) */
        od_slot *sl = &p->slots[k];
        if (sl->alias_of < 0) continue;
        od_slot *root = &p->slots[sl->alias_of];
        if (sl->first < root->first) root->first = sl->first;
        if (sl->last > root->last) root->last = sl->last;
    }
    for (int k = 0; k < n_all; k++) {
        od_slot *sl = &p->slots[k];
        if (sl->alias_of >= 0) continue;
        if (sl->last < 0) sl->first = sl->last = 0;
        order[n++] = sl;
    }
    qsort(order, (size_t)n, sizeof *order, by_size);
    size_t total = 0;
    for (int k = 0; k < n; k++) {
        od_slot *sl = order[k];
        int n_live = 0;
        for (int j = 0; j < k; j++)
            if (order[j]->first <= sl->last && sl->first <= order[j]->last) live[n_live++] = order[j];
        qsort(live, (size_t)n_live, sizeof *live, by_offset);
        size_t at = 0;
        for (int j = 0; j < n_live; j++) {
            if (at + sl->bytes <= live[j]->offset) break;
            if (live[j]->offset + live[j]->bytes > at) at = live[j]->offset + live[j]->bytes;
        }
        sl->offset = at;
        if (at + sl->bytes > total) total = at + sl->bytes;
    }
    free(order), free(live);
    char *arena = plan_buffer(p, total);
    if (!arena) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory for activations (%zu bytes)", total);
    p->arena_size = total;
    for (int k = 0; k < n_all; k++) {
        const od_slot *sl = &p->slots[k];
        const size_t at = sl->alias_of >= 0 ? p->slots[sl->alias_of].offset : sl->offset;
        DNNL_TRY(dnnl_memory_set_data_handle(sl->mem, arena + at), "memory_set_data_handle");
    }
    return VENSEG_OK;
}

static venseg_status build(od_plan *p, int height, int width)
{
    const vs_graph *g = p->g;
    const int nv = g->n_values;
    p->md = calloc((size_t)nv, sizeof *p->md);
    p->mem = calloc((size_t)nv, sizeof *p->mem);
    p->fused = calloc((size_t)g->n_nodes, 1);
    p->last_use = calloc((size_t)nv, sizeof *p->last_use);
    int *h = calloc((size_t)nv, sizeof *h), *w = calloc((size_t)nv, sizeof *w);
    venseg_status st = VENSEG_OK;
    if (!p->md || !p->mem || !p->last_use || !p->fused || !h || !w) {
        st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
        goto done;
    }
    vs_packed_request rq = {&vs_backend_onednn, -1, PACK_ENGINE, NULL, NULL, make_engine, release_engine, NULL};
    void *eng = NULL;
    if ((st = packed(p, &rq, &eng))) goto done;
    p->eng = eng;
    if (dnnl_stream_create(&p->stream, p->eng, dnnl_stream_default_flags) != dnnl_success) {
        st = vs_fail(VENSEG_E_BACKEND, "oneDNN backend: cannot create a CPU engine");
        goto done;
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[i].in[k] >= 0) p->last_use[g->nodes[i].in[k]] = i;
    p->last_use[g->output] = g->n_nodes;
    if (p->int8 && (st = assign_int8(p))) goto done;
    /* value 0: the caller's NCHW f32 tensor, handle set per run */
    dnnl_dims_t in_dims = {p->batch, g->input_channels, height, width};
    if (vsd_md_init(&p->md[0], 4, in_dims, dnnl_f32, dnnl_nchw) != dnnl_success ||
        (st = new_memory(p, p->md[0], (void *)p, &p->user_in)))
        goto done;
    p->mem[0] = p->user_in;
    h[0] = height;
    w[0] = width;
    for (int i = 0; i < g->n_nodes && !st; i++) {
        const vs_node *n = &g->nodes[i];
        int oh = vs_node_out_size(n, h[n->in[0]]), ow = vs_node_out_size(n, w[n->in[0]]);
        if (oh < 1 || ow < 1 || (n->in[1] >= 0 && (h[n->in[1]] != oh || w[n->in[1]] != ow))) {
            st = vs_fail(VENSEG_E_INVALID_ARGUMENT, "input %dx%d does not fit the network at '%s' (use multiples of %d)",
                         width, height, n->name, g->multiple);
            break;
        }
        h[n->out] = oh;
        w[n->out] = ow;
        switch (n->op) {
        case VS_OP_CONV:
        case VS_OP_CONVT:
        case VS_OP_AFFINE: st = lower_conv(p, n, oh, ow); break;
        default: st = lower_data_op(p, n, oh, ow); break;
        }
    }
    if (st) goto done;
    /* logits: reorder to the caller's NCHW f32 unless already so */
    {
        const int o = g->output;
        dnnl_dims_t out_dims = {p->batch, g->channels[o], h[o], w[o]};
        vsd_md user;
        if (vsd_md_init(&user, 4, out_dims, dnnl_f32, dnnl_nchw) != dnnl_success) {
            st = vs_fail(VENSEG_E_BACKEND, "oneDNN backend: output md");
            goto done;
        }
        if ((st = new_memory(p, user, (void *)p, &p->user_out))) goto done;
        st = reorder_step(p, p->md[o], p->mem[o], user, p->user_out, 1.0f);
        vsd_md_free(&user);
        if (st) goto done;
    }
    if ((st = place_activations(p))) goto done;
    if (p->scratch_size) {
        vsd_md smd;
        dnnl_dims_t sd = {(dnnl_dim_t)p->scratch_size};
        if (vsd_md_init(&smd, 1, sd, dnnl_u8, dnnl_x) != dnnl_success) {
            st = vs_fail(VENSEG_E_BACKEND, "oneDNN backend: scratchpad md");
            goto done;
        }
        void *buf = plan_buffer(p, p->scratch_size);
        dnnl_status_t ds = buf ? vsd_memory_create(&p->scratch, smd, p->eng, buf) : dnnl_out_of_memory;
        vsd_md_free(&smd);
        if (ds != dnnl_success) {
            st = vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: scratchpad of %zu bytes", p->scratch_size);
            goto done;
        }
        for (int i = 0; i < p->n_steps; i++)
            if (p->steps[i].prim) arg(&p->steps[i], DNNL_ARG_SCRATCHPAD, p->scratch);
    }
    snprintf(p->description, sizeof p->description, "onednn %d.%d.%d: %s, %d thread%s, %s%s", dnnl_version()->major,
             dnnl_version()->minor, dnnl_version()->patch, isa_name(), p->threads, p->threads == 1 ? "" : "s",
             p->int8 ? "int8" : p->bf16 ? "bf16" : "fp32", bf16_note(p));
done:
    free(h);
    free(w);
    return st;
}

static venseg_status plan_create(const vs_graph *g, const vs_plan_config *cfg, void **out)
{
    /* ISA values are sets of feature bits (avx2_vnni 0x407 > avx512_core 0x27): test the subset */
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), avx512 = (unsigned)dnnl_cpu_isa_avx512_core;
    if (cfg->precision == VENSEG_PRECISION_BF16 && (isa & avx512) != avx512)
        return vs_fail(VENSEG_E_UNSUPPORTED, "oneDNN backend: bf16 needs AVX-512 (this CPU: %s)", isa_name());
    if (cfg->precision == VENSEG_PRECISION_INT8 && (!VSD_HAVE_INT8 || !cfg->value_max))
        return vs_fail(VENSEG_E_UNSUPPORTED, "oneDNN backend: int8 needs calibrated ranges%s",
                       VSD_HAVE_INT8 ? "" : " and oneDNN 2.x");
    if (cfg->precision == VENSEG_PRECISION_FP16)
        return vs_fail(VENSEG_E_UNSUPPORTED, "oneDNN backend: fp16 is not supported on CPUs");
    od_plan *p = calloc(1, sizeof *p);
    if (!p) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "oneDNN backend: out of memory");
    p->g = g;
    p->packed = cfg->packed;
    p->threads = cfg->threads;
    p->batch = cfg->batch > 0 ? cfg->batch : 1;
    p->bf16 = cfg->precision == VENSEG_PRECISION_BF16;
    p->int8 = cfg->precision == VENSEG_PRECISION_INT8;
    p->value_max = cfg->value_max;
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(cfg->threads);
#endif
    venseg_status st = build(p, cfg->height, cfg->width);
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    p->value_max = NULL; /* owned by the session: not kept past planning */
    if (st) {
        plan_free(p);
        return st;
    }
    *out = p;
    return VENSEG_OK;
}

static venseg_status run(void *vp, const float *input, float *logits)
{
    od_plan *p = vp;
    if (dnnl_memory_set_data_handle(p->user_in, (void *)(uintptr_t)input) != dnnl_success ||
        dnnl_memory_set_data_handle(p->user_out, logits) != dnnl_success)
        return vs_fail(VENSEG_E_BACKEND, "oneDNN backend: cannot bind the input/output buffers");
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(p->threads); /* Debian's oneDNN threads with OpenMP: per calling thread */
#endif
    venseg_status st = VENSEG_OK;
    for (int i = 0; i < p->n_steps && !st; i++) {
        if (!p->steps[i].prim) { /* after the steps before it have finished */
            if (dnnl_stream_wait(p->stream) != dnnl_success) st = vs_fail(VENSEG_E_BACKEND, "oneDNN backend: stream wait failed");
            if (!st) st = run_upcat(&p->steps[i]);
            continue;
        }
        dnnl_status_t ds = dnnl_primitive_execute(p->steps[i].prim, p->stream, p->steps[i].nargs, p->steps[i].args);
        if (ds != dnnl_success) st = dnnl_error(ds, "execute");
    }
    if (!st && dnnl_stream_wait(p->stream) != dnnl_success) st = vs_fail(VENSEG_E_BACKEND, "oneDNN backend: stream wait failed");
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    return st;
}

static const char *describe(const void *p) { return ((const od_plan *)p)->description; }

const vs_backend_ops vs_backend_onednn = {
    VS_BACKEND_API_VERSION, VENSEG_BACKEND_ONEDNN, "onednn", plan_create, run, plan_free, describe, NULL,
};
