/* labelme.c: LabelMe JSON -> class codes, and Pillow's polygon fill that draws them (see labelme.h). */
#include "util/labelme.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cli_util.h"

/* ------------------------------------------------ the rasteriser (Pillow 9.x) */

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

/* ------------------------------------------------------------ the JSON reader */

#ifdef VENSEG_CLI_HAVE_CJSON
#include <cJSON.h>

enum { MAX_JSON_BYTES = 512 << 20 };

int vs_labelme_available(void) { return 1; }

static cJSON *load_json(const char *path, char *err, size_t err_size)
{
    char *text;
    size_t size;
    cJSON *root;

    if (vs_read_file(path, MAX_JSON_BYTES, &text, &size, err, err_size) != 0)
        return NULL;
    root = cJSON_ParseWithLength(text, (size_t)size);
    if (root == NULL) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= text && at <= text + size ? (long)(at - text) : -1;
        snprintf(err, err_size, "invalid JSON (near byte %ld)", off);
    } else if (!cJSON_IsObject(root)) {
        snprintf(err, err_size, "not a LabelMe file (the JSON is not an object)");
        cJSON_Delete(root);
        root = NULL;
    }
    free(text);
    return root;
}

static int get_int(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e6 ? (int)v->valuedouble : 0;
}

/* points -> xy (n pairs); returns n, or -1 if malformed. */
static int get_points(const cJSON *shape, double **xy)
{
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(shape, "points"), *p;
    int n = 0, i = 0;
    *xy = NULL;
    if (!cJSON_IsArray(pts))
        return -1;
    n = cJSON_GetArraySize(pts);
    if (n == 0)
        return 0;
    if ((*xy = malloc(sizeof **xy * 2 * (size_t)n)) == NULL)
        return -1;
    cJSON_ArrayForEach(p, pts)
    {
        const cJSON *x = cJSON_GetArrayItem(p, 0), *y = cJSON_GetArrayItem(p, 1);
        if (!cJSON_IsArray(p) || !cJSON_IsNumber(x) || !cJSON_IsNumber(y)) {
            free(*xy);
            *xy = NULL;
            return -1;
        }
        (*xy)[2 * i] = x->valuedouble;
        (*xy)[2 * i + 1] = y->valuedouble;
        i++;
    }
    return n;
}

int vs_labelme_read(const char *path, const vs_labelmap *map, int32_t width, int32_t height, uint8_t **codes,
                    int32_t *out_width, int32_t *out_height, int32_t *json_width, int32_t *json_height,
                    vs_labelme_stats *stats, char *err, size_t err_size)
{
    cJSON *root = load_json(path, err, err_size);
    const cJSON *shapes, *shape;
    uint8_t *mask;
    int jw, jh;

    memset(stats, 0, sizeof *stats);
    if (root == NULL)
        return -1;
    jw = get_int(root, "imageWidth");
    jh = get_int(root, "imageHeight");
    if (json_width)
        *json_width = jw;
    if (json_height)
        *json_height = jh;
    if (width <= 0 || height <= 0) {
        width = jw;
        height = jh;
    }
    if (width <= 0 || height <= 0) {
        snprintf(err, err_size, "no image size (imageWidth/imageHeight missing)");
        cJSON_Delete(root);
        return -1;
    }
    shapes = cJSON_GetObjectItemCaseSensitive(root, "shapes");
    if (!cJSON_IsArray(shapes)) {
        snprintf(err, err_size, "not a LabelMe file (no \"shapes\" array)");
        cJSON_Delete(root);
        return -1;
    }
    if ((mask = calloc((size_t)width * (size_t)height, 1)) == NULL) {
        snprintf(err, err_size, "out of memory");
        cJSON_Delete(root);
        return -1;
    }
    cJSON_ArrayForEach(shape, shapes)
    {
        const cJSON *label = cJSON_GetObjectItemCaseSensitive(shape, "label");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(shape, "shape_type");
        const char *type_name = cJSON_IsString(type) ? type->valuestring : "polygon";
        double *xy = NULL;
        int n, code;

        if (!cJSON_IsString(label)) {
            snprintf(err, err_size, "a shape without a \"label\" string");
            goto fail;
        }
        code = vs_labelmap_name_code(map, label->valuestring);
        if (code < 0) {
            if (stats->unknown_label++ == 0)
                snprintf(stats->first_unknown, sizeof stats->first_unknown, "%s", label->valuestring);
            continue;
        }
        if (strcmp(type_name, "polygon") != 0 && strcmp(type_name, "rectangle") != 0) {
            if (stats->unsupported++ == 0)
                snprintf(stats->first_unsupported, sizeof stats->first_unsupported, "%s", type_name);
            continue;
        }
        n = get_points(shape, &xy);
        if (n < 0) {
            snprintf(err, err_size, "shape '%s': malformed \"points\"", label->valuestring);
            goto fail;
        }
        if (strcmp(type_name, "rectangle") == 0) {
            if (n != 2) {
                free(xy);
                if (stats->unsupported++ == 0)
                    snprintf(stats->first_unsupported, sizeof stats->first_unsupported, "rectangle/%d points", n);
                continue;
            }
            vs_fill_rectangle(mask, width, height, width, xy[0], xy[1], xy[2], xy[3], (uint8_t)code);
        } else {
            if (n < 3) { /* LabelMe refuses these */
                free(xy);
                if (stats->unsupported++ == 0)
                    snprintf(stats->first_unsupported, sizeof stats->first_unsupported, "polygon/%d points", n);
                continue;
            }
            if (vs_fill_polygon(mask, width, height, width, xy, n, (uint8_t)code) != 0) {
                free(xy);
                snprintf(err, err_size, "out of memory");
                goto fail;
            }
        }
        free(xy);
        stats->drawn++;
    }
    cJSON_Delete(root);
    *codes = mask;
    *out_width = width;
    *out_height = height;
    return 0;
fail:
    free(mask);
    cJSON_Delete(root);
    return -1;
}

int vs_labelme_image_path(const char *path, char *out, size_t out_size, char *err, size_t err_size)
{
    cJSON *root = load_json(path, err, err_size);
    const cJSON *p;
    if (root == NULL)
        return -1;
    p = cJSON_GetObjectItemCaseSensitive(root, "imagePath");
    snprintf(out, out_size, "%s", cJSON_IsString(p) ? p->valuestring : "");
    cJSON_Delete(root);
    return 0;
}

#else /* no cJSON */

int vs_labelme_available(void) { return 0; }

int vs_labelme_read(const char *path, const vs_labelmap *map, int32_t width, int32_t height, uint8_t **codes,
                    int32_t *out_width, int32_t *out_height, int32_t *json_width, int32_t *json_height,
                    vs_labelme_stats *stats, char *err, size_t err_size)
{
    (void)path, (void)map, (void)width, (void)height, (void)codes, (void)out_width, (void)out_height;
    (void)json_width, (void)json_height;
    memset(stats, 0, sizeof *stats);
    snprintf(err, err_size, "LabelMe JSON needs a venseg built with cJSON (libcjson-dev)");
    return -1;
}

int vs_labelme_image_path(const char *path, char *out, size_t out_size, char *err, size_t err_size)
{
    (void)path;
    if (out_size)
        out[0] = '\0';
    snprintf(err, err_size, "LabelMe JSON needs a venseg built with cJSON (libcjson-dev)");
    return -1;
}

#endif
