/* labelme.c: see labelme.h. */
#include "labelme.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raster.h"

#ifdef VENSEG_CLI_HAVE_CJSON
#include <cJSON.h>

enum { MAX_JSON_BYTES = 512 << 20 };

int vs_labelme_available(void) { return 1; }

static cJSON *load_json(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size;
    cJSON *root;

    if (f == NULL) {
        snprintf(err, err_size, "cannot open: %s", strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > MAX_JSON_BYTES ||
        fseek(f, 0, SEEK_SET) != 0) {
        snprintf(err, err_size, "cannot read (or larger than %d MiB)", MAX_JSON_BYTES >> 20);
        fclose(f);
        return NULL;
    }
    if ((text = malloc((size_t)size + 1)) == NULL) {
        snprintf(err, err_size, "out of memory");
        fclose(f);
        return NULL;
    }
    if (fread(text, 1, (size_t)size, f) != (size_t)size) {
        snprintf(err, err_size, "read error");
        free(text);
        fclose(f);
        return NULL;
    }
    fclose(f);
    text[size] = '\0';
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
