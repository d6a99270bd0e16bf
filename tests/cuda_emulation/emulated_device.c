/* An emulated CUDA device for tests/cuda_emulation: the CUDA runtime and cuDNN calls
 * of lib/backends/cuda/cuda_backend.c, and the kernels of cuda_kernels.h, implemented
 * on the CPU with plain loops (direct convolution sums in double). It checks what real
 * cuDNN checks (descriptor shapes against each other, data types, layouts), so the
 * backend's host-side lowering - descriptors, filter layouts, channel padding, NHWC
 * strides, concat slices, fused/unfused epilogues, the fallbacks - runs and is compared
 * with the reference backend on a machine without a GPU. Device memory is host memory
 * filled with NaN, so reading what was never written shows. Streams are synchronous and
 * graph capture is refused (the eager path runs).
 * Switches (environment): VENSEG_EMU_NO_FUSED=1 refuses cudnnConvolutionBiasActivation-
 * Forward; VENSEG_EMU_NO_NHWC=1 refuses NHWC convolutions. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "backends/cuda/cuda_kernels.h"

/* ------------------------------------------------------------------ half */

static float h2f(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0 && man == 0) bits = sign;
    else if (exp == 0) {
        float v = ldexpf((float)man, -24);
        return sign ? -v : v;
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 112) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t f2h(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    if (isnan(f)) return sign | 0x7e00u;
    float a = fabsf(f);
    if (a >= 65520.0f) return sign | 0x7c00u;
    if (a < ldexpf(1.0f, -14)) { /* subnormal: multiples of 2^-24, round half to even */
        float q = a * 16777216.0f;
        float r = nearbyintf(q);
        return sign | (uint16_t)r;
    }
    int e;
    float m = frexpf(a, &e); /* a = m * 2^e, m in [0.5, 1) */
    float q = nearbyintf(m * 2048.0f); /* 11 significant bits */
    if (q >= 2048.0f) q /= 2, e++;
    uint16_t exp = (uint16_t)(e - 1 + 15);
    if (exp >= 31) return sign | 0x7c00u;
    return sign | (uint16_t)(exp << 10) | ((uint16_t)q & 0x3ffu);
}

/* ------------------------------------------------------------------ runtime */

struct CUstream_st {
    int unused;
};

cudaError_t cudaGetDevice(int *device)
{
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidDevice; }

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    *p = malloc(bytes);
    if (!*p) return cudaErrorMemoryAllocation;
    memset(*p, 0xff, bytes); /* NaN in f32 and f16 */
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    free(p);
    return cudaSuccess;
}

cudaError_t cudaHostAlloc(void **p, size_t bytes, unsigned int flags)
{
    (void)flags;
    return cudaMalloc(p, bytes);
}

cudaError_t cudaFreeHost(void *p) { return cudaFree(p); }

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind, cudaStream_t s)
{
    (void)kind, (void)s;
    memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s)
{
    (void)s;
    memset(p, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    (void)s;
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags)
{
    (void)flags;
    *s = calloc(1, sizeof **s);
    return *s ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    free(s);
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total)
{
    *free_b = (size_t)1 << 30;
    *total = (size_t)1 << 31;
    return cudaSuccess;
}

const char *cudaGetErrorName(cudaError_t e) { return e == cudaSuccess ? "cudaSuccess" : "cudaErrorEmulated"; }
const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated device error"; }
cudaError_t cudaGetLastError(void) { return cudaSuccess; }

cudaError_t cudaStreamBeginCapture(cudaStream_t s, enum cudaStreamCaptureMode mode)
{
    (void)s, (void)mode;
    return cudaErrorStreamCaptureUnsupported;
}

cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g)
{
    (void)s;
    *g = NULL;
    return cudaErrorStreamCaptureUnsupported;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long flags)
{
    (void)g, (void)flags;
    *e = NULL;
    return cudaErrorNotSupported;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s)
{
    (void)e, (void)s;
    return cudaErrorNotSupported;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e)
{
    (void)e;
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
    (void)g;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    (void)device;
    memset(prop, 0, sizeof *prop);
    strcpy(prop->name, "emulated device");
    prop->major = 9;
    return cudaSuccess;
}

/* ------------------------------------------------------------------ cuDNN */

