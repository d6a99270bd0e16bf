/* Session internals read by the floor above (tracking). Not installed. */
#ifndef VENSEG_SESSION_H
#define VENSEG_SESSION_H

#include "core/frame.h"
#include "core/regions.h"

/* The regions of the last frame venseg_segment labelled (its ROI, at the ROI's origin),
 * with the small ones the mask lost erased (label 0, no pixels). Valid until the next
 * call on the session. */
const vs_regions *vs_session_regions(const venseg_session *session);

/* venseg_segment's labelling at grid g (vs_grid_init of the frame): the probability maps go
 * from the network straight to the ROI's cells (never to the frame's size), then labels,
 * regions (at the cells' origin, in grid px) and the session's instances (in frame px; the
 * minimum instance area is in frame px too). label_mask (nullable) receives the frame's
 * mask, each pixel the label of the cell under it. fn names the public function. */
venseg_status vs_segment_grid(venseg_session *s, const char *fn, const void *pixels, venseg_pixel_format format,
                              int32_t width, int32_t height, int64_t row_stride, const vs_grid *g, uint8_t *label_mask,
                              int64_t mask_stride);

#endif
