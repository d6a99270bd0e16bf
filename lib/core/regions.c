/* Connected components, moments and boxes: the one labelling pass per frame. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/regions.h"

#define VS_PI 3.14159265358979323846

/* 8-connected components of equal non-zero labels; the count, or -1 out of memory. */
static int components(const uint8_t *labels, int64_t stride, int w, int h, int32_t *comp)
{
    const size_t n = (size_t)w * h;
    int32_t *queue = malloc((n ? n : 1) * 2 * sizeof *queue); /* x, y of each queued pixel: no division */
    if (!queue) return -1;
    for (size_t i = 0; i < n; i++) comp[i] = -1;
    int count = 0;
    for (size_t start = 0, sy = 0; sy < (size_t)h; sy++) /* rows, then columns: no division per pixel */
        for (size_t sx = 0; sx < (size_t)w; sx++, start++) {
            const uint8_t lab = labels[(int64_t)sy * stride + (int64_t)sx];
            if (!lab || comp[start] >= 0) continue;
            size_t head = 0, tail = 0;
            queue[2 * tail] = (int32_t)sx, queue[2 * tail + 1] = (int32_t)sy, tail++;
            comp[start] = count;
            while (head < tail) {
                const int px = queue[2 * head], py = queue[2 * head + 1];
                head++;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int qx = px + dx, qy = py + dy;
                        if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
                        size_t q = (size_t)qy * w + qx;
                        if (labels[(int64_t)qy * stride + qx] == lab && comp[q] < 0) {
                            comp[q] = count;
                            queue[2 * tail] = qx, queue[2 * tail + 1] = qy, tail++;
                        }
                    }
            }
            count++;
        }
    free(queue);
    return count;
}

venseg_status vs_regions_find(vs_regions *rg, const char *fn, const uint8_t *labels, int64_t stride, int w, int h,
                              int ox, int oy, const float *probs)
{
    const size_t plane = (size_t)w * h;
    if (plane > rg->comp_cap) {
        size_t bytes;
        int32_t *c = vs_mul_size(plane, sizeof *c, &bytes) ? realloc(rg->comp, bytes) : NULL;
        if (!c) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory for the regions of a %d x %d frame", fn, w, h);
        rg->comp = c;
        rg->comp_cap = plane;
    }
    rg->w = w;
    rg->h = h;
    rg->ox = ox;
    rg->oy = oy;
    rg->count = 0;
    int count = components(labels, stride, w, h, rg->comp);
    if (count < 0) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory (components)", fn);
    if ((size_t)count > rg->items_cap) {
        vs_region *r = realloc(rg->items, (size_t)count * sizeof *r);
        if (!r) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "%s: out of memory (regions)", fn);
        rg->items = r;
        rg->items_cap = (size_t)count;
    }
    for (int i = 0; i < count; i++) {
        vs_region *r = &rg->items[i];
        memset(r, 0, sizeof *r);
        r->x0 = w;
        r->y0 = h;
        r->x1 = r->y1 = -1;
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t i = (size_t)y * w + x;
            const int c = rg->comp[i];
            if (c < 0) continue;
            vs_region *r = &rg->items[c];
            const double cx = x + 0.5, cy = y + 0.5;
            r->area++;
            r->sx += cx;
            r->sy += cy;
            r->sxx += cx * cx;
            r->syy += cy * cy;
            r->label = labels[(int64_t)y * stride + x];
            if (probs) r->prob += probs[(size_t)(r->label - 1) * plane + i];
            if (x < r->x0) r->x0 = x;
            if (y < r->y0) r->y0 = y;
            if (x > r->x1) r->x1 = x;
            if (y > r->y1) r->y1 = y;
        }
    rg->count = count;
    return VENSEG_OK;
}

void vs_regions_free(vs_regions *rg)
{
    free(rg->comp);
    free(rg->items);
    memset(rg, 0, sizeof *rg);
}

double vs_disc_diameter(double area) { return sqrt(4.0 * area / VS_PI); }
