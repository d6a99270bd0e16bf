/*
 * libvenseg: compression-sequence tracking, multi-site exams and the synthetic phantom.
 *
 * Part of the stable C ABI. Include venseg.h, which includes this header after the types it
 * uses (status, session, pixel format); it includes nothing back, so there is no cycle. The same
 * conventions hold as in venseg.h: venseg_status returns, venseg_last_error() detail,
 * opaque objects with *_free(NULL) a no-op, pinned enum values that only grow, result
 * structs led by uint32_t struct_size that the caller sets (fields past it are never
 * written, new fields are only appended), no printing, aborting or exiting.
 * See docs/tracking.md for the method, the defaults and where they come from.
 *
 * Decision support only: no threshold here is clinical truth, and the diagnosis stays
 * with the clinician.
 */
#ifndef VENSEG_VENSEG_TRACKING_H
#define VENSEG_VENSEG_TRACKING_H

#ifndef VENSEG_VENSEG_H
#error "include <venseg/venseg.h>: it includes venseg_tracking.h after the types this header uses"
#endif

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ========================================================== tracker config */

typedef struct venseg_tracker_config venseg_tracker_config;

/* Keys of a tracker configuration; values are doubles (integral where noted).
 * Values pinned, new keys only appended. venseg_tracker_config_bounds() gives the
 * valid range of each. Defaults in brackets; docs/tracking.md gives their sources. */
typedef enum venseg_tracker_key {
    VENSEG_TRACKER_PIXEL_SPACING_X = 1,       /* mm per px, columns [0 = unknown: mm results NaN] */
    VENSEG_TRACKER_PIXEL_SPACING_Y = 2,       /* mm per px, rows [0 = unknown] (both 0 or both > 0) */
    VENSEG_TRACKER_FRAME_RATE = 3,            /* Hz of the pushed frames [0 = unknown: times NaN] */
    VENSEG_TRACKER_FRAME_STRIDE = 4,          /* integral: analyse every k-th pushed frame [1]; Chen et al. used 2 */
    VENSEG_TRACKER_ARTERY_LABEL = 5,          /* integral label value of arteries in masks [1] */
    VENSEG_TRACKER_VEIN_LABEL = 6,            /* integral label value of veins in masks [2] */
    VENSEG_TRACKER_MIN_AREA_PX = 7,           /* integral: smaller components are ignored [16] */
    VENSEG_TRACKER_SMOOTH_WINDOW = 8,         /* integral, odd: running-median width over analysed frames [3] */
    VENSEG_TRACKER_COMPRESSIBLE_PERCENT = 9,  /* compressibility >= this: compressible [90] (project default) */
    VENSEG_TRACKER_COMPRESSIBLE_RESIDUAL_MM2 = 10, /* or residual lumen <= this mm2: compressible [0.5] (project default) */
    VENSEG_TRACKER_NONCOMPRESSIBLE_PERCENT = 11,   /* compressibility < this: non-compressible [25] (project default) */
    VENSEG_TRACKER_MIN_FRAMES = 12,           /* integral: fewer analysed frames: SEQUENCE_TOO_SHORT [10] */
    VENSEG_TRACKER_ARTERY_DEFORMATION_PERCENT = 13, /* artery flattening below this: ARTERY_NOT_DEFORMED [10] */
    VENSEG_TRACKER_MAX_LATERAL_SHIFT = 14,    /* lateral drift, in reference-vessel diameters: PROBE_MOVED [0.75] */
    VENSEG_TRACKER_LOST_FRACTION = 15,        /* vein vanishing while above this x baseline: VEIN_LOST [0.5] */
    VENSEG_TRACKER_REQUIRE_PRESSURE_EVIDENCE = 16, /* 0/1: a non-compressible verdict needs the artery to deform [1] */
    VENSEG_TRACKER_MAX_AREA_FRACTION = 17,    /* components larger than this fraction of the frame are ignored [0.25] */
    /* since 0.2.0: identity and verdict confidence (docs/tracking.md, "Identity") */
    VENSEG_TRACKER_MEDIAL_SIDE = 18,          /* integral: image side toward the body's midline: -1 left, +1 right,
                                               * 0 unknown [0] (then it is detected from the other cues) */
    VENSEG_TRACKER_MIN_IDENTITY_CONFIDENCE = 19, /* artery/vein identity less sure than this: IDENTITY_UNCERTAIN [0.85] */
    VENSEG_TRACKER_MIN_VERDICT_CONFIDENCE = 20,  /* verdict confidence below this: LOW_CONFIDENCE, indeterminate [0.6] */
    /* since 0.4.0: tracking at a bounded size (docs/tracking.md, "Tracking size") */
    VENSEG_TRACKER_MAX_SIDE = 21              /* integral px: 0, or >= 32: frames longer than this on their longer side
                                               * are labelled and tracked on a grid reduced to it (push_frame: the
                                               * network's maps go to the grid, never to the frame's size); every
                                               * result stays in the frame's px. 0 = full resolution [0] */
} venseg_tracker_key;

