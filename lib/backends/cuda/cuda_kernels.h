/* The CUDA backend's own kernels (cuda_kernels.cu), callable from C. Every kernel
 * works on strided 4-D views, so one kernel serves NCHW and NHWC plans, channel
 * slices (concat without a separate copy of the whole tensor) and padded channels. */
#ifndef VENSEG_CUDA_KERNELS_H
#define VENSEG_CUDA_KERNELS_H

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vc_type { VC_F32 = 0, VC_F16 = 1 } vc_type;

/* A logical [n][c][h][w] tensor; strides in elements. */
typedef struct vc_view {
    void *data;
    vc_type type;
    int n, c, h, w;
    long long sn, sc, sh, sw;
} vc_view;

/* dst = src, converting the element type (same logical shape) */
cudaError_t vc_copy(cudaStream_t s, vc_view dst, vc_view src);
/* dst[n][c][y][x] = src[n][c][y / 2][x / 2] */
cudaError_t vc_upsample2x(cudaStream_t s, vc_view dst, vc_view src);
/* k x k max pooling, stride, padding that never wins (-inf) */
cudaError_t vc_maxpool(cudaStream_t s, vc_view dst, vc_view src, int k, int stride, int pad);
/* dst = act(src * scale[c] + shift[c]) */
cudaError_t vc_affine(cudaStream_t s, vc_view dst, vc_view src, const float *scale, const float *shift, int relu);
/* y = act(y + bias[c] + residual): the epilogue of a convolution cuDNN did not fuse
 * (bias may be NULL, residual.data may be NULL) */
cudaError_t vc_epilogue(cudaStream_t s, vc_view y, const float *bias, vc_view residual, int relu);
/* cudaSuccess when this device can run the kernels of this build (an image for its
 * architecture is in the fat binary) */
cudaError_t vc_kernels_check(void);

#ifdef __cplusplus
}
#endif

#endif
