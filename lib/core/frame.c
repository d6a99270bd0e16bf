/* Frames: validation, pre- and post-processing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"

int vs_pixel_size(venseg_pixel_format format)
{
    switch (format) {
    case VENSEG_PIXEL_GRAY8: return 1;
    case VENSEG_PIXEL_RGB8:
    case VENSEG_PIXEL_BGR8: return 3;
    case VENSEG_PIXEL_GRAY16: return 2;
    case VENSEG_PIXEL_FLOAT32: return 4;
    }
    return 0;
}

venseg_status vs_check_size(const char *fn, int32_t width, int32_t height)
{
    if (width < 1 || height < 1 || width > VS_MAX_FRAME_SIDE || height > VS_MAX_FRAME_SIDE)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: frame %d x %d outside [1, %d]", fn, width, height,
                       VS_MAX_FRAME_SIDE);
    return VENSEG_OK;
}

venseg_status vs_check_stride(const char *fn, const char *what, int64_t stride, int64_t min_stride, int32_t height,
                              int64_t planes)
{
    if (stride < min_stride)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s %lld < %lld, the length of a row", fn, what,
                       (long long)stride, (long long)min_stride);
    if (stride > INT64_MAX / planes / height)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %s %lld overflows over %d rows", fn, what, (long long)stride,
                       height);
    return VENSEG_OK;
}

venseg_status vs_check_frame(const char *fn, venseg_pixel_format format, int32_t width, int32_t height,
                             int64_t row_stride, int *bpp)
{
    const int size = vs_pixel_size(format);
    if (!size) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: unknown pixel format %d", fn, (int)format);
    venseg_status st = vs_check_size(fn, width, height);
    if (!st) st = vs_check_stride(fn, "row_stride", row_stride, (int64_t)width * size, height, 1);
    if (!st && bpp) *bpp = size;
    return st;
}

venseg_status vs_check_tensor(const char *fn, int32_t channels, int32_t height, int32_t width, int model_channels,
                              int multiple)
{
    if (channels != model_channels)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %d channels, the model takes %d", fn, channels, model_channels);
    if (height < multiple || width < multiple || height > VS_MAX_TENSOR_SIDE || width > VS_MAX_TENSOR_SIDE ||
        height % multiple || width % multiple)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "%s: %d x %d must be multiples of %d in [%d, %d]", fn, width,
                       height, multiple, multiple, VS_MAX_TENSOR_SIDE);
    return VENSEG_OK;
}

void vs_mapping_init(vs_mapping *m, int rw, int rh, int nw, int nh, int letterbox)
{
    m->rw = rw;
    m->rh = rh;
    m->nw = nw;
    m->nh = nh;
    m->sx = (double)nw / rw;
    m->sy = (double)nh / rh;
    m->ox = m->oy = 0.0;
    if (letterbox) {
        double s = m->sx < m->sy ? m->sx : m->sy;
        m->sx = m->sy = s;
        m->ox = (nw - rw * s) / 2.0;
        m->oy = (nh - rh * s) / 2.0;
    }
}

/* Intensity of channel c (0..2, RGB order) at integer pixel (x, y), 0..255 units. */
static float pixel(const uint8_t *base, venseg_pixel_format f, int64_t stride, int x, int y, int c, int gray_out)
{
    const uint8_t *row = base + (int64_t)y * stride;
    switch (f) {
    case VENSEG_PIXEL_GRAY8: return row[x];
    case VENSEG_PIXEL_GRAY16: {
        uint16_t v;
        memcpy(&v, row + 2 * (size_t)x, 2);
        return v / 257.0f;
    }
    case VENSEG_PIXEL_FLOAT32: {
        float v;
        memcpy(&v, row + 4 * (size_t)x, 4);
        return isfinite(v) ? v * 255.0f : 0.0f;
    }
    case VENSEG_PIXEL_RGB8:
    case VENSEG_PIXEL_BGR8: {
        const uint8_t *p = row + 3 * (size_t)x;
        int r = f == VENSEG_PIXEL_RGB8 ? p[0] : p[2], b = f == VENSEG_PIXEL_RGB8 ? p[2] : p[0];
        if (gray_out) return 0.299f * r + 0.587f * p[1] + 0.114f * b; /* BT.601 luma */
        return c == 0 ? r : c == 1 ? p[1] : b;
    }
    }
    return 0.0f;
}

/* Source coordinate of a destination pixel centre, clamped to [0, n - 1]; i0, i1, t. */
static void source(double d, int n, int *i0, int *i1, float *t)
{
    if (d < 0) d = 0;
    if (d > n - 1) d = n - 1;
    *i0 = (int)d;
    *i1 = *i0 + 1 < n ? *i0 + 1 : *i0;
    *t = (float)(d - *i0);
}