VENSEG_API venseg_status venseg_tracker_config_create(venseg_tracker_config **out);
VENSEG_API void venseg_tracker_config_free(venseg_tracker_config *config);
VENSEG_API venseg_status venseg_tracker_config_set(venseg_tracker_config *config, venseg_tracker_key key,
                                                   double value);
VENSEG_API venseg_status venseg_tracker_config_get(const venseg_tracker_config *config, venseg_tracker_key key,
                                                   double *value);
/* Inclusive range of valid values for a key; *fallback (nullable) receives the default. */
VENSEG_API venseg_status venseg_tracker_config_bounds(venseg_tracker_key key, double *lower, double *upper,
                                                      double *fallback);
/* Free-form site label, 0..63 bytes of printable ASCII; "" by default. Exams match the
 * protocol sites by the names VENSEG_SITE_* below (case-insensitive). */
VENSEG_API venseg_status venseg_tracker_config_set_site(venseg_tracker_config *config, const char *site);
/* Lives as long as the config (until its next set_site). "" for NULL. */
VENSEG_API const char *venseg_tracker_config_site(const venseg_tracker_config *config);

#define VENSEG_SITE_COMMON_FEMORAL "common_femoral"
#define VENSEG_SITE_FEMORAL "femoral"
#define VENSEG_SITE_POPLITEAL "popliteal"

/* ================================================================ tracker */

/* One compression sequence at one site. One thread at a time (like a session). */
typedef struct venseg_tracker venseg_tracker;

/* Verdict of a sequence. Values pinned. */
typedef enum venseg_verdict {
    VENSEG_VERDICT_INDETERMINATE = 0,        /* quality flags make a verdict unsafe, or no data */
    VENSEG_VERDICT_COMPRESSIBLE = 1,         /* the vein collapsed (complete coaptation within the thresholds) */
    VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE = 2,
    VENSEG_VERDICT_NON_COMPRESSIBLE = 3
} venseg_verdict;

/* Quality flags: bits of a uint32_t; values pinned, new bits only appended. */
#define VENSEG_FLAG_NO_VESSEL            (1u << 0) /* neither artery nor vein in any analysed frame */
#define VENSEG_FLAG_NO_VEIN              (1u << 1) /* no vein of interest found */
#define VENSEG_FLAG_NO_ARTERY            (1u << 2) /* no artery: the vein is the largest one, not "the one beside the artery" */
#define VENSEG_FLAG_VEIN_LOST            (1u << 3) /* the vein vanished while still open (tracking or segmentation lost it) */
#define VENSEG_FLAG_PROBE_MOVED          (1u << 4) /* the vessels drifted sideways (probe slid) */
#define VENSEG_FLAG_ARTERY_NOT_DEFORMED  (1u << 5) /* the artery never flattened: pressure may have been insufficient */
#define VENSEG_FLAG_SEQUENCE_TOO_SHORT   (1u << 6) /* fewer analysed frames than VENSEG_TRACKER_MIN_FRAMES */
#define VENSEG_FLAG_NO_COMPRESSION       (1u << 7) /* no compression phase detected (no vein collapse, no artery deformation) */
#define VENSEG_FLAG_NO_RELEASE           (1u << 8) /* informational: the vein did not reopen after the minimum */
#define VENSEG_FLAG_SPACING_UNKNOWN      (1u << 9) /* informational: no pixel spacing, mm values are NaN */
#define VENSEG_FLAG_UNSTABLE             (1u << 10) /* the vein area jumps between frames like noise, not like a compression */
/* since 0.2.0 */
#define VENSEG_FLAG_IDENTITY_CONFLICT    (1u << 11) /* the network's artery/vein labels disagree with the dynamics and anatomy */
#define VENSEG_FLAG_IDENTITY_UNCERTAIN   (1u << 12) /* which vessel is the vein is not clear enough: indeterminate */
#define VENSEG_FLAG_LOW_CONFIDENCE       (1u << 13) /* the verdict's confidence is below MIN_VERDICT_CONFIDENCE: indeterminate */
#define VENSEG_FLAG_VESSELS_MERGED       (1u << 14) /* informational: touching vessels were split into artery and vein */
#define VENSEG_FLAG_VEIN_INTERMITTENT    (1u << 15) /* informational: the vein was missed in some open frames; they were skipped */
#define VENSEG_FLAG_SHRANK_NOT_FLATTENED (1u << 16) /* the vein's area fell but its width fell too: segmentation losing
                                                     * the vein, not a probe flattening it */

