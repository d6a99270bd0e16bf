/* CUDA backend: the graph lowered to cuDNN convolutions and own kernels once per
 * input shape, mirroring the oneDNN lowering. Convolutions carry folded BN as bias
 * and the residual sum + ReLU in cudnnConvolutionBiasActivationForward where cuDNN
 * runs it for the chosen algorithm (checked once when the plan is made; otherwise a
 * plain convolution and an epilogue kernel); transposed convolutions are cuDNN's
 * backward-data; pooling, upsampling, concat (two copies into channel slices), the
 * standalone BN and the type/layout conversions at both ends are cuda_kernels.cu.
 * Algorithms are measured per convolution (cudnnFind*), the whole run (upload,
 * network, download) is captured once into a CUDA graph and replayed.
 * Precisions: fp32 (FMA math only: the reference's numbers to ~1e-5), TF32 (fp32
 * storage, tensor cores; VENSEG_OPT_ALLOW_TF32) and fp16 (fp16 storage, fp32
 * accumulation). fp16 and TF32 plans use NHWC with input and logits channels padded
 * to 8 (tensor-core friendly); NCHW is the fallback. Every value has its own device
 * buffer (a fixed network: nothing to reuse between runs). Filters, biases and BN
 * vectors are uploaded once per model, device, precision and layout into the model's
 * packed store and shared by every plan (the CUDA graphs only read them). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_kernels.h"

enum { FIND_WORKSPACE_MAX = 512 << 20 };

typedef enum vc_kind { K_IN, K_CONV, K_CONVT, K_AFFINE, K_POOL, K_UP, K_CONCAT, K_OUT } vc_kind;

typedef struct vc_value {
    void *data;
    int c, cs, h, w; /* logical and stored channels */
    cudnnTensorDescriptor_t desc;
} vc_value;

typedef struct vc_step {
    vc_kind kind;
    const vs_node *n;
    int fused;
    cudnnFilterDescriptor_t wdesc;
    cudnnConvolutionDescriptor_t cdesc;
    cudnnTensorDescriptor_t bdesc;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t bwd;
    cudnnMathType_t math;
    size_t ws;
    void *w, *bias_act;  /* filter and (fused) bias in the plan's type */
    float *bias, *scale; /* fp32: epilogue bias; AFFINE scale (bias = shift) */
} vc_step;

typedef struct vc_plan {
    const vs_graph *g;
    vs_packed_store *packed; /* the model's; NULL: uploads for this plan alone */
    int batch, device, half, tf32, nhwc, use_graph, allow_fused;
    cudnnHandle_t dnn;
    cudaStream_t stream;
    cudnnActivationDescriptor_t relu;
    vc_value *v;
    vc_step *steps;
    int n_steps;
    void **allocs;
    int n_allocs, cap_allocs;
    void *ws;
    size_t ws_size;
    float *d_in, *d_out, *h_in, *h_out; /* f32 NCHW staging: device and pinned host */
    size_t in_count, out_count;
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    char note[160];
    char description[320];
} vc_plan;

static venseg_status cuda_error(cudaError_t e, const char *what)
{
    return vs_fail(e == cudaErrorMemoryAllocation ? VENSEG_E_OUT_OF_MEMORY : VENSEG_E_BACKEND, "CUDA backend: %s: %s (%s)",
                   what, cudaGetErrorName(e), cudaGetErrorString(e));
}

static venseg_status dnn_error(cudnnStatus_t e, const char *what, const vs_node *n)
{
    return vs_fail(e == CUDNN_STATUS_ALLOC_FAILED ? VENSEG_E_OUT_OF_MEMORY : VENSEG_E_BACKEND, "CUDA backend: %s%s%s%s: %s",
                   what, n ? " ('" : "", n ? n->name : "", n ? "')" : "", cudnnGetErrorString(e));
}

#define CU(call, what)                                         \
    do {                                                       \
        cudaError_t cu_e_ = (call);                            \
        if (cu_e_ != cudaSuccess) return cuda_error(cu_e_, what); \
    } while (0)
#define DNN(call, what, node)                                          \
    do {                                                               \
        cudnnStatus_t dnn_e_ = (call);                                 \
        if (dnn_e_ != CUDNN_STATUS_SUCCESS) return dnn_error(dnn_e_, what, node); \
    } while (0)

/* Runs with the plan's device current and puts the caller's back. */
typedef struct device_guard {
    int prev, ok;
} device_guard;

static venseg_status enter(const vc_plan *p, device_guard *gd)
{
    gd->ok = cudaGetDevice(&gd->prev) == cudaSuccess;
    CU(cudaSetDevice(p->device), "cudaSetDevice");
    return VENSEG_OK;
}

static void leave(const device_guard *gd)
{
    if (gd->ok) cudaSetDevice(gd->prev);
}

/* Room for one more entry in the plan's list of device allocations. */
static venseg_status reserve_alloc_slot(vc_plan *p)
{
    if (p->n_allocs < p->cap_allocs) return VENSEG_OK;
    int cap = p->cap_allocs ? p->cap_allocs * 2 : 64;
    void **a = realloc(p->allocs, (size_t)cap * sizeof *a);
    if (!a) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "CUDA backend: out of host memory");
    p->allocs = a;
    p->cap_allocs = cap;
    return VENSEG_OK;
}

