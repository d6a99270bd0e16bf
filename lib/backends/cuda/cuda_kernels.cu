// The CUDA backend's element-wise and data-movement kernels. Each thread handles
// elements of the output in memory order (channels fastest for NHWC views), reading
// and writing through the views' strides; arithmetic is in fp32 for both types.
#include <cuda_fp16.h>
#include <math.h>

#include "backends/cuda/cuda_kernels.h"

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float load(const float *p) { return *p; }
__device__ __forceinline__ float load(const __half *p) { return __half2float(*p); }
__device__ __forceinline__ void store(float *p, float v) { *p = v; }
__device__ __forceinline__ void store(__half *p, float v) { *p = __float2half_rn(v); }

struct Pos {
    int n, c, y, x;
};

// Element i of v's logical shape, enumerated in v's memory order.
__device__ __forceinline__ Pos position(const vc_view &v, long long i)
{
    Pos p;
    if (v.sc == 1 && v.c > 1) { // NHWC
        p.c = (int)(i % v.c);
        i /= v.c;
        p.x = (int)(i % v.w);
        i /= v.w;
        p.y = (int)(i % v.h);
        p.n = (int)(i / v.h);
    } else {
        p.x = (int)(i % v.w);
        i /= v.w;
        p.y = (int)(i % v.h);
        i /= v.h;
        p.c = (int)(i % v.c);
        p.n = (int)(i / v.c);
    }
    return p;
}

__device__ __forceinline__ long long offset(const vc_view &v, int n, int c, int y, int x)
{
    return n * v.sn + c * v.sc + y * v.sh + x * v.sw;
}

long long count(const vc_view &v) { return (long long)v.n * v.c * v.h * v.w; }

unsigned blocks(long long total)
{
    long long b = (total + kThreads - 1) / kThreads;
    return (unsigned)(b < 1 ? 1 : b > (1LL << 20) ? (1LL << 20) : b);
}

#define GRID_LOOP(total) \
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (total); i += (long long)gridDim.x * blockDim.x)

template <typename D, typename S>
__global__ void copy_k(vc_view dst, vc_view src, long long total)
{
    GRID_LOOP(total)
    {
        Pos p = position(dst, i);
        store((D *)dst.data + offset(dst, p.n, p.c, p.y, p.x), load((const S *)src.data + offset(src, p.n, p.c, p.y, p.x)));
    }
}

template <typename T>
__global__ void upsample_k(vc_view dst, vc_view src, long long total)
{
    GRID_LOOP(total)
    {
        Pos p = position(dst, i);
        ((T *)dst.data)[offset(dst, p.n, p.c, p.y, p.x)] = ((const T *)src.data)[offset(src, p.n, p.c, p.y >> 1, p.x >> 1)];
    }
}

template <typename T>
__global__ void maxpool_k(vc_view dst, vc_view src, int k, int stride, int pad, long long total)
{
    GRID_LOOP(total)
    {
        Pos p = position(dst, i);
        float m = -INFINITY;
        for (int ky = 0; ky < k; ky++) {
            int iy = p.y * stride - pad + ky;
            if (iy < 0 || iy >= src.h) continue;
            for (int kx = 0; kx < k; kx++) {
                int ix = p.x * stride - pad + kx;
                if (ix < 0 || ix >= src.w) continue;
                m = fmaxf(m, load((const T *)src.data + offset(src, p.n, p.c, iy, ix)));
            }
        }
        store((T *)dst.data + offset(dst, p.n, p.c, p.y, p.x), m);
    }
}

template <typename T>
__global__ void affine_k(vc_view dst, vc_view src, const float *scale, const float *shift, int relu, long long total)
{
    GRID_LOOP(total)
    {
        Pos p = position(dst, i);
        float v = load((const T *)src.data + offset(src, p.n, p.c, p.y, p.x)) * scale[p.c] + shift[p.c];
        store((T *)dst.data + offset(dst, p.n, p.c, p.y, p.x), relu && v < 0.0f ? 0.0f : v);
    }
}

template <typename T>
__global__ void epilogue_k(vc_view y, const float *bias, vc_view res, int relu, long long total)
{
    GRID_LOOP(total)
    {
        Pos p = position(y, i);
        T *at = (T *)y.data + offset(y, p.n, p.c, p.y, p.x);
        float v = load(at);
        if (bias) v += bias[p.c];
        if (res.data) v += load((const T *)res.data + offset(res, p.n, p.c, p.y, p.x));
        store(at, relu && v < 0.0f ? 0.0f : v);
    }
}

cudaError_t launched() { return cudaGetLastError(); }

} // namespace

extern "C" cudaError_t vc_copy(cudaStream_t s, vc_view dst, vc_view src)
{
    const long long t = count(dst);
    if (dst.type == VC_F32 && src.type == VC_F32) copy_k<float, float><<<blocks(t), kThreads, 0, s>>>(dst, src, t);
    else if (dst.type == VC_F16 && src.type == VC_F32) copy_k<__half, float><<<blocks(t), kThreads, 0, s>>>(dst, src, t);
    else if (dst.type == VC_F32 && src.type == VC_F16) copy_k<float, __half><<<blocks(t), kThreads, 0, s>>>(dst, src, t);
    else copy_k<__half, __half><<<blocks(t), kThreads, 0, s>>>(dst, src, t);
    return launched();
}

extern "C" cudaError_t vc_upsample2x(cudaStream_t s, vc_view dst, vc_view src)
{
    const long long t = count(dst);
    if (dst.type == VC_F16) upsample_k<__half><<<blocks(t), kThreads, 0, s>>>(dst, src, t);
    else upsample_k<float><<<blocks(t), kThreads, 0, s>>>(dst, src, t);
    return launched();
}

extern "C" cudaError_t vc_maxpool(cudaStream_t s, vc_view dst, vc_view src, int k, int stride, int pad)
{
    const long long t = count(dst);
    if (dst.type == VC_F16) maxpool_k<__half><<<blocks(t), kThreads, 0, s>>>(dst, src, k, stride, pad, t);
    else maxpool_k<float><<<blocks(t), kThreads, 0, s>>>(dst, src, k, stride, pad, t);
    return launched();
}

extern "C" cudaError_t vc_affine(cudaStream_t s, vc_view dst, vc_view src, const float *scale, const float *shift, int relu)
{
    const long long t = count(dst);
    if (dst.type == VC_F16) affine_k<__half><<<blocks(t), kThreads, 0, s>>>(dst, src, scale, shift, relu, t);
    else affine_k<float><<<blocks(t), kThreads, 0, s>>>(dst, src, scale, shift, relu, t);
    return launched();
}

extern "C" cudaError_t vc_epilogue(cudaStream_t s, vc_view y, const float *bias, vc_view residual, int relu)
{
    const long long t = count(y);
    if (y.type == VC_F16) epilogue_k<__half><<<blocks(t), kThreads, 0, s>>>(y, bias, residual, relu, t);
    else epilogue_k<float><<<blocks(t), kThreads, 0, s>>>(y, bias, residual, relu, t);
    return launched();
}

extern "C" cudaError_t vc_kernels_check(void)
{
    cudaFuncAttributes a;
    return cudaFuncGetAttributes(&a, copy_k<float, float>);
}