VENSEG_API const char *venseg_verdict_name(venseg_verdict verdict); /* "VENSEG_VERDICT_..." / "VENSEG_VERDICT_UNKNOWN" */
/* Name of one flag bit ("VENSEG_FLAG_NO_VEIN"); "VENSEG_FLAG_UNKNOWN" if flag is not exactly one known bit. */
VENSEG_API const char *venseg_flag_name(uint32_t flag);

/* config may be NULL (defaults); it is copied. */
VENSEG_API venseg_status venseg_tracker_create(const venseg_tracker_config *config, venseg_tracker **out);
VENSEG_API void venseg_tracker_free(venseg_tracker *tracker);
/* Forgets all frames; keeps the configuration. */
VENSEG_API venseg_status venseg_tracker_reset(venseg_tracker *tracker);

/* Pushes a label mask (0 background, VENSEG_TRACKER_ARTERY_LABEL / _VEIN_LABEL
 * vessels; other values ignored), e.g. ground truth or another segmenter's output.
 * All frames of a sequence must have the same size. Only every k-th pushed frame
 * (k = VENSEG_TRACKER_FRAME_STRIDE, starting with the first) is analysed. */
VENSEG_API venseg_status venseg_tracker_push_labels(venseg_tracker *tracker, const uint8_t *labels,
                                                    int64_t label_stride, int32_t width, int32_t height);
/* Segments the frame with the session (its ROI applies; see venseg_segment), then
 * tracks the mask as venseg_tracker_push_labels() does. Frames skipped by the stride
 * are not segmented. label_mask (nullable, mask_stride bytes per row) receives the
 * mask of analysed frames and is left untouched on skipped ones. With
 * VENSEG_TRACKER_MAX_SIDE below the frame's longer side, the labels are made at the
 * reduced grid and label_mask gets each pixel the label of the grid cell under it;
 * push_labels takes, per cell, the mask's pixel under its centre. */
VENSEG_API venseg_status venseg_tracker_push_frame(venseg_tracker *tracker, venseg_session *session,
                                                   const void *pixels, venseg_pixel_format format, int32_t width,
                                                   int32_t height, int64_t row_stride, uint8_t *label_mask,
                                                   int64_t mask_stride);

/* What became of one pushed frame, so that callers need not count pushes against the
 * stride. struct_size protocol as for every result struct. */
typedef struct venseg_push_result {
    uint32_t struct_size;
    int32_t analysed;          /* 1: analysed (venseg_tracker_frame_at has it); 0: skipped by the stride */
    int32_t frame_index;       /* index of this frame among pushed frames (0-based) */
    int32_t analysed_index;    /* its index among analysed frames; -1 when skipped */
    int32_t frames_analysed;   /* analysed frames so far, this one included */
} venseg_push_result;

/* venseg_tracker_push_labels / _push_frame that also fill *result (nullable; its
 * struct_size set by the caller). On failure nothing is pushed and *result is untouched. */
VENSEG_API venseg_status venseg_tracker_push_labels_ex(venseg_tracker *tracker, const uint8_t *labels,
                                                       int64_t label_stride, int32_t width, int32_t height,
                                                       venseg_push_result *result);
VENSEG_API venseg_status venseg_tracker_push_frame_ex(venseg_tracker *tracker, venseg_session *session,
                                                      const void *pixels, venseg_pixel_format format, int32_t width,
                                                      int32_t height, int64_t row_stride, uint8_t *label_mask,
                                                      int64_t mask_stride, venseg_push_result *result);

/* One analysed frame. Areas 0 and centroids NaN where the vessel is absent; mm values
 * NaN without pixel spacing. */