static venseg_status dev_alloc(vc_plan *p, size_t bytes, void **out)
{
    venseg_status st_slot = reserve_alloc_slot(p);
    if (st_slot != VENSEG_OK) return st_slot;
    CU(cudaMalloc(out, bytes ? bytes : 16), "cudaMalloc");
    p->allocs[p->n_allocs++] = *out;
    return VENSEG_OK;
}

static size_t type_size(const vc_plan *p) { return p->half ? 2 : 4; }
static vc_type act_type(const vc_plan *p) { return p->half ? VC_F16 : VC_F32; }
static cudnnDataType_t dnn_type(const vc_plan *p) { return p->half ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT; }

/* Value v as a kernel view; channel slice [c0, c0 + c) when c > 0. */
static vc_view slice(const vc_plan *p, int v, int c0, int c)
{
    const vc_value *a = &p->v[v];
    vc_view r;
    const long long hw = (long long)a->h * a->w;
    r.type = act_type(p);
    r.n = p->batch;
    r.c = c > 0 ? c : a->c;
    r.h = a->h;
    r.w = a->w;
    if (p->nhwc) {
        r.sn = hw * a->cs, r.sc = 1, r.sh = (long long)a->w * a->cs, r.sw = a->cs;
    } else {
        r.sn = hw * a->cs, r.sc = hw, r.sh = a->w, r.sw = 1;
    }
    r.data = (char *)a->data + (size_t)(c0 * r.sc) * type_size(p);
    return r;
}

static vc_view view(const vc_plan *p, int v) { return slice(p, v, 0, 0); }

/* f32 host data (count floats) -> a new device buffer of the plan's type (fp16 plans
 * convert on the device), owned by the caller. Synchronous: the host data may go
 * right after. */
static venseg_status upload(vc_plan *p, const float *host, size_t count, int as_f32, void **out)
{
    const int half = !as_f32 && p->half;
    CU(cudaMalloc(out, count ? count * (half ? 2 : 4) : 16), "cudaMalloc");
    cudaError_t e;
    if (!half) {
        e = cudaMemcpyAsync(*out, host, count * 4, cudaMemcpyHostToDevice, p->stream);
        if (e == cudaSuccess) e = cudaStreamSynchronize(p->stream);
    } else {
        float *tmp = NULL;
        e = cudaMalloc((void **)&tmp, count * 4);
        vc_view d = {*out, VC_F16, 1, 1, 1, (int)count, (long long)count, (long long)count, (long long)count, 1};
        vc_view s = d;
        s.data = tmp;
        s.type = VC_F32;
        if (e == cudaSuccess) e = cudaMemcpyAsync(tmp, host, count * 4, cudaMemcpyHostToDevice, p->stream);
        if (e == cudaSuccess) e = vc_copy(p->stream, d, s);
        if (e == cudaSuccess) e = cudaStreamSynchronize(p->stream);
        cudaFree(tmp);
    }
    if (e == cudaSuccess) return VENSEG_OK;
    cudaFree(*out);
    *out = NULL;
    return cuda_error(e, "weights upload");
}

/* Filter K x C x k x k (PyTorch: CONV [cout][cin][k][k], CONVT [cin][cout][k][k]) stored
 * as Ks x Cs (zero padding) in the plan's layout (NCHW: KCRS, NHWC: KRSC). */
static venseg_status upload_filter_now(vc_plan *p, const float *src, int K, int C, int k, int Ks, int Cs, void **out)
{
    const size_t kk = (size_t)k * k, total = (size_t)Ks * Cs * kk;
    float *h = calloc(total, sizeof *h);
    if (!h) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "CUDA backend: out of host memory");
    for (int o = 0; o < K; o++)
        for (int i = 0; i < C; i++)
            for (size_t rs = 0; rs < kk; rs++) {
                size_t at = p->nhwc ? ((size_t)o * kk + rs) * Cs + i : ((size_t)o * Cs + i) * kk + rs;
                h[at] = src[((size_t)o * C + i) * kk + rs];
            }
    venseg_status st = upload(p, h, total, 0, out);
    free(h);
    return st;
}

/* Per-channel fp32 vector zero-padded to n. */
static venseg_status upload_channels_now(vc_plan *p, const float *src, int c, int n, int as_f32, void **out)
{
    float *h = calloc((size_t)n, sizeof *h);
    if (!h) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "CUDA backend: out of host memory");
    if (src) memcpy(h, src, (size_t)c * sizeof *h);
    venseg_status st = upload(p, h, (size_t)n, as_f32, out);
    free(h);
    return st;
}

/* What an upload is: compared whole (memcmp) between plans, so every byte is set. */
typedef struct vc_upload_key {
    int device, half, nhwc, filter, as_f32;
    int K, C, k, Ks, Cs; /* filter */
    int c, n;            /* channels */
} vc_upload_key;

typedef struct vc_upload {
    vc_plan *p;
    const float *src;     /* channels */
    const vs_node *node;  /* filter: its f32 weights are made (vs_node_weights) only for the upload */
    vc_upload_key key;
} vc_upload;

