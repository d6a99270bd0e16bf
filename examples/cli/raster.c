/* raster.c: Pillow's polygon scan-line fill (see raster.h). */
#include "raster.h"

#include <math.h>
#include <stdlib.h>

/* Pillow's rounding, away from zero / towards zero at .5; f is float or double as in Pillow. */
#define ROUND_UP(f) ((int)((f) >= 0.0 ? floor((f) + 0.5F) : -floor(fabs(f) + 0.5F)))
#define ROUND_DOWN(f) ((int)((f) >= 0.0 ? ceil((f)-0.5F) : -ceil(fabs(f) - 0.5F)))

typedef struct {
    int x0, y0;
    int xmin, ymin, xmax, ymax;
    float dx;
} edge;

static void hline(uint8_t *mask, int32_t width, int32_t height, int64_t stride, int x0, int y, int x1,
                  uint8_t value)
{
    if (y < 0 || y >= height)
        return;
    if (x0 > x1) { /* Pillow 9 draws a reversed span too (thin, degenerate polygons) */
        int t = x0;
        x0 = x1, x1 = t;
    }
    if (x0 < 0)
        x0 = 0;
    else if (x0 >= width)
        return;
    if (x1 < 0)
        return;
    else if (x1 >= width)
        x1 = width - 1;
    for (int x = x0; x <= x1; x++)
        mask[(int64_t)y * stride + x] = value;
}

static void add_edge(edge *e, int x0, int y0, int x1, int y1)
{
    e->xmin = x0 <= x1 ? x0 : x1;
    e->xmax = x0 <= x1 ? x1 : x0;
    e->ymin = y0 <= y1 ? y0 : y1;
    e->ymax = y0 <= y1 ? y1 : y0;
    e->dx = y0 == y1 ? 0.0f : ((float)(x1 - x0)) / (float)(y1 - y0);
    e->x0 = x0;
    e->y0 = y0;
}

static int float_cmp(const void *a, const void *b)
{
    float d = *(const float *)a - *(const float *)b;
    return d < 0 ? -1 : d > 0 ? 1 : 0;
}

int vs_fill_polygon(uint8_t *mask, int32_t width, int32_t height, int64_t stride, const double *xy,
                    int n_points, uint8_t value)
{
    int *p, n = 0, i, edge_count = 0, ymin, ymax;
    edge *e, **table;
    float *xx;

    if (n_points <= 0)
        return 0;
    p = malloc(sizeof *p * 2 * (size_t)n_points);
    e = calloc((size_t)n_points, sizeof *e);
    table = calloc((size_t)n_points, sizeof *table);
    xx = calloc(2 * (size_t)n_points, sizeof *xx);
    if (p == NULL || e == NULL || table == NULL || xx == NULL) {
        free(p), free(e), free(table), free(xx);
        return -1;
    }
    for (i = 0; i < 2 * n_points; i++) {
        double v = xy[i];
        if (!(fabs(v) < 1e9)) /* NaN or absurd: clamp far outside the image */
            v = v > 0 ? 1e9 : -1e9;
        p[i] = (int)v; /* Pillow 9 truncates the vertices towards zero */
    }

    /* Edges; consecutive horizontal edges going the same way are merged (Pillow). */
    for (i = 0; i < n_points - 1; i++) {
        int x0 = p[2 * i], y0 = p[2 * i + 1], x1 = p[2 * i + 2], y1 = p[2 * i + 3];
        if (y0 == y1 && i != 0 && y0 == p[2 * i - 1] && n > 0) {
            edge *last = &e[n - 1];
            if (x1 > x0 && x0 > p[2 * i - 2]) {
                last->xmax = x1;
                continue;
            } else if (x1 < x0 && x0 < p[2 * i - 2]) {
                last->xmin = x1;
                continue;
            }
        }
        add_edge(&e[n++], x0, y0, x1, y1);
    }
    if (p[2 * i] != p[0] || p[2 * i + 1] != p[1])
        add_edge(&e[n++], p[2 * i], p[2 * i + 1], p[0], p[1]);

    ymin = height - 1;
    ymax = 0;
    for (i = 0; i < n; i++) {
        if (ymin > e[i].ymin)
            ymin = e[i].ymin;
        if (ymax < e[i].ymax)
            ymax = e[i].ymax;
        if (e[i].ymin == e[i].ymax) {
            hline(mask, width, height, stride, e[i].xmin, e[i].ymin, e[i].xmax, value);
            continue;
        }
        table[edge_count++] = &e[i];
    }
    if (ymin < 0)
        ymin = 0;
    if (ymax > height)
        ymax = height;

    for (; ymin <= ymax; ymin++) {
        int j = 0;
        for (i = 0; i < edge_count; i++) {
            const edge *c = table[i];
            if (ymin < c->ymin || ymin > c->ymax)
                continue;
            xx[j++] = (float)(ymin - c->y0) * c->dx + (float)c->x0;
            if (ymin == c->ymax && ymin < ymax) {
                /* the lower end of an edge counts twice */
                xx[j] = xx[j - 1];
                j++;
            } else if (c->dx != 0 && (ymin == c->ymin || ymin == c->ymax) &&
                       roundf(xx[j - 1]) == xx[j - 1]) {
                /* Pillow 9.x "connect discontiguous corners": where two edges sloping
                 * the same way meet at a vertex on an integer x, widen the span to the
                 * next (or previous) row's crossings. Pillow writes the new crossing at
                 * index k (an edge index) of xx; so do we, to draw the same pixels. */
                for (int k = 0; k < i; k++) {
                    const edge *o = table[k];
                    float adj, adj_other;
                    int offset;
                    if (ymin != o->ymin && ymin != o->ymax)
                        continue;
                    if ((c->dx > 0 && o->dx <= 0) || (c->dx < 0 && o->dx >= 0))
                        continue;
                    if (xx[j - 1] != (float)(ymin - o->y0) * o->dx + (float)o->x0)
                        continue;
                    offset = ymin == ymax ? -1 : 1;
                    if (ymin + offset < o->ymin || ymin + offset > o->ymax)
                        break;
                    adj = (float)(ymin + offset - c->y0) * c->dx + (float)c->x0;
                    adj_other = (float)(ymin + offset - o->y0) * o->dx + (float)o->x0;
                    if (ymin == c->ymax)
                        xx[k] = c->dx > 0 ? (float)(fmax(adj, adj_other) + 1) : (float)(fmin(adj, adj_other) - 1);
                    else
                        xx[k] = c->dx > 0 ? (float)fmin(adj, adj_other) : (float)(fmax(adj, adj_other) + 1);
                    break;
                }
            }
        }
        qsort(xx, (size_t)j, sizeof *xx, float_cmp);
        for (i = 1; i < j; i += 2)
            hline(mask, width, height, stride, ROUND_UP(xx[i - 1]), ymin, ROUND_DOWN(xx[i]), value);
    }
    free(p), free(e), free(table), free(xx);
    return 0;
}

void vs_fill_rectangle(uint8_t *mask, int32_t width, int32_t height, int64_t stride, double x0,
                       double y0, double x1, double y1, uint8_t value)
{
    int ix0 = (int)x0, iy0 = (int)y0, ix1 = (int)x1, iy1 = (int)y1;
    if (iy0 > iy1) {
        int t = iy0;
        iy0 = iy1, iy1 = t;
    }
    if (ix0 > ix1) {
        int t = ix0;
        ix0 = ix1, ix1 = t;
    }
    for (int y = iy0 < 0 ? 0 : iy0; y <= iy1 && y < height; y++)
        hline(mask, width, height, stride, ix0, y, ix1, value);
}