typedef struct venseg_track_frame {
    uint32_t struct_size;
    int32_t frame_index;       /* index among pushed frames (0-based) */
    int32_t analysed_index;    /* index among analysed frames */
    double time_s;             /* frame_index / frame rate; NaN when the rate is unknown */
    int32_t vein_track_id;     /* track id of the vein of interest; -1 before one is found */
    int32_t artery_track_id;   /* track id of the artery; -1 before one is found */
    int32_t vein_present;      /* 1 if the vein of interest is in this frame */
    int32_t artery_present;
    int64_t vein_area_px;
    int64_t artery_area_px;
    double vein_area_mm2;
    double artery_area_mm2;
    double vein_centroid_x, vein_centroid_y;     /* px, frame coordinates */
    double artery_centroid_x, artery_centroid_y;
    int32_t instance_count;    /* vessel components tracked in this frame */
} venseg_track_frame;

/* Analysed frames so far. */
VENSEG_API venseg_status venseg_tracker_frame_count(const venseg_tracker *tracker, int32_t *count);
/* index: an analysed-frame index, or -1 for the latest. VENSEG_E_NOT_FOUND if out of range. */
VENSEG_API venseg_status venseg_tracker_frame_at(const venseg_tracker *tracker, int32_t index,
                                                 venseg_track_frame *out);
/* Alias of venseg_tracker_frame_at (ABI 1 name). */
VENSEG_API venseg_status venseg_tracker_frame(const venseg_tracker *tracker, int32_t index, venseg_track_frame *out);

/* A vessel component of the latest analysed frame with its persistent track id. */
typedef struct venseg_tracked_instance {
    uint32_t struct_size;
    int32_t track_id;          /* the same id across frames for the same vessel */
    int32_t label;
    int32_t role;              /* 0 other, 1 the artery of interest, 2 the vein of interest */
    int64_t area_px;
    double area_mm2;
    double centroid_x, centroid_y;
    int32_t bbox_x, bbox_y, bbox_width, bbox_height;
} venseg_tracked_instance;

VENSEG_API venseg_status venseg_tracker_instance_count(const venseg_tracker *tracker, int32_t *count);
VENSEG_API venseg_status venseg_tracker_instance_at(const venseg_tracker *tracker, int32_t index,
                                                    venseg_tracked_instance *out);
/* Alias of venseg_tracker_instance_at (ABI 1 name). */
VENSEG_API venseg_status venseg_tracker_instance(const venseg_tracker *tracker, int32_t index,
                                                 venseg_tracked_instance *out);

/* The sequence so far (call at any time, and at the end). */
typedef struct venseg_track_summary {
    uint32_t struct_size;
    int32_t verdict;                 /* venseg_verdict */
    uint32_t flags;                  /* VENSEG_FLAG_* */
    int32_t frames_pushed;
    int32_t frames_analysed;
    int32_t baseline_frame;          /* pushed-frame index of the baseline; -1 if none */
    int32_t min_frame;               /* pushed-frame index of the minimum; -1 if none */
    double baseline_area_px;         /* max of the smoothed vein area before the minimum */
    double min_area_px;              /* smoothed vein area at the minimum */
    double baseline_area_mm2;        /* NaN without spacing */
    double min_area_mm2;             /* = the residual lumen area; NaN without spacing */
    double compressibility_percent;  /* Chen et al.: (A_base - A_min) / A_base x 100; NaN if undefined */
    double artery_deformation_percent; /* drop of the artery's height/width ratio; NaN without artery */
    double max_lateral_shift_px;     /* largest sideways drift of the reference vessel */
    int32_t vein_track_id;
    int32_t artery_track_id;
    /* since 0.2.0 */
    double verdict_confidence;       /* 0..1: how strongly the evidence supports the verdict (before the
                                      * MIN_VERDICT_CONFIDENCE cut); NaN when there is nothing to judge */
    double identity_confidence;      /* 0..1: that the vein of interest is the vein and the artery the artery; NaN without vessels */
    int32_t medial_side;             /* -1 left, +1 right, 0 unknown: the side used for the position cue */
    int32_t medial_side_source;      /* 0 unknown, 1 configured (MEDIAL_SIDE), 2 detected from the other cues */
    int32_t vessel_count;            /* = venseg_tracker_vessel_count() */
    int32_t identity_frames;         /* analysed frames before compression that identity was decided from */
    double pressure_correlation;     /* -1..1: correlation of the vein's smoothed area with the artery's shape
                                      * ratio; a real compression flattens both together. NaN without both */
} venseg_track_summary;