/* Uploads of the model's store: the key travels as the entry's desc. */
static venseg_status make_upload(void *ctx, void **data, void **desc, size_t *bytes)
{
    const vc_upload *u = ctx;
    const vc_upload_key *k = &u->key;
    vc_upload_key *copy = malloc(sizeof *copy);
    if (!copy) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "CUDA backend: out of host memory");
    float *wf32 = NULL;
    const float *w = k->filter ? vs_node_weights(u->node, &wf32) : NULL;
    venseg_status st = k->filter && !w ? vs_fail(VENSEG_E_OUT_OF_MEMORY, "CUDA backend: out of host memory")
                       : k->filter     ? upload_filter_now(u->p, w, k->K, k->C, k->k, k->Ks, k->Cs, data)
                                       : upload_channels_now(u->p, u->src, k->c, k->n, k->as_f32, data);
    free(wf32);
    if (st) {
        free(copy);
        return st;
    }
    *copy = *k;
    *desc = copy;
    *bytes = (k->filter ? (size_t)k->Ks * k->Cs * k->k * k->k : (size_t)k->n) * (k->as_f32 || !k->half ? 4 : 2);
    return VENSEG_OK;
}

/* With the model (the last session gone): its device, then the caller's, current. */
static void release_upload(void *data, void *desc)
{
    const vc_upload_key *k = desc;
    if (data && k) {
        int prev = 0;
        const int had = cudaGetDevice(&prev) == cudaSuccess;
        if (cudaSetDevice(k->device) == cudaSuccess) cudaFree(data);
        if (had) cudaSetDevice(prev);
    }
    free(desc);
}

static int same_upload(const void *desc, const void *want) { return memcmp(desc, want, sizeof(vc_upload_key)) == 0; }

/* The upload from the model's store (shared), or without one owned by this plan. */
static venseg_status shared_upload(vc_plan *p, const vs_node *n, int kind, vc_upload *u, void **out)
{
    u->p = p;
    u->key.device = p->device;
    u->key.half = p->half;
    u->key.nhwc = p->nhwc;
    vs_packed_request r = {&vc_backend_cuda, (int)(n - p->g->nodes), kind, &u->key, same_upload,
                           make_upload, release_upload, u};
    if (p->packed) return vs_packed_get(p->packed, &r, out);
    venseg_status st_slot = reserve_alloc_slot(p);
    if (st_slot != VENSEG_OK) return st_slot;
    void *desc = NULL;
    size_t bytes = 0;
    venseg_status st = make_upload(u, out, &desc, &bytes);
    free(desc);
    if (!st) p->allocs[p->n_allocs++] = *out;
    return st;
}

enum { UP_FILTER, UP_BIAS, UP_BIAS_ACT, UP_SCALE, UP_SHIFT };

static venseg_status upload_filter(vc_plan *p, const vs_node *n, int K, int C, int Ks, int Cs, void **out)
{
    vc_upload u;
    memset(&u, 0, sizeof u);
    u.node = n;
    u.key.filter = 1, u.key.K = K, u.key.C = C, u.key.k = n->kernel, u.key.Ks = Ks, u.key.Cs = Cs;
    return shared_upload(p, n, UP_FILTER, &u, out);
}

static venseg_status upload_channels(vc_plan *p, const vs_node *n, int kind, const float *src, int c, int count,
                                     int as_f32, void **out)
{
    vc_upload u;
    memset(&u, 0, sizeof u);
    u.src = src;
    u.key.c = c, u.key.n = count, u.key.as_f32 = as_f32;
    return shared_upload(p, n, kind, &u, out);
}

