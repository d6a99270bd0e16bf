/*
 * labelme.h: LabelMe JSON annotations -> a label image of class codes (labelmap.h): the
 * program's one LabelMe reader and rasteriser.
 *
 * Shapes are drawn in file order, later ones over earlier ones (labelme.utils.
 * shapes_to_label). Polygons (shape_type "polygon", absent or null) and rectangles
 * are rasterised as LabelMe does (below); a shape whose label the label map does
 * not know is not drawn; other shape types (circle, line, point, mask, ...) are
 * skipped and counted. "imageData" is ignored: the image comes from the image folder.
 */
#ifndef VENSEG_CLI_LABELME_H
#define VENSEG_CLI_LABELME_H

#include <stddef.h>
#include <stdint.h>

#include "util/labelmap.h"

/*
 * The rasteriser: LabelMe shapes rasterised exactly as LabelMe does it, i.e. with Pillow's
 * ImageDraw (labelme.utils.shape_to_mask: draw.polygon(xy, outline=1, fill=1)).
 *
 * Pillow skips the outline when outline == fill, so a LabelMe polygon is Pillow's
 * scan-line fill alone, as Pillow 9.x draws it (Debian 12 ships 9.4): vertices
 * truncated towards zero to integers; one edge per side (consecutive horizontal
 * sides merged); horizontal edges drawn as spans; for every row y, the crossings
 * x = (y - y0) * dx + x0 in single precision, the lower end of an edge counted twice,
 * Pillow's corner-connecting adjustment, then sorted, and pixels ROUND_UP(x_left) ..
 * ROUND_DOWN(x_right) filled pairwise. tests/python/test_evaluate.py compares it with
 * the installed Pillow on random polygons (identical on simple polygons; on random
 * self-intersecting ones about 1 in 10^4 differs by a pixel).
 */
/* Fills the polygon (n_points x, y pairs in xy, pixel coordinates as LabelMe stores
 * them) into mask with value. Returns 0, or -1 when out of memory. */
int vs_fill_polygon(uint8_t *mask, int32_t width, int32_t height, int64_t stride, const double *xy,
                    int n_points, uint8_t value);

/* Pillow's draw.rectangle(((x0, y0), (x1, y1)), fill=value): corners rounded half away
 * from zero, both ends inclusive. */
void vs_fill_rectangle(uint8_t *mask, int32_t width, int32_t height, int64_t stride, double x0,
                       double y0, double x1, double y1, uint8_t value);

typedef struct vs_labelme_stats {
    int drawn;           /* shapes drawn */
    int unknown_label;   /* shapes not drawn: label not in the map */
    int unsupported;     /* shapes not drawn: shape type or too few points */
    char first_unknown[64]; /* one unknown label, for the warning */
    char first_unsupported[32]; /* one unsupported shape type */
} vs_labelme_stats;

/* 1 when built with cJSON, else 0 (then the functions below fail with a message). */
int vs_labelme_available(void);

/*
 * Reads path and draws its shapes into a new width x height code image (*codes,
 * free()); width or height <= 0: the JSON's imageWidth x imageHeight. json_width /
 * json_height (nullable) receive those fields (0 if absent). Returns 0, or -1 with a
 * message in err.
 */
int vs_labelme_read(const char *path, const vs_labelmap *map, int32_t width, int32_t height, uint8_t **codes,
                    int32_t *out_width, int32_t *out_height, int32_t *json_width, int32_t *json_height,
                    vs_labelme_stats *stats, char *err, size_t err_size);

/* The JSON's "imagePath" (into out, "" if absent). Returns 0 or -1 with a message. */
int vs_labelme_image_path(const char *path, char *out, size_t out_size, char *err, size_t err_size);

#endif