VENSEG_API venseg_status venseg_tracker_summary_get(const venseg_tracker *tracker, venseg_track_summary *out);
/* Alias of venseg_tracker_summary_get (ABI 1 name). */
VENSEG_API venseg_status venseg_tracker_summary(const venseg_tracker *tracker, venseg_track_summary *out);

/* since 0.2.0: every vessel track of the sequence with its identity and the evidence for it.
 * Identity is decided from the frames before compression and then held, so a vein that
 * does not collapse never becomes "the artery" for that reason. Cues are NaN when they
 * could not be measured (e.g. pulsation without a frame rate, wall brightness from masks). */
typedef enum venseg_vessel_identity {
    VENSEG_IDENTITY_UNKNOWN = 0,
    VENSEG_IDENTITY_ARTERY = 1,
    VENSEG_IDENTITY_VEIN = 2,
    VENSEG_IDENTITY_OTHER = 3    /* a short-lived or small track: not one of the pair */
} venseg_vessel_identity;

typedef struct venseg_vessel {
    uint32_t struct_size;
    int32_t track_id;
    int32_t identity;              /* venseg_vessel_identity */
    int32_t role;                  /* 0 other, 1 the artery of interest, 2 the vein of interest */
    double identity_confidence;    /* 0..1 that identity is right */
    int32_t frames_present;        /* analysed frames the track was seen in */
    int32_t first_frame;           /* pushed-frame index of its first appearance */
    double network_vein_fraction;  /* share of the network's (or the masks') vessel probability labelled vein, before compression */
    double pulsatility_percent;    /* amplitude of the area's cardiac-band (0.7-3 Hz) oscillation, % of its mean */
    double pulse_rate_bpm;         /* frequency of that oscillation; NaN when not significant */
    double roundness;              /* minor / major axis of its moment ellipse (1 = circle) */
    double wall_contrast;          /* brightness of a 2 px ring around the lumen over the tissue beyond it (pixels only) */
    double size_ratio;             /* mean area over that of the other vessel of the pair */
    double position_score;         /* -1..1: +1 where the site's anatomy puts the vein, -1 where it puts the artery, 0 no cue */
    double mean_area_px;           /* before compression */
    double compressibility_percent;/* of this track's smoothed area curve; NaN if undefined */
    char evidence[192];            /* one line for people, e.g. "vein: medial to the artery, no pulsation, 94 % compressed" */
} venseg_vessel;

VENSEG_API venseg_status venseg_tracker_vessel_count(const venseg_tracker *tracker, int32_t *count);
/* Vessels in order: the vein of interest, the artery of interest, then the others by size. */
VENSEG_API venseg_status venseg_tracker_vessel_at(const venseg_tracker *tracker, int32_t index, venseg_vessel *out);
VENSEG_API const char *venseg_identity_name(venseg_vessel_identity identity); /* "VENSEG_IDENTITY_VEIN" ... */

typedef enum venseg_area_unit { VENSEG_AREA_PX = 0, VENSEG_AREA_MM2 = 1 } venseg_area_unit;

/* The area-vs-time curve, one entry per analysed frame. Each array (nullable) gets
 * *count entries: pushed-frame index, raw and smoothed vein area, artery area (0 where
 * absent) in the unit asked (VENSEG_E_UNDEFINED for mm2 without spacing). *count is
 * always set; VENSEG_E_BUFFER_TOO_SMALL when it exceeds capacity (nothing written). */
VENSEG_API venseg_status venseg_tracker_curve(const venseg_tracker *tracker, venseg_area_unit unit,
                                              int32_t capacity, int32_t *count, int32_t *frame_index,
                                              double *vein_area, double *vein_area_smoothed,
                                              double *artery_area);

/* =================================================================== exam */

typedef struct venseg_exam venseg_exam;

typedef enum venseg_exam_protocol {
    VENSEG_EXAM_CUSTOM = 0,      /* the sites that are added, none required */
    VENSEG_EXAM_TWO_POINT = 2,   /* common femoral + popliteal */
    VENSEG_EXAM_THREE_POINT = 3  /* common femoral + femoral + popliteal */
} venseg_exam_protocol;

typedef enum venseg_exam_outcome {
    VENSEG_EXAM_INCOMPLETE = 0,  /* a required site missing or indeterminate (and none abnormal) */
    VENSEG_EXAM_NORMAL = 1,      /* every required (CUSTOM: every added) site compressible */
    VENSEG_EXAM_ABNORMAL = 2     /* some site partially or non-compressible */
} venseg_exam_outcome;