static venseg_status add_step(vc_plan *p, vc_kind kind, const vs_node *n, vc_step **out)
{
    vc_step *s = &p->steps[p->n_steps++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->n = n;
    *out = s;
    return VENSEG_OK;
}

/* Algorithms chosen so far in this process, per convolution configuration: every plan
 * (session) of one configuration runs the same algorithm, so sessions give identical
 * results, and the measuring is done once. */
typedef struct algo_key {
    int kind, device, batch, cin, cout, h, w, kernel, stride, pad, half, tf32, nhwc;
} algo_key;
typedef struct algo_entry {
    algo_key key;
    int algo;
    size_t ws;
    cudnnMathType_t math;
} algo_entry;
static pthread_mutex_t algo_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t find_lock = PTHREAD_MUTEX_INITIALIZER; /* one plan measures at a time */
static algo_entry *algo_cache;
static int algo_count, algo_cap;

static algo_key key_of(const vc_plan *p, const vc_step *s)
{
    const vs_node *n = s->n;
    const vc_value *x = &p->v[n->in[0]], *y = &p->v[n->out];
    algo_key k;
    memset(&k, 0, sizeof k); /* compared with memcmp */
    k.kind = s->kind, k.device = p->device, k.batch = p->batch, k.cin = x->cs, k.cout = y->cs, k.h = x->h, k.w = x->w;
    k.kernel = n->kernel, k.stride = n->stride, k.pad = n->pad, k.half = p->half, k.tf32 = p->tf32, k.nhwc = p->nhwc;
    return k;
}

static int cached_algo(const algo_key *k, algo_entry *out)
{
    int hit = 0;
    pthread_mutex_lock(&algo_lock);
    for (int i = 0; i < algo_count && !hit; i++)
        if (memcmp(&algo_cache[i].key, k, sizeof *k) == 0) {
            *out = algo_cache[i];
            hit = 1;
        }
    pthread_mutex_unlock(&algo_lock);
    return hit;
}

static void remember_algo(const algo_entry *e)
{
    algo_entry old;
    if (cached_algo(&e->key, &old)) return;
    pthread_mutex_lock(&algo_lock);
    if (algo_count == algo_cap) {
        int cap = algo_cap ? algo_cap * 2 : 64;
        algo_entry *a = realloc(algo_cache, (size_t)cap * sizeof *a);
        if (a) algo_cache = a, algo_cap = cap;
    }
    if (algo_count < algo_cap) algo_cache[algo_count++] = *e;
    pthread_mutex_unlock(&algo_lock);
}

/* Strict fp32 keeps to the GEMM-like algorithms: FFT and Winograd transforms round
 * differently from the reference's direct sums (errors that grow with depth). */
static int exact_fwd(cudnnConvolutionFwdAlgo_t a)
{
    return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
           a == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}

static int exact_bwd(cudnnConvolutionBwdDataAlgo_t a)
{
    return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
}

/* The deterministic convolution algorithm cuDNN measures fastest for this step (or the
 * one chosen before for the same configuration). */
static venseg_status find_algo(vc_plan *p, vc_step *s, void *find_ws, size_t find_size)
{
    const vs_node *n = s->n;
    const vc_value *x = &p->v[n->in[0]], *y = &p->v[n->out];
    algo_entry e;
    e.key = key_of(p, s);
    if (cached_algo(&e.key, &e) && e.ws <= find_size) {
        if (s->kind == K_CONV) s->fwd = (cudnnConvolutionFwdAlgo_t)e.algo;
        else s->bwd = (cudnnConvolutionBwdDataAlgo_t)e.algo;
        s->ws = e.ws;
        s->math = e.math;
        DNN(cudnnSetConvolutionMathType(s->cdesc, s->math), "cudnnSetConvolutionMathType", n);
        if (s->ws > p->ws_size) p->ws_size = s->ws;
        return VENSEG_OK;
    }
    int got = 0, found = 0;
    const int strict = !p->half && !p->tf32;
    cudnnStatus_t ds;
    /* results come fastest first; take the first that ran */
    if (s->kind == K_CONV) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        ds = cudnnFindConvolutionForwardAlgorithmEx(p->dnn, x->desc, x->data, s->wdesc, s->w, s->cdesc, y->desc, y->data,
                                                    CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf, find_ws, find_size);
        if (ds != CUDNN_STATUS_SUCCESS) return dnn_error(ds, "cudnnFindConvolutionForwardAlgorithmEx", n);
        for (int pass = 0; pass < 2; pass++) /* pass 1: whatever ran, if nothing preferred did */
            for (int i = 0; i < got && !found; i++)
                if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= find_size &&
                    (pass || (perf[i].determinism == CUDNN_DETERMINISTIC && (!strict || exact_fwd(perf[i].algo))))) {
                    s->fwd = perf[i].algo;
                    s->ws = perf[i].memory;
                    s->math = perf[i].mathType;
                    found = 1;
                }
    } else {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        ds = cudnnFindConvolutionBackwardDataAlgorithmEx(p->dnn, s->wdesc, s->w, x->desc, x->data, s->cdesc, y->desc,
                                                         y->data, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf,
                                                         find_ws, find_size);
        if (ds != CUDNN_STATUS_SUCCESS) return dnn_error(ds, "cudnnFindConvolutionBackwardDataAlgorithmEx", n);
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < got && !found; i++)
                if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= find_size &&
                    (pass || (perf[i].determinism == CUDNN_DETERMINISTIC && (!strict || exact_bwd(perf[i].algo))))) {
                    s->bwd = perf[i].algo;
                    s->ws = perf[i].memory;
                    s->math = perf[i].mathType;
                    found = 1;
                }
    }
    if (!found)
        return vs_fail(VENSEG_E_UNSUPPORTED, "CUDA backend: cuDNN has no %s algorithm for '%s' (%s, %s)",
                       s->kind == K_CONV ? "convolution" : "transposed-convolution", n->name,
                       p->half ? "fp16" : p->tf32 ? "tf32" : "fp32", p->nhwc ? "NHWC" : "NCHW");
    /* strict fp32 never runs on TF32 tensor cores, whatever the measured result says */
    if (!p->half && !p->tf32) s->math = CUDNN_FMA_MATH;
    DNN(cudnnSetConvolutionMathType(s->cdesc, s->math), "cudnnSetConvolutionMathType", n);
    if (s->ws > p->ws_size) p->ws_size = s->ws;
    e.algo = s->kind == K_CONV ? (int)s->fwd : (int)s->bwd;
    e.ws = s->ws;
    e.math = s->math;
    remember_algo(&e);
    return VENSEG_OK;
}

