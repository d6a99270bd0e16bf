/* Tracker internals shared by tracking (tracker.c), the sequence analysis (analysis.c)
 * and the exam. Not installed. */
#ifndef VENSEG_TRACKER_H
#define VENSEG_TRACKER_H

#include "core/frame.h"
#include "core/internal.h"
#include "core/regions.h"

enum { VS_MAX_CANDIDATES = 64, VS_MAX_TRACKS = 256, VS_MAX_VESSELS = 16, VS_N_TKEYS = 22 };

struct venseg_tracker_config {
    double v[VS_N_TKEYS];
    char site[64];
};

/* One vessel component of one analysed frame (artery and vein labels together: the
 * network's class is evidence, not the track's identity). */
typedef struct vs_obs {
    int32_t track;          /* track id */
    int32_t label;          /* the label with the larger mass */
    int64_t area;           /* frame px (on a grid: its cells' area in frame px, rounded) */
    double cx, cy;          /* centroid, frame px */
    double roundness;       /* minor / major axis of the moment ellipse */
    double aspect;          /* sqrt(var_y / var_x): flattening under the probe */
    double width;           /* 4 sqrt(var_x): its lateral extent (an ellipse's full width), px */
    double vein_mass, artery_mass; /* probability (masks: pixel count) on each label */
    double prob_mean;       /* mean probability of its label over its pixels; 1 for masks */
    double wall;            /* ring brightness over the tissue beyond; NaN without pixels */
    int x0, y0, x1, y1;     /* inclusive box, frame px */
} vs_obs;

typedef struct vs_frame_rec {
    int32_t frame_index;    /* among pushed frames */
    int first_obs, n_obs;   /* its observations in the tracker's obs array */
} vs_frame_rec;

typedef struct vs_track {
    int id;
    double cx, cy;          /* last centroid, grid px (cells) */
    double diameter;        /* largest equivalent diameter seen, cells */
    int last_seen;          /* analysed index */
} vs_track;

/* Which track is the vein and which the artery, and the evidence. */
typedef struct vs_identity {
    int locked;             /* decided before compression and held */
    int window;             /* analysed frames it was decided from */
    int vein_id, artery_id; /* -1 when none */
    double confidence;      /* that vein_id is the vein (and artery_id the artery); NaN without vessels */
    int conflict;           /* the network's labels disagree with dynamics and anatomy */
    int medial_side, medial_source;
    int pair;               /* both a vein and an artery */
    double vein_dx, vein_dy;/* the vein's centroid minus the artery's over the window, px */
    int n;                  /* vessels: the vein, the artery, then others by size */
    venseg_vessel v[VS_MAX_VESSELS];
} vs_identity;

struct venseg_tracker {
    venseg_tracker_config cfg;
    int w, h;
    int32_t pushed;
    vs_frame_rec *recs;
    int n_recs, recs_cap;
    vs_obs *obs;
    int n_obs, obs_cap;
    vs_grid grid;           /* where labels and regions are: the frame, or a grid (VENSEG_TRACKER_MAX_SIDE) */
    uint8_t *grid_labels;   /* a pushed label mask at the grid */
    size_t grid_cap;
    vs_regions own;         /* regions of pushed label masks (push_frame reads the session's) */
    int32_t *cur;           /* labelled area: candidate index per cell, -1 */
    int32_t *prev_map;      /* grid: track id per cell of the previous analysed frame, -1 */
    size_t cur_cap, prev_cap;
    int32_t *region_root;   /* region -> union-find parent */
    size_t region_cap;
    vs_track tracks[VS_MAX_TRACKS];
    int n_tracks, next_id;
    int merged_frames;      /* frames in which a component was split into vessels */
    int onset_run;          /* consecutive analysed frames that looked like compression */
    vs_identity id;         /* current identity (locked once compression starts) */
    venseg_tracked_instance inst[VS_MAX_CANDIDATES];
    int n_inst;
};

/* The site label of the tracker's configuration ("" if none). */
const char *vs_tracker_site(const venseg_tracker *tracker);

/* Decides (until locked) the vessels' identities from the analysed frames so far. */
void vs_identity_update(venseg_tracker *t);

/* Vessel index (< identity n) with its evidence line, made on request. */
void vs_vessel_fill(const venseg_tracker *t, int index, venseg_vessel *out);

/* The observation of track id in analysed frame i, or NULL. */
const vs_obs *vs_obs_of(const venseg_tracker *t, int i, int track_id);

double vs_spacing_area(const venseg_tracker *t);

#endif
