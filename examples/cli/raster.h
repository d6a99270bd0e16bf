/*
 * raster.h: LabelMe shapes rasterised exactly as LabelMe does it, i.e. with Pillow's
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
#ifndef VENSEG_CLI_RASTER_H
#define VENSEG_CLI_RASTER_H

#include <stdint.h>

/* Fills the polygon (n_points x, y pairs in xy, pixel coordinates as LabelMe stores
 * them) into mask with value. Returns 0, or -1 when out of memory. */
int vs_fill_polygon(uint8_t *mask, int32_t width, int32_t height, int64_t stride, const double *xy,
                    int n_points, uint8_t value);

/* Pillow's draw.rectangle(((x0, y0), (x1, y1)), fill=value): corners rounded half away
 * from zero, both ends inclusive. */
void vs_fill_rectangle(uint8_t *mask, int32_t width, int32_t height, int64_t stride, double x0,
                       double y0, double x1, double y1, uint8_t value);

#endif