static venseg_status lower_conv(vc_plan *p, const vs_node *n, vc_step *s)
{
    const int transpose = n->op == VS_OP_CONVT;
    const vc_value *x = &p->v[n->in[0]], *y = &p->v[n->out];
    DNN(cudnnCreateFilterDescriptor(&s->wdesc), "cudnnCreateFilterDescriptor", n);
    DNN(cudnnCreateConvolutionDescriptor(&s->cdesc), "cudnnCreateConvolutionDescriptor", n);
    DNN(cudnnCreateTensorDescriptor(&s->bdesc), "cudnnCreateTensorDescriptor", n);
    /* backward-data's filter is that of the forward convolution from y to x: K = x's channels */
    const int K = transpose ? n->cin : n->cout, C = transpose ? n->cout : n->cin;
    const int Ks = transpose ? x->cs : y->cs, Cs = transpose ? y->cs : x->cs;
    DNN(cudnnSetFilter4dDescriptor(s->wdesc, dnn_type(p), p->nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, Ks, Cs,
                                   n->kernel, n->kernel),
        "cudnnSetFilter4dDescriptor", n);
    DNN(cudnnSetConvolution2dDescriptor(s->cdesc, n->pad, n->pad, n->stride, n->stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                        CUDNN_DATA_FLOAT),
        "cudnnSetConvolution2dDescriptor", n);
    DNN(cudnnSetConvolutionMathType(s->cdesc, p->half   ? CUDNN_TENSOR_OP_MATH
                                              : p->tf32 ? CUDNN_DEFAULT_MATH
                                                        : CUDNN_FMA_MATH),
        "cudnnSetConvolutionMathType", n);
    DNN(cudnnSetTensor4dDescriptor(s->bdesc, CUDNN_TENSOR_NCHW, dnn_type(p), 1, y->cs, 1, 1),
        "cudnnSetTensor4dDescriptor", n);
    venseg_status st = upload_filter(p, n, K, C, Ks, Cs, &s->w);
    if (!st) st = upload_channels(p, n, UP_BIAS, n->bias, n->cout, y->cs, 1, (void **)&s->bias);
    if (!st && p->half) st = upload_channels(p, n, UP_BIAS_ACT, n->bias, n->cout, y->cs, 0, &s->bias_act);
    else s->bias_act = s->bias;
    /* cuDNN fuses bias + optional residual + ReLU; identity needs one particular algorithm */
    s->fused = !transpose && n->relu && p->allow_fused;
    return st;
}

/* Enqueues one step on the plan's stream. */
static venseg_status step_run(vc_plan *p, vc_step *s)
{
    const vs_node *n = s->n;
    const float one = 1.0f, zero = 0.0f;
    switch (s->kind) {
    case K_IN: {
        vc_view src = view(p, 0);
        src.data = p->d_in;
        src.type = VC_F32;
        src.sn = (long long)src.c * src.h * src.w, src.sc = (long long)src.h * src.w, src.sh = src.w, src.sw = 1;
        CU(vc_copy(p->stream, view(p, 0), src), "input conversion");
        return VENSEG_OK;
    }
    case K_OUT: {
        const int o = p->g->output;
        vc_view dst = view(p, o);
        dst.data = p->d_out;
        dst.type = VC_F32;
        dst.sn = (long long)dst.c * dst.h * dst.w, dst.sc = (long long)dst.h * dst.w, dst.sh = dst.w, dst.sw = 1;
        CU(vc_copy(p->stream, dst, view(p, o)), "logits conversion");
        return VENSEG_OK;
    }
    case K_CONV: {
        const vc_value *x = &p->v[n->in[0]], *y = &p->v[n->out];
        const int r = n->in[1];
        if (s->fused) {
            const float alpha2 = r >= 0 ? 1.0f : 0.0f;
            const void *z = r >= 0 ? p->v[r].data : y->data;
            DNN(cudnnConvolutionBiasActivationForward(p->dnn, &one, x->desc, x->data, s->wdesc, s->w, s->cdesc, s->fwd,
                                                      p->ws, s->ws, &alpha2, y->desc, z, s->bdesc, s->bias_act, p->relu,
                                                      y->desc, y->data),
                "cudnnConvolutionBiasActivationForward", n);
            return VENSEG_OK;
        }
        DNN(cudnnConvolutionForward(p->dnn, &one, x->desc, x->data, s->wdesc, s->w, s->cdesc, s->fwd, p->ws, s->ws, &zero,
                                    y->desc, y->data),
            "cudnnConvolutionForward", n);
        vc_view res = {0};
        if (r >= 0) res = view(p, r);
        CU(vc_epilogue(p->stream, view(p, n->out), n->bias ? s->bias : NULL, res, n->relu), "convolution epilogue");
        return VENSEG_OK;
    }
    case K_CONVT: {
        const vc_value *x = &p->v[n->in[0]], *y = &p->v[n->out];
        DNN(cudnnConvolutionBackwardData(p->dnn, &one, s->wdesc, s->w, x->desc, x->data, s->cdesc, s->bwd, p->ws, s->ws,
                                         &zero, y->desc, y->data),
            "cudnnConvolutionBackwardData", n);
        vc_view none = {0};
        CU(vc_epilogue(p->stream, view(p, n->out), n->bias ? s->bias : NULL, none, n->relu), "transposed-convolution epilogue");
        return VENSEG_OK;
    }
    case K_AFFINE:
        CU(vc_affine(p->stream, view(p, n->out), view(p, n->in[0]), s->scale, s->bias, n->relu), "batch norm");
        return VENSEG_OK;
    case K_POOL:
        CU(vc_maxpool(p->stream, view(p, n->out), view(p, n->in[0]), n->kernel, n->stride, n->pad), "max pooling");
        return VENSEG_OK;
    case K_UP: CU(vc_upsample2x(p->stream, view(p, n->out), view(p, n->in[0])), "upsampling"); return VENSEG_OK;
    case K_CONCAT: {
        const int c0 = p->v[n->in[0]].c, c1 = p->v[n->in[1]].c;
        CU(vc_copy(p->stream, slice(p, n->out, 0, c0), view(p, n->in[0])), "concat");
        CU(vc_copy(p->stream, slice(p, n->out, c0, c1), view(p, n->in[1])), "concat");
        return VENSEG_OK;
    }
    }
    return vs_fail(VENSEG_E_INTERNAL, "CUDA backend: unknown step");
}

