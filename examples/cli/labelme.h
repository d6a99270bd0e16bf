/*
 * labelme.h: LabelMe JSON annotations -> a label image of class codes (labelmap.h).
 *
 * Shapes are drawn in file order, later ones over earlier ones (labelme.utils.
 * shapes_to_label). Polygons (shape_type "polygon", absent or null) and rectangles
 * are rasterised as LabelMe does (raster.h); a shape whose label the label map does
 * not know is not drawn; other shape types (circle, line, point, mask, ...) are
 * skipped and counted. "imageData" is ignored: the image comes from the image folder.
 */
#ifndef VENSEG_CLI_LABELME_H
#define VENSEG_CLI_LABELME_H

#include <stddef.h>
#include <stdint.h>

#include "labelmap.h"

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
