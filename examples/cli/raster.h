/*
 * raster.h: LabelMe shapes rasterised exactly as LabelMe does it, i.e. with Pillow's
 * ImageDraw (labelme.utils.shape_to_mask: draw.polygon(xy, outline=1, fill=1)).
 *
 * Pillow skips the outline when outline == fill, so a LabelMe polygon is Pillow's
 * scan-line fill alone: vertices rounded half away from zero to integers, one edge
 * per side, for every row y the crossings x = (y - y0) * dx + x0 (single precision),
 * sorted, and pixels from ROUND_UP(x_left) to ROUND_DOWN(x_right) filled in pairs;
 * horizontal edges are drawn as lines; a vertex at the bottom end of an edge counts
 * twice. This mirrors Pillow 9.x (Debian 12 ships 9.4) and is checked against it in
 * tests/python/test_evaluate.py.
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