struct cudnnContext {
    cudaStream_t stream;
};
struct cudnnTensorStruct {
    cudnnTensorFormat_t fmt;
    cudnnDataType_t type;
    int n, c, h, w;
};
struct cudnnFilterStruct {
    cudnnTensorFormat_t fmt;
    cudnnDataType_t type;
    int k, c, r, s;
};
struct cudnnConvolutionStruct {
    int pad_h, pad_w, u, v, dil_h, dil_w;
    cudnnConvolutionMode_t mode;
    cudnnDataType_t compute;
    cudnnMathType_t math;
};
struct cudnnActivationStruct {
    cudnnActivationMode_t mode;
};

#define EMU_CREATE(type, name)               \
    cudnnStatus_t name(type *d)              \
    {                                        \
        *d = calloc(1, sizeof **d);          \
        return *d ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED; \
    }
#define EMU_DESTROY(type, name) \
    cudnnStatus_t name(type d)  \
    {                           \
        free(d);                \
        return CUDNN_STATUS_SUCCESS; \
    }
EMU_CREATE(cudnnHandle_t, cudnnCreate)
EMU_DESTROY(cudnnHandle_t, cudnnDestroy)
EMU_CREATE(cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor)
EMU_DESTROY(cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor)
EMU_CREATE(cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor)
EMU_DESTROY(cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor)
EMU_CREATE(cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor)
EMU_DESTROY(cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor)
EMU_CREATE(cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor)
EMU_DESTROY(cudnnActivationDescriptor_t, cudnnDestroyActivationDescriptor)

cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s)
{
    h->stream = s;
    return CUDNN_STATUS_SUCCESS;
}

size_t cudnnGetVersion(void) { return CUDNN_VERSION; }
const char *cudnnGetErrorString(cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS ? "CUDNN_STATUS_SUCCESS" : "CUDNN_STATUS_EMULATED_ERROR"; }