/* Upload, every step, download: what one run enqueues (and the CUDA graph holds). */
static venseg_status enqueue(vc_plan *p)
{
    CU(cudaMemcpyAsync(p->d_in, p->h_in, p->in_count * 4, cudaMemcpyHostToDevice, p->stream), "input upload");
    for (int i = 0; i < p->n_steps; i++) {
        venseg_status st = step_run(p, &p->steps[i]);
        if (st) return st;
    }
    CU(cudaMemcpyAsync(p->h_out, p->d_out, p->out_count * 4, cudaMemcpyDeviceToHost, p->stream), "logits download");
    return VENSEG_OK;
}

/* One eager run on zeros: cuDNN says here whether it runs each fused convolution with
 * its algorithm; a refused one becomes convolution + epilogue. */
static venseg_status validate(vc_plan *p)
{
    memset(p->h_in, 0, p->in_count * 4);
    CU(cudaMemcpyAsync(p->d_in, p->h_in, p->in_count * 4, cudaMemcpyHostToDevice, p->stream), "input upload");
    for (int i = 0; i < p->n_steps; i++) {
        vc_step *s = &p->steps[i];
        venseg_status st = step_run(p, s);
        if (st && s->fused) {
            s->fused = 0;
            st = step_run(p, s);
        }
        if (st) return st;
    }
    CU(cudaStreamSynchronize(p->stream), "first run");
    return VENSEG_OK;
}

static void capture(vc_plan *p)
{
    if (!p->use_graph) {
        snprintf(p->note, sizeof p->note, "no CUDA graph (VENSEG_CUDA_GRAPHS=0)");
        return;
    }
    cudaError_t e = cudaStreamBeginCapture(p->stream, cudaStreamCaptureModeThreadLocal);
    venseg_status st = e == cudaSuccess ? enqueue(p) : VENSEG_OK;
    if (e == cudaSuccess) {
        cudaError_t end = cudaStreamEndCapture(p->stream, &p->graph);
        if (end != cudaSuccess) e = end;
    }
    if (e == cudaSuccess && !st) e = cudaGraphInstantiate(&p->exec, p->graph, 0);
    if (e != cudaSuccess || st) {
        snprintf(p->note, sizeof p->note, "eager (CUDA graph capture failed: %s)",
                 st ? vc_last_error() : cudaGetErrorName(e));
        vs_clear_error();
        if (p->exec) cudaGraphExecDestroy(p->exec);
        if (p->graph) cudaGraphDestroy(p->graph);
        p->exec = NULL;
        p->graph = NULL;
        cudaGetLastError(); /* a failed capture leaves no sticky error, but clear the last one */
    } else {
        snprintf(p->note, sizeof p->note, "CUDA graph");
    }
}

static void release(vc_plan *p)
{
    if (p->exec) cudaGraphExecDestroy(p->exec);
    if (p->graph) cudaGraphDestroy(p->graph);
    if (p->stream) cudaStreamSynchronize(p->stream);
    for (int i = 0; i < p->n_steps; i++) {
        vc_step *s = &p->steps[i];
        if (s->wdesc) cudnnDestroyFilterDescriptor(s->wdesc);
        if (s->cdesc) cudnnDestroyConvolutionDescriptor(s->cdesc);
        if (s->bdesc) cudnnDestroyTensorDescriptor(s->bdesc);
    }
    if (p->v)
        for (int i = 0; i < p->g->n_values; i++)
            if (p->v[i].desc) cudnnDestroyTensorDescriptor(p->v[i].desc);
    for (int i = 0; i < p->n_allocs; i++) cudaFree(p->allocs[i]);
    if (p->h_in) cudaFreeHost(p->h_in);
    if (p->h_out) cudaFreeHost(p->h_out);
    if (p->relu) cudnnDestroyActivationDescriptor(p->relu);
    if (p->dnn) cudnnDestroy(p->dnn);
    if (p->stream) cudaStreamDestroy(p->stream);
    free(p->allocs), free(p->steps), free(p->v);
    const vs_graph *g = p->g;
    vs_packed_store *packed = p->packed;
    const int keep[] = {p->batch, p->device, p->half, p->tf32, p->use_graph, p->allow_fused};
    memset(p, 0, sizeof *p);
    p->g = g;
    p->packed = packed;
    p->batch = keep[0], p->device = keep[1], p->half = keep[2], p->tf32 = keep[3], p->use_graph = keep[4];
    p->allow_fused = keep[5];
}

static int pad8(int c) { return (c + 7) / 8 * 8; }

