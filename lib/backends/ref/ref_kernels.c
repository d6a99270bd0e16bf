/* Reference kernels. Convolution is im2col on chunks of VS_REF_COLS output pixels
 * followed by a 4-output-channel x 16-column register-blocked product; each output
 * is accumulated over (cin, ky, kx) in order by exactly one thread. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/ref/ref_kernels.h"

size_t vs_ref_conv_scratch(const vs_node *n)
{
    return (size_t)n->cin * n->kernel * n->kernel * VS_REF_COLS;
}

/* col[k][j] for j in [j0, j0 + cols) of the output, k = (ci, ky, kx). */
static void im2col(const vs_node *n, const float *x, int h, int w, int wo, int j0, int cols, float *col)
{
    const int k = n->kernel, s = n->stride, p = n->pad;
    size_t row = 0;
    for (int ci = 0; ci < n->cin; ci++) {
        const float *plane = x + (size_t)ci * h * w;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++, row++) {
                float *dst = col + row * VS_REF_COLS;
                for (int j = 0; j < cols; j++) {
                    int oy = (j0 + j) / wo, ox = (j0 + j) % wo;
                    int iy = oy * s - p + ky, ix = ox * s - p + kx;
                    dst[j] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? plane[(size_t)iy * w + ix] : 0.0f;
                }
            }
    }
}

static void finish(const vs_node *n, float v, size_t at, float *y, const float *residual)
{
    if (residual) v += residual[at];
    if (n->relu && v < 0.0f) v = 0.0f;
    y[at] = v;
}

void vs_ref_conv(const vs_node *n, const float *weight, const float *x, int h, int w, float *y, int ho, int wo,
                 const float *residual, float *scratch, int threads)
{
    const int K = n->cin * n->kernel * n->kernel, cout = n->cout;
    const size_t N = (size_t)ho * wo;
    const int direct = n->kernel == 1 && n->stride == 1 && n->pad == 0; /* x is its own col matrix */
    const int chunks = (int)((N + VS_REF_COLS - 1) / VS_REF_COLS);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int c = 0; c < chunks; c++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        const int j0 = c * VS_REF_COLS;
        const int cols = (int)((N - (size_t)j0) < VS_REF_COLS ? (N - (size_t)j0) : VS_REF_COLS);
        const float *col;
        size_t ld;
        if (direct) {
            col = x + j0;
            ld = N;
        } else {
            float *buf = scratch + (size_t)tid * vs_ref_conv_scratch(n);
            im2col(n, x, h, w, wo, j0, cols, buf);
            col = buf;
            ld = VS_REF_COLS;
        }
        for (int co = 0; co < cout; co += 4) {
            const int rows = cout - co < 4 ? cout - co : 4;
            for (int jb = 0; jb < cols; jb += 16) {
                const int jn = cols - jb < 16 ? cols - jb : 16;
                float acc[4][16];
                for (int r = 0; r < 4; r++)
                    for (int j = 0; j < 16; j++) acc[r][j] = 0.0f;
                const float *wr[4];
                for (int r = 0; r < 4; r++) wr[r] = weight + (size_t)(co + (r < rows ? r : 0)) * K;
                if (jn == 16) {
                    for (int kk = 0; kk < K; kk++) {
                        const float *cp = col + (size_t)kk * ld + jb;
                        const float w0 = wr[0][kk], w1 = wr[1][kk], w2 = wr[2][kk], w3 = wr[3][kk];
                        for (int j = 0; j < 16; j++) {
                            acc[0][j] += w0 * cp[j];
                            acc[1][j] += w1 * cp[j];
                            acc[2][j] += w2 * cp[j];
                            acc[3][j] += w3 * cp[j];
                        }
                    }
                } else {
                    for (int kk = 0; kk < K; kk++) {
                        const float *cp = col + (size_t)kk * ld + jb;
                        for (int r = 0; r < 4; r++)
                            for (int j = 0; j < jn; j++) acc[r][j] += wr[r][kk] * cp[j];
                    }
                }
                for (int r = 0; r < rows; r++) {
                    const float b = n->bias ? n->bias[co + r] : 0.0f;
                    for (int j = 0; j < jn; j++)
                        finish(n, acc[r][j] + b, (size_t)(co + r) * N + (size_t)(j0 + jb + j), y, residual);
                }
            }
        }
    }
}

void vs_ref_convt(const vs_node *n, const float *weight, const float *x, int h, int w, float *y, int ho, int wo,
                  int threads)
{
    const int k = n->kernel, s = n->stride, p = n->pad, cout = n->cout, cin = n->cin;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int co = 0; co < cout; co++) {
        float *out = y + (size_t)co * ho * wo;
        const float b = n->bias ? n->bias[co] : 0.0f;
        for (size_t i = 0; i < (size_t)ho * wo; i++) out[i] = b;
        for (int ci = 0; ci < cin; ci++) {
            const float *in = x + (size_t)ci * h * w;
            const float *wk = weight + ((size_t)ci * cout + co) * k * k;
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    const float wv = wk[ky * k + kx];
                    for (int iy = 0; iy < h; iy++) {
                        int oy = iy * s - p + ky;
                        if (oy < 0 || oy >= ho) continue;
                        for (int ix = 0; ix < w; ix++) {
                            int ox = ix * s - p + kx;
                            if (ox >= 0 && ox < wo) out[(size_t)oy * wo + ox] += in[(size_t)iy * w + ix] * wv;
                        }
                    }
                }
        }
        if (n->relu)
            for (size_t i = 0; i < (size_t)ho * wo; i++)
                if (out[i] < 0.0f) out[i] = 0.0f;
    }
}

void vs_ref_affine(const vs_node *n, const float *x, int h, int w, float *y, int threads)
{
    const size_t plane = (size_t)h * w;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int c = 0; c < n->cin; c++) {
        const float s = n->scale[c], t = n->bias[c];
        for (size_t i = 0; i < plane; i++) {
            float v = x[c * plane + i] * s + t;
            y[c * plane + i] = (n->relu && v < 0.0f) ? 0.0f : v;
        }
    }
}

void vs_ref_maxpool(const vs_node *n, const float *x, int h, int w, float *y, int ho, int wo, int threads)
{
    const int k = n->kernel, s = n->stride, p = n->pad;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int c = 0; c < n->cin; c++) {
        const float *in = x + (size_t)c * h * w;
        float *out = y + (size_t)c * ho * wo;
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float m = -INFINITY;
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * s - p + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ox * s - p + kx;
                        if (ix >= 0 && ix < w && in[(size_t)iy * w + ix] > m) m = in[(size_t)iy * w + ix];
                    }
                }
                out[(size_t)oy * wo + ox] = m;
            }
    }
}

void vs_ref_upsample2x(int channels, const float *x, int h, int w, float *y, int threads)
{
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int c = 0; c < channels; c++)
        for (int oy = 0; oy < 2 * h; oy++) {
            const float *in = x + ((size_t)c * h + oy / 2) * w;
            float *out = y + ((size_t)c * 2 * h + oy) * 2 * w;
            for (int ox = 0; ox < 2 * w; ox++) out[ox] = in[ox / 2];
        }
}

void vs_ref_concat(int c0, const float *x0, int c1, const float *x1, int h, int w, float *y)
{
    const size_t plane = (size_t)h * w;
    memcpy(y, x0, (size_t)c0 * plane * sizeof *y);
    memcpy(y + (size_t)c0 * plane, x1, (size_t)c1 * plane * sizeof *y);
}