void vs_frame_to_tensor(const void *pixels, venseg_pixel_format format, int64_t row_stride, const vs_mapping *m,
                        int channels, double scale, const double *mean, const double *std, float *tensor)
{
    const uint8_t *base = pixels;
    const size_t plane = (size_t)m->nw * m->nh;
    for (int y = 0; y < m->nh; y++) {
        double fy = (y + 0.5 - m->oy) / m->sy;
        int inside_y = fy >= 0 && fy <= m->rh;
        int y0, y1;
        float ty;
        source(fy - 0.5, m->rh, &y0, &y1, &ty);
        for (int x = 0; x < m->nw; x++) {
            double fx = (x + 0.5 - m->ox) / m->sx;
            int inside = inside_y && fx >= 0 && fx <= m->rw;
            int x0, x1;
            float tx;
            source(fx - 0.5, m->rw, &x0, &x1, &tx);
            for (int c = 0; c < channels; c++) {
                float v = 0.0f;
                if (inside) {
                    int g = channels == 1;
                    float a = pixel(base, format, row_stride, x0, y0, c, g), b = pixel(base, format, row_stride, x1, y0, c, g);
                    float d = pixel(base, format, row_stride, x0, y1, c, g), e = pixel(base, format, row_stride, x1, y1, c, g);
                    float top = a + (b - a) * tx, bottom = d + (e - d) * tx;
                    v = top + (bottom - top) * ty;
                }
                tensor[c * plane + (size_t)y * m->nw + x] = (float)((v * scale - mean[c]) / std[c]);
            }
        }
    }
}

int vs_maps_to_frame(const float *maps, int planes, const vs_mapping *m, float *out)
{
    const size_t in_plane = (size_t)m->nw * m->nh, out_plane = (size_t)m->rw * m->rh;
    /* the columns' sources are the same on every row: found once, not rw * rh times */
    int *col = malloc((size_t)m->rw * 2 * sizeof *col);
    float *col_t = malloc((size_t)m->rw * sizeof *col_t);
    if (!col || !col_t) {
        free(col);
        free(col_t);
        return -1;
    }
    for (int x = 0; x < m->rw; x++) source((x + 0.5) * m->sx + m->ox - 0.5, m->nw, &col[2 * x], &col[2 * x + 1], &col_t[x]);
    for (int y = 0; y < m->rh; y++) {
        int y0, y1;
        float ty;
        source((y + 0.5) * m->sy + m->oy - 0.5, m->nh, &y0, &y1, &ty);
        for (int p = 0; p < planes; p++) {
            const float *r0 = maps + p * in_plane + (size_t)y0 * m->nw, *r1 = maps + p * in_plane + (size_t)y1 * m->nw;
            float *dst = out + p * out_plane + (size_t)y * m->rw;
            for (int x = 0; x < m->rw; x++) {
                const int x0 = col[2 * x], x1 = col[2 * x + 1];
                const float tx = col_t[x];
                float top = r0[x0] + (r0[x1] - r0[x0]) * tx, bottom = r1[x0] + (r1[x1] - r1[x0]) * tx;
                dst[x] = top + (bottom - top) * ty;
            }
        }
    }
    free(col);
    free(col_t);
    return 0;
}

void vs_grid_init(vs_grid *g, int width, int height, int max_side)
{
    const int side = width > height ? width : height;
    g->w = width;
    g->h = height;
    if (max_side > 0 && side > max_side) {
        const double f = (double)max_side / side;
        g->w = (int)fmax(1.0, floor(width * f + 0.5));
        g->h = (int)fmax(1.0, floor(height * f + 0.5));
    }
    g->sx = (double)g->w / width;
    g->sy = (double)g->h / height;
}

int vs_grid_is_frame(const vs_grid *g) { return g->sx == 1.0 && g->sy == 1.0; }

int vs_grid_cell(int x, double s, int n)
{
    const int i = (int)((x + 0.5) * s);
    return i < n ? i : n - 1;
}

int vs_grid_source(int i, double s, int n)
{
    const int x = (int)((i + 0.5) / s);
    return x < n ? x : n - 1;
}

void vs_labels_to_grid(const uint8_t *labels, int64_t stride, const vs_grid *g, int frame_w, int frame_h, uint8_t *out)
{
    for (int j = 0; j < g->h; j++) {
        const uint8_t *row = labels + (int64_t)vs_grid_source(j, g->sy, frame_h) * stride;
        for (int i = 0; i < g->w; i++) out[(size_t)j * g->w + i] = row[vs_grid_source(i, g->sx, frame_w)];
    }
}