static venseg_status build(vc_plan *p, int height, int width)
{
    const vs_graph *g = p->g;
    const int nv = g->n_values;
    CU(cudaStreamCreateWithFlags(&p->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    DNN(cudnnCreate(&p->dnn), "cudnnCreate", NULL);
    DNN(cudnnSetStream(p->dnn, p->stream), "cudnnSetStream", NULL);
    DNN(cudnnCreateActivationDescriptor(&p->relu), "cudnnCreateActivationDescriptor", NULL);
    DNN(cudnnSetActivationDescriptor(p->relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0),
        "cudnnSetActivationDescriptor", NULL);
    p->v = calloc((size_t)nv, sizeof *p->v);
    p->steps = calloc((size_t)g->n_nodes + 2, sizeof *p->steps);
    int *consumers_conv = calloc((size_t)nv, sizeof *consumers_conv); /* 1: only CONV nodes read it */
    if (!p->v || !p->steps || !consumers_conv) {
        free(consumers_conv);
        return vs_fail(VENSEG_E_OUT_OF_MEMORY, "CUDA backend: out of host memory");
    }
    venseg_status st = VENSEG_OK;

    /* shapes, and which values may carry zero-padded channels (only convolutions see them) */
    for (int v = 0; v < nv; v++) consumers_conv[v] = 1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[i].in[k] >= 0 && (g->nodes[i].op != VS_OP_CONV || k == 1)) consumers_conv[g->nodes[i].in[k]] = 0;
    p->v[0].c = g->input_channels;
    p->v[0].h = height;
    p->v[0].w = width;
    for (int i = 0; i < g->n_nodes; i++) {
        const vs_node *n = &g->nodes[i];
        const vc_value *a = &p->v[n->in[0]];
        int oh = vs_node_out_size(n, a->h), ow = vs_node_out_size(n, a->w);
        if (oh < 1 || ow < 1 || (n->in[1] >= 0 && (p->v[n->in[1]].h != oh || p->v[n->in[1]].w != ow))) {
            free(consumers_conv);
            return vs_fail(VENSEG_E_INVALID_ARGUMENT, "input %dx%d does not fit the network at '%s' (use multiples of %d)",
                           width, height, n->name, g->multiple);
        }
        p->v[n->out].c = g->channels[n->out];
        p->v[n->out].h = oh;
        p->v[n->out].w = ow;
    }
    for (int v = 0; v < nv; v++) p->v[v].cs = p->v[v].c;
    if (p->nhwc) {
        if (consumers_conv[0]) p->v[0].cs = pad8(p->v[0].c);
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i].out == g->output && (g->nodes[i].op == VS_OP_CONV || g->nodes[i].op == VS_OP_CONVT) &&
                consumers_conv[g->output])
                p->v[g->output].cs = pad8(p->v[g->output].c);
    }
    free(consumers_conv);

    /* buffers (zeroed once: padded channels stay zero) and descriptors */
    for (int v = 0; v < nv; v++) {
        vc_value *a = &p->v[v];
        size_t bytes = (size_t)p->batch * a->cs * a->h * a->w * type_size(p);
        if ((st = dev_alloc(p, bytes, &a->data))) return st;
        CU(cudaMemsetAsync(a->data, 0, bytes, p->stream), "cudaMemset");
        DNN(cudnnCreateTensorDescriptor(&a->desc), "cudnnCreateTensorDescriptor", NULL);
        DNN(cudnnSetTensor4dDescriptor(a->desc, p->nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, dnn_type(p), p->batch,
                                       a->cs, a->h, a->w),
            "cudnnSetTensor4dDescriptor", NULL);
    }
    const vc_value *out = &p->v[g->output];
    p->in_count = (size_t)p->batch * g->input_channels * height * width;
    p->out_count = (size_t)p->batch * out->c * out->h * out->w;
    if ((st = dev_alloc(p, p->in_count * 4, (void **)&p->d_in)) || (st = dev_alloc(p, p->out_count * 4, (void **)&p->d_out)))
        return st;
    CU(cudaHostAlloc((void **)&p->h_in, p->in_count * 4, cudaHostAllocDefault), "cudaHostAlloc");
    CU(cudaHostAlloc((void **)&p->h_out, p->out_count * 4, cudaHostAllocDefault), "cudaHostAlloc");

    /* steps */
    vc_step *s;
    add_step(p, K_IN, NULL, &s);
    for (int i = 0; i < g->n_nodes && !st; i++) {
        const vs_node *n = &g->nodes[i];
        switch (n->op) {
        case VS_OP_CONV:
            add_step(p, K_CONV, n, &s);
            st = lower_conv(p, n, s);
            break;
        case VS_OP_CONVT:
            add_step(p, K_CONVT, n, &s);
            st = lower_conv(p, n, s);
            break;
        case VS_OP_AFFINE:
            add_step(p, K_AFFINE, n, &s);
            st = upload_channels(p, n, UP_SCALE, n->scale, n->cin, n->cin, 1, (void **)&s->scale);
            if (!st) st = upload_channels(p, n, UP_SHIFT, n->bias, n->cin, n->cin, 1, (void **)&s->bias);
            break;
        case VS_OP_MAXPOOL: add_step(p, K_POOL, n, &s); break;
        case VS_OP_UPSAMPLE2X: add_step(p, K_UP, n, &s); break;
        case VS_OP_CONCAT: add_step(p, K_CONCAT, n, &s); break;
        }
    }
    if (st) return st;
    add_step(p, K_OUT, NULL, &s);

    /* algorithms, measured with a temporary workspace, then the largest one kept */
    size_t free_b = 0, total_b = 0;
    CU(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    size_t find_size = free_b / 4 < (size_t)FIND_WORKSPACE_MAX ? free_b / 4 : (size_t)FIND_WORKSPACE_MAX;
    void *find_ws = NULL;
    CU(cudaStreamSynchronize(p->stream), "weights upload");
    CU(cudaMalloc(&find_ws, find_size), "cudaMalloc (algorithm search workspace)");
    pthread_mutex_lock(&find_lock);
    for (int i = 0; i < p->n_steps && !st; i++)
        if (p->steps[i].kind == K_CONV || p->steps[i].kind == K_CONVT) st = find_algo(p, &p->steps[i], find_ws, find_size);
    pthread_mutex_unlock(&find_lock);
    cudaFree(find_ws);
    if (st) return st;
    if (p->ws_size && (st = dev_alloc(p, p->ws_size, &p->ws))) return st;
    if ((st = validate(p))) return st;
    capture(p);
    return VENSEG_OK;
}

