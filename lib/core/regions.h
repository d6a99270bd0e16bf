/* Regions of a label image: 8-connected components of equal non-zero labels with their
 * moments and boxes. Computed once per frame (venseg_segment) and read by every user of
 * that frame (the session's instances, the tracker). Not installed. */
#ifndef VENSEG_REGIONS_H
#define VENSEG_REGIONS_H

#include "core/internal.h"

typedef struct vs_region {
    int label;           /* 0: erased after labelling (e.g. below a minimum area) */
    int64_t area;        /* pixels */
    double sx, sy;       /* sums of pixel centres (x + 0.5, y + 0.5), in the labelled area's coordinates */
    double sxx, syy;     /* sums of their squares */
    double prob;         /* sum of the label's probability (0 without probabilities) */
    int x0, y0, x1, y1;  /* inclusive bounding box */
} vs_region;

typedef struct vs_regions {
    int w, h;            /* the labelled area */
    int ox, oy;          /* its origin in the frame (a session's ROI) */
    int32_t *comp;       /* w x h: region index per pixel, -1 background */
    vs_region *items;
    int count;
    size_t comp_cap, items_cap;
} vs_regions;

/* Finds the regions of labels (w x h, stride bytes per row) at frame origin (ox, oy).
 * probs (nullable): [label - 1][h][w] class probabilities. Buffers are reused; fn
 * names the public function in the out-of-memory detail. */
venseg_status vs_regions_find(vs_regions *rg, const char *fn, const uint8_t *labels, int64_t stride, int w, int h,
                              int ox, int oy, const float *probs);

void vs_regions_free(vs_regions *rg);

/* Diameter of the disc of that area (px from px, mm from mm2). */
double vs_disc_diameter(double area);

#endif