static int type_ok(cudnnDataType_t t) { return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_HALF; }

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t fmt, cudnnDataType_t type, int n,
                                         int c, int h, int w)
{
    if (!type_ok(type) || (fmt != CUDNN_TENSOR_NCHW && fmt != CUDNN_TENSOR_NHWC) || n < 1 || c < 1 || h < 1 || w < 1)
        return CUDNN_STATUS_BAD_PARAM;
    d->fmt = fmt, d->type = type, d->n = n, d->c = c, d->h = h, d->w = w;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t type, cudnnTensorFormat_t fmt, int k,
                                         int c, int r, int s)
{
    if (!type_ok(type) || (fmt != CUDNN_TENSOR_NCHW && fmt != CUDNN_TENSOR_NHWC) || k < 1 || c < 1 || r < 1 || s < 1)
        return CUDNN_STATUS_BAD_PARAM;
    d->fmt = fmt, d->type = type, d->k = k, d->c = c, d->r = r, d->s = s;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
                                              int dil_h, int dil_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t compute)
{
    if (pad_h < 0 || pad_w < 0 || u < 1 || v < 1 || dil_h != 1 || dil_w != 1 || compute != CUDNN_DATA_FLOAT)
        return CUDNN_STATUS_BAD_PARAM;
    d->pad_h = pad_h, d->pad_w = pad_w, d->u = u, d->v = v, d->dil_h = dil_h, d->dil_w = dil_w, d->mode = mode;
    d->compute = compute;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m)
{
    d->math = m;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetActivationDescriptor(cudnnActivationDescriptor_t d, cudnnActivationMode_t mode,
                                           cudnnNanPropagation_t nan, double coef)
{
    (void)nan, (void)coef;
    d->mode = mode;
    return CUDNN_STATUS_SUCCESS;
}

static int env_on(const char *name)
{
    const char *e = getenv(name);
    return e && strcmp(e, "1") == 0;
}

static size_t t_at(cudnnTensorDescriptor_t d, int n, int c, int y, int x)
{
    return d->fmt == CUDNN_TENSOR_NHWC ? (((size_t)n * d->h + y) * d->w + x) * d->c + c
                                       : (((size_t)n * d->c + c) * d->h + y) * d->w + x;
}

static size_t f_at(cudnnFilterDescriptor_t d, int k, int c, int r, int s)
{
    return d->fmt == CUDNN_TENSOR_NHWC ? (((size_t)k * d->r + r) * d->s + s) * d->c + c
                                       : (((size_t)k * d->c + c) * d->r + r) * d->s + s;
}

static double ld(cudnnDataType_t t, const void *p, size_t i)
{
    return t == CUDNN_DATA_HALF ? h2f(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}

static void st(cudnnDataType_t t, void *p, size_t i, double v)
{
    if (t == CUDNN_DATA_HALF) ((uint16_t *)p)[i] = f2h((float)v);
    else ((float *)p)[i] = (float)v;
}

/* What real cuDNN checks before running: shapes, types and layouts agree. */
static cudnnStatus_t check(cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t c,
                           cudnnTensorDescriptor_t y)
{
    if (x->type != w->type || x->type != y->type || x->fmt != y->fmt || x->fmt != w->fmt || x->c != w->c ||
        y->c != w->k || x->n != y->n || c->mode != CUDNN_CROSS_CORRELATION)
        return CUDNN_STATUS_BAD_PARAM;
    if ((y->h != (x->h + 2 * c->pad_h - w->r) / c->u + 1) || (y->w != (x->w + 2 * c->pad_w - w->s) / c->v + 1))
        return CUDNN_STATUS_BAD_PARAM;
    if (x->fmt == CUDNN_TENSOR_NHWC && env_on("VENSEG_EMU_NO_NHWC")) return CUDNN_STATUS_NOT_SUPPORTED;
    return CUDNN_STATUS_SUCCESS;
}

static double conv_at(cudnnTensorDescriptor_t xd, const void *x, cudnnFilterDescriptor_t wd, const void *w,
                      cudnnConvolutionDescriptor_t cd, int n, int k, int oy, int ox)
{
    double acc = 0;
    for (int c = 0; c < wd->c; c++)
        for (int r = 0; r < wd->r; r++) {
            int iy = oy * cd->u - cd->pad_h + r;
            if (iy < 0 || iy >= xd->h) continue;
            for (int s = 0; s < wd->s; s++) {
                int ix = ox * cd->v - cd->pad_w + s;
                if (ix < 0 || ix >= xd->w) continue;
                acc += ld(xd->type, x, t_at(xd, n, c, iy, ix)) * ld(wd->type, w, f_at(wd, k, c, r, s));
            }
        }
    return acc;
}

cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t h, const cudnnTensorDescriptor_t xd, const void *x,
                                                     const cudnnFilterDescriptor_t wd, const void *w,
                                                     const cudnnConvolutionDescriptor_t cd,
                                                     const cudnnTensorDescriptor_t yd, void *y, const int requested,
                                                     int *returned, cudnnConvolutionFwdAlgoPerf_t *perf, void *ws,
                                                     size_t ws_size)
{
    (void)h, (void)x, (void)w, (void)y, (void)ws, (void)ws_size;
    cudnnStatus_t s = check(xd, wd, cd, yd);
    if (s == CUDNN_STATUS_BAD_PARAM) return s;
    *returned = requested > 0 ? 1 : 0;
    memset(perf, 0, sizeof *perf);
    perf->algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    perf->status = s;
    perf->memory = 256;
    perf->determinism = CUDNN_DETERMINISTIC;
    perf->mathType = cd->math;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t h, const cudnnFilterDescriptor_t wd,
                                                          const void *w, const cudnnTensorDescriptor_t dyd,
                                                          const void *dy, const cudnnConvolutionDescriptor_t cd,
                                                          const cudnnTensorDescriptor_t dxd, void *dx,
                                                          const int requested, int *returned,
                                                          cudnnConvolutionBwdDataAlgoPerf_t *perf, void *ws,
                                                          size_t ws_size)
{
    (void)h, (void)w, (void)dy, (void)dx, (void)ws, (void)ws_size;
    cudnnStatus_t s = check(dxd, wd, cd, dyd); /* the forward convolution from dx to dy */
    if (s == CUDNN_STATUS_BAD_PARAM) return s;
    *returned = requested > 0 ? 2 : 0;
    memset(perf, 0, 2 * sizeof *perf);
    perf[0].algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_0; /* non-deterministic: the backend must skip it */
    perf[0].status = s;
    perf[0].determinism = CUDNN_NON_DETERMINISTIC;
    perf[0].mathType = cd->math;
    perf[1] = perf[0];
    perf[1].algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
    perf[1].determinism = CUDNN_DETERMINISTIC;
    return CUDNN_STATUS_SUCCESS;
}

static cudnnStatus_t forward(cudnnTensorDescriptor_t xd, const void *x, cudnnFilterDescriptor_t wd, const void *w,
                             cudnnConvolutionDescriptor_t cd, size_t ws_size, double alpha1, double alpha2,
                             const void *z, cudnnTensorDescriptor_t bd, const void *bias, int relu,
                             cudnnTensorDescriptor_t yd, void *y, double beta)
{
    cudnnStatus_t s = check(xd, wd, cd, yd);
    if (s) return s;
    if (ws_size < 256) return CUDNN_STATUS_BAD_PARAM; /* the workspace Find asked for */
    if (bd && (bd->c != yd->c || bd->n != 1 || bd->h != 1 || bd->w != 1 || bd->type != yd->type))
        return CUDNN_STATUS_BAD_PARAM;
    for (int n = 0; n < yd->n; n++)
        for (int k = 0; k < yd->c; k++)
            for (int oy = 0; oy < yd->h; oy++)
                for (int ox = 0; ox < yd->w; ox++) {
                    size_t at = t_at(yd, n, k, oy, ox);
                    double v = alpha1 * conv_at(xd, x, wd, w, cd, n, k, oy, ox);
                    if (alpha2 != 0) v += alpha2 * ld(yd->type, z, at);
                    if (beta != 0) v += beta * ld(yd->type, y, at);
                    if (bias) v += ld(bd->type, bias, (size_t)k);
                    if (relu && v < 0) v = 0;
                    st(yd->type, y, at, v);
                }
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t xd, const void *x,
                                      const cudnnFilterDescriptor_t wd, const void *w,
                                      const cudnnConvolutionDescriptor_t cd, cudnnConvolutionFwdAlgo_t algo, void *ws,
                                      size_t ws_size, const void *beta, const cudnnTensorDescriptor_t yd, void *y)
{
    (void)h, (void)algo, (void)ws;
    return forward(xd, x, wd, w, cd, ws_size, *(const float *)alpha, 0, NULL, NULL, NULL, 0, yd, y, *(const float *)beta);
}

cudnnStatus_t cudnnConvolutionBiasActivationForward(cudnnHandle_t h, const void *alpha1, const cudnnTensorDescriptor_t xd,
                                                    const void *x, const cudnnFilterDescriptor_t wd, const void *w,
                                                    const cudnnConvolutionDescriptor_t cd,
                                                    cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_size,
                                                    const void *alpha2, const cudnnTensorDescriptor_t zd, const void *z,
                                                    const cudnnTensorDescriptor_t bd, const void *bias,
                                                    const cudnnActivationDescriptor_t ad,
                                                    const cudnnTensorDescriptor_t yd, void *y)
{
    (void)h, (void)algo, (void)ws;
    if (env_on("VENSEG_EMU_NO_FUSED")) return CUDNN_STATUS_NOT_SUPPORTED;
    if (zd->c != yd->c || zd->h != yd->h || zd->w != yd->w || zd->fmt != yd->fmt || zd->type != yd->type)
        return CUDNN_STATUS_BAD_PARAM;
    if (ad->mode != CUDNN_ACTIVATION_RELU) return CUDNN_STATUS_NOT_SUPPORTED;
    return forward(xd, x, wd, w, cd, ws_size, *(const float *)alpha1, *(const float *)alpha2, z, bd, bias, 1, yd, y, 0);
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void *alpha, const cudnnFilterDescriptor_t wd,
                                           const void *w, const cudnnTensorDescriptor_t dyd, const void *dy,
                                           const cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdDataAlgo_t algo,
                                           void *ws, size_t ws_size, const void *beta,
                                           const cudnnTensorDescriptor_t dxd, void *dx)
{
    (void)h, (void)ws, (void)ws_size;
    cudnnStatus_t s = check(dxd, wd, cd, dyd);
    if (s) return s;
    if (algo != CUDNN_CONVOLUTION_BWD_DATA_ALGO_1) return CUDNN_STATUS_BAD_PARAM;
    const size_t count = (size_t)dxd->n * dxd->c * dxd->h * dxd->w;
    double *acc = calloc(count, sizeof *acc);
    if (!acc) return CUDNN_STATUS_ALLOC_FAILED;
    for (int n = 0; n < dyd->n; n++)
        for (int k = 0; k < dyd->c; k++)
            for (int oy = 0; oy < dyd->h; oy++)
                for (int ox = 0; ox < dyd->w; ox++) {
                    const double g = ld(dyd->type, dy, t_at(dyd, n, k, oy, ox));
                    for (int c = 0; c < wd->c; c++)
                        for (int r = 0; r < wd->r; r++) {
                            int iy = oy * cd->u - cd->pad_h + r;
                            if (iy < 0 || iy >= dxd->h) continue;
                            for (int q = 0; q < wd->s; q++) {
                                int ix = ox * cd->v - cd->pad_w + q;
                                if (ix < 0 || ix >= dxd->w) continue;
                                acc[t_at(dxd, n, c, iy, ix)] += g * ld(wd->type, w, f_at(wd, k, c, r, q));
                            }
                        }
                }
    const double a = *(const float *)alpha, b = *(const float *)beta;
    for (size_t i = 0; i < count; i++) st(dxd->type, dx, i, a * acc[i] + (b != 0 ? b * ld(dxd->type, dx, i) : 0));
    free(acc);
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------ kernels */

static double vld(const vc_view *v, int n, int c, int y, int x)
{
    size_t i = (size_t)(n * v->sn + c * v->sc + y * v->sh + x * v->sw);
    return v->type == VC_F16 ? h2f(((const uint16_t *)v->data)[i]) : ((const float *)v->data)[i];
}

static void vst(const vc_view *v, int n, int c, int y, int x, double value)
{
    size_t i = (size_t)(n * v->sn + c * v->sc + y * v->sh + x * v->sw);
    if (v->type == VC_F16) ((uint16_t *)v->data)[i] = f2h((float)value);
    else ((float *)v->data)[i] = (float)value;
}

#define FOR_EACH(v) \
    for (int n = 0; n < (v).n; n++) for (int c = 0; c < (v).c; c++) for (int y = 0; y < (v).h; y++) for (int x = 0; x < (v).w; x++)

cudaError_t vc_copy(cudaStream_t s, vc_view dst, vc_view src)
{
    (void)s;
    if (dst.n != src.n || dst.c != src.c || dst.h != src.h || dst.w != src.w) return cudaErrorInvalidValue;
    FOR_EACH(dst) vst(&dst, n, c, y, x, vld(&src, n, c, y, x));
    return cudaSuccess;
}

cudaError_t vc_upsample2x(cudaStream_t s, vc_view dst, vc_view src)
{
    (void)s;
    if (dst.h != 2 * src.h || dst.w != 2 * src.w || dst.c != src.c) return cudaErrorInvalidValue;
    FOR_EACH(dst) vst(&dst, n, c, y, x, vld(&src, n, c, y / 2, x / 2));
    return cudaSuccess;
}

cudaError_t vc_maxpool(cudaStream_t s, vc_view dst, vc_view src, int k, int stride, int pad)
{
    (void)s;
    FOR_EACH(dst) {
        double m = -INFINITY;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                int iy = y * stride - pad + ky, ix = x * stride - pad + kx;
                if (iy >= 0 && iy < src.h && ix >= 0 && ix < src.w) m = fmax(m, vld(&src, n, c, iy, ix));
            }
        vst(&dst, n, c, y, x, m);
    }
    return cudaSuccess;
}

cudaError_t vc_affine(cudaStream_t s, vc_view dst, vc_view src, const float *scale, const float *shift, int relu)
{
    (void)s;
    FOR_EACH(dst) {
        double v = (float)vld(&src, n, c, y, x) * scale[c] + shift[c];
        vst(&dst, n, c, y, x, relu && v < 0 ? 0 : v);
    }
    return cudaSuccess;
}

cudaError_t vc_epilogue(cudaStream_t s, vc_view yv, const float *bias, vc_view res, int relu)
{
    (void)s;
    FOR_EACH(yv) {
        double v = vld(&yv, n, c, y, x);
        if (bias) v += bias[c];
        if (res.data) v += vld(&res, n, c, y, x);
        vst(&yv, n, c, y, x, relu && v < 0 ? 0 : v);
    }
    return cudaSuccess;
}

cudaError_t vc_kernels_check(void) { return cudaSuccess; }