VENSEG_API const char *venseg_exam_outcome_name(venseg_exam_outcome outcome);

VENSEG_API venseg_status venseg_exam_create(venseg_exam_protocol protocol, venseg_exam **out);
VENSEG_API void venseg_exam_free(venseg_exam *exam);
/* Records the tracker's current summary under its config's site (non-empty); a site
 * recorded again is replaced. At most 64 sites. */
VENSEG_API venseg_status venseg_exam_add(venseg_exam *exam, const venseg_tracker *tracker);

typedef struct venseg_exam_site {
    uint32_t struct_size;
    char site[64];
    int32_t required;            /* 1 if the protocol asks for it */
    int32_t recorded;            /* 0: required but not yet added */
    int32_t verdict;             /* venseg_verdict (INDETERMINATE when not recorded) */
    uint32_t flags;
    double compressibility_percent;
    double residual_area_mm2;
    double baseline_area_mm2;
} venseg_exam_site;

typedef struct venseg_exam_report {
    uint32_t struct_size;
    int32_t outcome;             /* venseg_exam_outcome */
    int32_t protocol;
    int32_t site_count;          /* = venseg_exam_site_count(): required sites first, in protocol order */
    int32_t required_missing;    /* required sites not recorded */
    int32_t compressible, partially_compressible, non_compressible, indeterminate; /* per recorded site */
} venseg_exam_report;

VENSEG_API venseg_status venseg_exam_report_get(const venseg_exam *exam, venseg_exam_report *out);
VENSEG_API venseg_status venseg_exam_site_count(const venseg_exam *exam, int32_t *count);
VENSEG_API venseg_status venseg_exam_site_at(const venseg_exam *exam, int32_t index, venseg_exam_site *out);

/* ================================================================ phantom */

/* Synthetic, seeded B-mode compression sequences of a transverse leg with ground truth. */
typedef struct venseg_phantom_config venseg_phantom_config;
typedef struct venseg_phantom venseg_phantom;

typedef enum venseg_thrombus {
    VENSEG_THROMBUS_NONE = 0,    /* normal vein: collapses fully */
    VENSEG_THROMBUS_PARTIAL = 1, /* partly occluding: collapses partly */
    VENSEG_THROMBUS_FULL = 2     /* occlusive: barely compresses */
} venseg_thrombus;

/* Keys of a phantom configuration; double values (integral where noted). Pinned. */
typedef enum venseg_phantom_key {
    VENSEG_PHANTOM_SEED = 1,            /* integral, 0..2^53 [1] */
    VENSEG_PHANTOM_WIDTH = 2,           /* integral px [256] */
    VENSEG_PHANTOM_HEIGHT = 3,          /* integral px [256] */
    VENSEG_PHANTOM_FRAMES = 4,          /* integral frame count [90] */
    VENSEG_PHANTOM_FRAME_RATE = 5,      /* Hz [30] */
    VENSEG_PHANTOM_HEART_RATE = 6,      /* beats per minute; 0 = no pulsation [72] */
    VENSEG_PHANTOM_THROMBUS = 7,        /* integral venseg_thrombus [NONE] */
    VENSEG_PHANTOM_COMPRESSION = 8,     /* peak probe pressure, 1 = enough to collapse a normal vein, 0 = none [1] */
    VENSEG_PHANTOM_PROBE_MOTION = 9,    /* lateral probe slide over the sequence, mm [0] */
    VENSEG_PHANTOM_GAIN_DB = 10,        /* overall gain, dB [0] */
    VENSEG_PHANTOM_NOISE = 11,          /* electronic noise level relative to tissue echo, 0..1 [0.05] */
    VENSEG_PHANTOM_PIXEL_SPACING = 12,  /* mm per px (square pixels) [0.15] */
    VENSEG_PHANTOM_VESSELS = 13,        /* integral: 0 none, 1 artery + vein, 2 artery only [1] */
    /* since 0.2.0: an exam that moves like one */
    VENSEG_PHANTOM_VEIN_SIDE = 14,      /* integral: image side of the vein: 0 seeded, 1 left of the artery, 2 right [0] */
    VENSEG_PHANTOM_VEIN_TO_ARTERY = 15, /* vein/artery equivalent-diameter ratio at rest, 0 = seeded (1.2..1.6) [0] */
    VENSEG_PHANTOM_PULSE_AMPLITUDE = 16,/* artery diameter change with each beat, fraction [0.06] */
    VENSEG_PHANTOM_RESPIRATION = 17,    /* vein area variation with breathing, fraction [0] */
    VENSEG_PHANTOM_RESPIRATORY_RATE = 18, /* breaths per minute [15] */
    VENSEG_PHANTOM_THROMBUS_AGE = 19,   /* integral: 0 acute (faint, soft), 1 chronic (bright, stiffer) [0] */
    VENSEG_PHANTOM_PROBE_TILT = 20,     /* peak probe tilt, degrees (vessel sections elongate, echoes dim) [0] */
    VENSEG_PHANTOM_OUT_OF_PLANE = 21,   /* integral: 0 none, 1 the vein leaves the plane for a while (no label there) [0] */
    VENSEG_PHANTOM_DECORRELATION = 22,  /* share of the speckle renewed from one frame to the next, 0..1 [0] */
    VENSEG_PHANTOM_ATTENUATION = 23,    /* tissue attenuation, dB/mm (TGC compensates ATTENUATION - 0.13) [0.75] */
    VENSEG_PHANTOM_BASELINE_S = 24      /* seconds before the probe presses; 0 = 20 % of the clip [0] */
} venseg_phantom_key;