static void describe_plan(vc_plan *p, const char *extra)
{
    struct cudaDeviceProp prop;
    char name[128] = "?";
    int major = 0, minor = 0;
    if (cudaGetDeviceProperties(&prop, p->device) == cudaSuccess) {
        snprintf(name, sizeof name, "%.100s", prop.name);
        major = prop.major;
        minor = prop.minor;
    }
    int convs = 0, fused = 0;
    for (int i = 0; i < p->n_steps; i++)
        if (p->steps[i].kind == K_CONV) {
            convs++;
            fused += p->steps[i].fused;
        }
    const size_t v = cudnnGetVersion();
    snprintf(p->description, sizeof p->description,
             "cuda: device %d %s (sm_%d%d), cudnn %zu.%zu.%zu, %s %s, batch %d, %d/%d convolutions fused, %s%s", p->device,
             name, major, minor, v / 10000, v / 100 % 100, v % 100, p->half ? "fp16" : p->tf32 ? "tf32" : "fp32",
             p->nhwc ? "NHWC" : "NCHW", p->batch, fused, convs, p->note, extra);
}

static void plan_free(void *vp)
{
    vc_plan *p = vp;
    if (!p) return;
    device_guard gd;
    if (enter(p, &gd) == VENSEG_OK) {
        release(p);
        leave(&gd);
    }
    vs_clear_error();
    free(p);
}

static int env_off(const char *name)
{
    const char *e = getenv(name);
    return e && strcmp(e, "0") == 0;
}

static venseg_status plan_create(const vs_graph *g, const vs_plan_config *cfg, void **out)
{
    if (cfg->precision != VENSEG_PRECISION_FP32 && cfg->precision != VENSEG_PRECISION_FP16)
        return vs_fail(VENSEG_E_UNSUPPORTED, "CUDA backend: fp32 (optionally TF32) and fp16 only");
    vc_plan *p = calloc(1, sizeof *p);
    if (!p) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "CUDA backend: out of host memory");
    p->g = g;
    p->packed = cfg->packed;
    p->batch = cfg->batch > 0 ? cfg->batch : 1;
    p->device = cfg->device;
    p->half = cfg->precision == VENSEG_PRECISION_FP16;
    p->tf32 = !p->half && cfg->allow_tf32;
    p->use_graph = !env_off("VENSEG_CUDA_GRAPHS");
    p->allow_fused = !env_off("VENSEG_CUDA_FUSED");
    device_guard gd;
    venseg_status st = enter(p, &gd);
    if (st) {
        free(p);
        return st;
    }
    /* tensor cores prefer NHWC; NCHW is the fallback when cuDNN refuses a layer in NHWC */
    p->nhwc = (p->half || p->tf32) && !env_off("VENSEG_CUDA_NHWC");
    st = build(p, cfg->height, cfg->width);
    char extra[200] = "";
    if (st && st != VENSEG_E_INVALID_ARGUMENT && st != VENSEG_E_OUT_OF_MEMORY && p->nhwc) {
        snprintf(extra, sizeof extra, " (NHWC refused: %.150s)", vc_last_error());
        release(p);
        p->nhwc = 0;
        vs_clear_error();
        st = build(p, cfg->height, cfg->width);
    }
    if (!st) describe_plan(p, extra);
    if (st) release(p);
    leave(&gd);
    if (st) {
        free(p);
        return st;
    }
    *out = p;
    return VENSEG_OK;
}

static venseg_status run(void *vp, const float *input, float *logits)
{
    vc_plan *p = vp;
    device_guard gd;
    venseg_status st = enter(p, &gd);
    if (st) return st;
    memcpy(p->h_in, input, p->in_count * 4);
    if (p->exec) {
        cudaError_t e = cudaGraphLaunch(p->exec, p->stream);
        if (e != cudaSuccess) st = cuda_error(e, "cudaGraphLaunch");
    } else {
        st = enqueue(p);
    }
    cudaError_t e = cudaStreamSynchronize(p->stream);
    if (!st && e != cudaSuccess) st = cuda_error(e, "run");
    if (!st) memcpy(logits, p->h_out, p->out_count * 4);
    leave(&gd);
    return st;
}

static const char *describe(const void *p) { return ((const vc_plan *)p)->description; }

const vs_backend_ops vc_backend_cuda = {
    VS_BACKEND_API_VERSION, VENSEG_BACKEND_CUDA, "cuda", plan_create, run, plan_free, describe, NULL,
};