VENSEG_API venseg_status venseg_phantom_config_create(venseg_phantom_config **out);
VENSEG_API void venseg_phantom_config_free(venseg_phantom_config *config);
VENSEG_API venseg_status venseg_phantom_config_set(venseg_phantom_config *config, venseg_phantom_key key,
                                                   double value);
VENSEG_API venseg_status venseg_phantom_config_get(const venseg_phantom_config *config, venseg_phantom_key key,
                                                   double *value);
VENSEG_API venseg_status venseg_phantom_config_bounds(venseg_phantom_key key, double *lower, double *upper,
                                                      double *fallback);

/* config may be NULL (defaults); copied. The phantom is immutable: any number of
 * threads may render frames of it at once. */
VENSEG_API venseg_status venseg_phantom_create(const venseg_phantom_config *config, venseg_phantom **out);
VENSEG_API void venseg_phantom_free(venseg_phantom *phantom);

/* Renders frame index (0..frames-1): 8-bit grey B-mode pixels (nullable) and the
 * ground-truth labels (nullable; 0 background, 1 artery lumen, 2 vein lumen including
 * thrombus). Depends only on (configuration, index), not on the order of calls. */
VENSEG_API venseg_status venseg_phantom_frame(const venseg_phantom *phantom, int32_t index, uint8_t *pixels,
                                              int64_t pixel_stride, uint8_t *labels, int64_t label_stride);

typedef struct venseg_phantom_truth {
    uint32_t struct_size;
    int64_t vein_area_px;        /* pixels of label 2 in this frame */
    int64_t artery_area_px;      /* pixels of label 1 */
    double vein_area_mm2;
    double artery_area_mm2;
    double pressure;             /* probe pressure 0..1 of this frame */
    double true_compressibility_percent; /* of the whole sequence: (rest area - min area) / rest area x 100; NaN without vein */
    double rest_vein_area_px;    /* vein area with no pressure */
    double min_vein_area_px;     /* smallest vein area over the sequence */
    int32_t thrombus;            /* venseg_thrombus */
    /* since 0.2.0 */
    int32_t vein_side;           /* -1 the vein is left of the artery in the image, +1 right, 0 no vein */
    int32_t vein_visible;        /* 0 while the vein is out of the imaging plane (OUT_OF_PLANE) */
    double artery_centroid_x, artery_centroid_y; /* px; NaN when absent */
    double vein_centroid_x, vein_centroid_y;
    double heart_rate_bpm;       /* as configured (0: no pulsation) */
} venseg_phantom_truth;

/* index: a frame index (0..frames-1). */
VENSEG_API venseg_status venseg_phantom_truth_at(const venseg_phantom *phantom, int32_t index,
                                                 venseg_phantom_truth *out);
/* Alias of venseg_phantom_truth_at (ABI 1 name). */
VENSEG_API venseg_status venseg_phantom_truth_get(const venseg_phantom *phantom, int32_t index,
                                                  venseg_phantom_truth *out);

#ifdef __cplusplus
}
#endif

#endif /* VENSEG_VENSEG_TRACKING_H */
