/*
 * libvenseg: artery and vein segmentation in B-mode ultrasound, and vein compressibility.
 *
 * Stable C ABI. Everything declared here keeps its signature and meaning for the
 * whole life of one ABI major (VENSEG_ABI_VERSION == the shared library's SOVERSION);
 * see ABI.md for the policy and the threading rules.
 *
 * Conventions
 *  - Every fallible call returns a venseg_status. On failure, venseg_last_error()
 *    gives a human-readable detail for the calling thread, and every object passed
 *    in stays valid and usable; output pointers are left untouched.
 *  - Objects are opaque. Each *_create / *_load has a *_free; free(NULL) is a no-op.
 *  - The library never prints, aborts or exits.
 *  - Pixel coordinates: x = column, y = row, origin at the top-left pixel's corner;
 *    a pixel's centre is at (x + 0.5, y + 0.5). Strides are in bytes for pixel
 *    buffers and masks, and in elements (floats) for probability maps.
 */
#ifndef VENSEG_VENSEG_H
#define VENSEG_VENSEG_H

#include <stddef.h>
#include <stdint.h>

#include "venseg/venseg_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

#define VENSEG_VERSION_MAJOR 0
#define VENSEG_VERSION_MINOR 5
#define VENSEG_VERSION_PATCH 0
#define VENSEG_VERSION_NUMBER \
    (VENSEG_VERSION_MAJOR * 10000 + VENSEG_VERSION_MINOR * 100 + VENSEG_VERSION_PATCH)
#define VENSEG_VERSION_STRING "0.5.0"
/* Bumped only when the ABI breaks; equals the shared library's SOVERSION. */
#define VENSEG_ABI_VERSION 1

/* The version of the library actually linked (compare with VENSEG_VERSION_NUMBER). */
VENSEG_API unsigned venseg_version_number(void);
VENSEG_API const char *venseg_version_string(void);
/* "key=value;..." description of the build: backends compiled in, OpenMP, zlib. */
VENSEG_API const char *venseg_build_info(void);

/* ----------------------------------------------------------------- status */

/* Values are pinned forever; new codes are only appended. */
typedef enum venseg_status {
    VENSEG_OK = 0,
    VENSEG_E_INVALID_ARGUMENT = 1, /* NULL pointer, bad dimension, bad enum value */
    VENSEG_E_OUT_OF_MEMORY = 2,
    VENSEG_E_IO = 3,               /* a file could not be opened or read */
    VENSEG_E_BAD_FILE = 4,         /* not a weights file, truncated, corrupted, bad CRC */
    VENSEG_E_FILE_VERSION = 5,     /* a weights file of a format version this build cannot read */
    VENSEG_E_BAD_MODEL = 6,        /* well-formed file whose metadata or tensors do not make a valid network */
    VENSEG_E_UNSUPPORTED = 7,      /* valid request this build or CPU cannot do */
    VENSEG_E_BACKEND = 8,          /* a compute backend failed */
    VENSEG_E_BUFFER_TOO_SMALL = 9,
    VENSEG_E_NOT_FOUND = 10,       /* unknown metadata key, index out of range */
    VENSEG_E_BAD_STATE = 11,       /* call not valid in the object's current state */
    VENSEG_E_UNDEFINED = 12,       /* a quantity that is mathematically undefined (e.g. division by a zero area) */
    VENSEG_E_INTERNAL = 13
} venseg_status;

/* "VENSEG_OK", "VENSEG_E_BAD_FILE", ...; "VENSEG_E_UNKNOWN" for values not in the enum. */
VENSEG_API const char *venseg_status_name(venseg_status status);
/* Detail message of the last failed call on this thread ("" if none). Valid until the
 * next call into libvenseg on the same thread. */
VENSEG_API const char *venseg_last_error(void);

/* ---------------------------------------------------------------- options */

/* A session's configuration: keyed integer values (venseg_option) with bounds and
 * defaults, copied by venseg_session_create. Named as the tracker's and the phantom's
 * configurations are; venseg_options is the same type under its ABI 1 name. */
typedef struct venseg_options venseg_options;
typedef struct venseg_options venseg_session_config;

typedef enum venseg_backend {
    VENSEG_BACKEND_AUTO = 0,      /* the fastest backend available for the model */
    VENSEG_BACKEND_REFERENCE = 1, /* portable C + OpenMP; the oracle for all others */
    VENSEG_BACKEND_ONEDNN = 2,
    VENSEG_BACKEND_CUDA = 3
} venseg_backend;

typedef enum venseg_precision {
    VENSEG_PRECISION_FP32 = 0,
    VENSEG_PRECISION_BF16 = 1,
    VENSEG_PRECISION_INT8 = 2,
    VENSEG_PRECISION_FP16 = 3,
    /* since 0.3.0: resolved when the session is created (venseg_session_get says to what,
     * venseg_session_describe why): INT8 on the oneDNN backend when the model carries int8
     * ranges and the CPU has VNNI, else BF16 where the CPU has AMX, else FP32; FP16 on
     * CUDA when the model's calibrated ranges fit fp16, else FP32; FP32 on the reference
     * backend. docs/precision.md */
    VENSEG_PRECISION_AUTO = 4
} venseg_precision;

/* Option keys; values pinned. Keys >= 1000 are reserved for venseg_experimental.h. */
typedef enum venseg_option {
    VENSEG_OPT_BACKEND = 100,           /* venseg_backend, default AUTO */
    VENSEG_OPT_NUM_THREADS = 101,       /* 0 = OpenMP default, else 1..1024 */
    VENSEG_OPT_PRECISION = 102,         /* venseg_precision, default FP32 (AUTO: see above) */
    VENSEG_OPT_DEVICE = 103,            /* device index for GPU backends, default 0 */
    VENSEG_OPT_MIN_INSTANCE_AREA = 104, /* px; smaller components are removed from the mask; default 16 */
    VENSEG_OPT_THRESHOLD_PERMILLE = 105 /* probability threshold x 1000; 0 = the model's own (default) */
} venseg_option;

VENSEG_API venseg_status venseg_session_config_create(venseg_session_config **out);
VENSEG_API void venseg_session_config_free(venseg_session_config *config);
VENSEG_API venseg_status venseg_session_config_set(venseg_session_config *config, venseg_option key, int64_t value);
VENSEG_API venseg_status venseg_session_config_get(const venseg_session_config *config, venseg_option key,
                                                   int64_t *value);
/* Inclusive range of valid values for a key; *fallback (nullable) receives the default. */
VENSEG_API venseg_status venseg_session_config_bounds(venseg_option key, int64_t *lower, int64_t *upper,
                                                      int64_t *fallback);

/* ABI 1 names, aliases of the five above (venseg_option_bounds gives no default). */
VENSEG_API venseg_status venseg_options_create(venseg_options **out);
VENSEG_API void venseg_options_free(venseg_options *options);
VENSEG_API venseg_status venseg_options_set(venseg_options *options, venseg_option key, int64_t value);
VENSEG_API venseg_status venseg_options_get(const venseg_options *options, venseg_option key, int64_t *value);
VENSEG_API venseg_status venseg_option_bounds(venseg_option key, int64_t *lower, int64_t *upper);

/* ------------------------------------------------------------------ model */

/* Immutable once loaded: any number of threads and sessions may share one model.
 * A model may be freed while sessions made from it are alive; it is released with
 * the last of them. */
typedef struct venseg_model venseg_model;

VENSEG_API venseg_status venseg_model_load_file(const char *path, venseg_model **out);
/* The bytes are copied; the caller may free them on return. */
VENSEG_API venseg_status venseg_model_load_memory(const void *data, size_t size, venseg_model **out);
VENSEG_API void venseg_model_free(venseg_model *model);

/* The network's native input (frames are resized to it) and channel count. */
VENSEG_API venseg_status venseg_model_input_size(const venseg_model *model, int32_t *width,
                                                 int32_t *height, int32_t *channels);
VENSEG_API venseg_status venseg_model_class_count(const venseg_model *model, int32_t *count);
/* Class i (0-based) is label value i + 1 in masks; its name, e.g. "artery". The
 * string lives as long as the model. */
VENSEG_API venseg_status venseg_model_class_name_at(const venseg_model *model, int32_t index,
                                                    const char **name);
/* Aliases of the two above (ABI 1 names). */
VENSEG_API venseg_status venseg_model_num_classes(const venseg_model *model, int32_t *n);
VENSEG_API venseg_status venseg_model_class_name(const venseg_model *model, int32_t index,
                                                 const char **name);
/* Metadata by key (see docs/weights-format.md). Strings live as long as the model. */
VENSEG_API venseg_status venseg_model_meta_string(const venseg_model *model, const char *key,
                                                  const char **value);
VENSEG_API venseg_status venseg_model_meta_int(const venseg_model *model, const char *key,
                                               int64_t *value);
VENSEG_API venseg_status venseg_model_meta_double(const venseg_model *model, const char *key,
                                                  double *value);
/* Number of learned parameters (after dequantisation, before BN folding). */
VENSEG_API venseg_status venseg_model_parameter_count(const venseg_model *model, int64_t *count);

/* ---------------------------------------------------------------- session */

/* Per-thread executor: one thread at a time, may move between threads. Holds the
 * backend's plans and the frame buffers: make one per thread and reuse it across
 * frames, not one per frame. */
typedef struct venseg_session venseg_session;

/* options (a venseg_session_config) may be NULL (defaults); they are copied. */
VENSEG_API venseg_status venseg_session_create(const venseg_model *model,
                                               const venseg_options *options,
                                               venseg_session **out);
VENSEG_API void venseg_session_free(venseg_session *session);
/* What the session actually runs: backend (venseg_backend), precision, threads. */
VENSEG_API venseg_status venseg_session_get(const venseg_session *session, venseg_option key,
                                            int64_t *value);
/* e.g. "reference: portable C, OpenMP 2 threads, fp32". Lives as long as the session. */
VENSEG_API const char *venseg_session_describe(const venseg_session *session);

typedef enum venseg_pixel_format {
    VENSEG_PIXEL_GRAY8 = 1,   /* 1 byte per pixel */
    VENSEG_PIXEL_RGB8 = 2,    /* 3 bytes, R G B */
    VENSEG_PIXEL_BGR8 = 3,    /* 3 bytes, B G R */
    VENSEG_PIXEL_GRAY16 = 4,  /* native-endian uint16, full range 0..65535 */
    VENSEG_PIXEL_FLOAT32 = 5  /* native float, one channel, 0.0 black .. 1.0 white */
} venseg_pixel_format;

/* Region of interest for the following frames (the B-mode sector inside a scanner
 * screen). Width or height 0 clears it (whole frame). Pixels outside are label 0
 * and probability 0. */
VENSEG_API venseg_status venseg_session_set_roi(venseg_session *session, int32_t x, int32_t y,
                                                int32_t width, int32_t height);
/* Physical pixel size in mm for the following frames; 0, 0 = unknown (mm results NaN). */
VENSEG_API venseg_status venseg_session_set_pixel_spacing(venseg_session *session,
                                                          double mm_per_px_x, double mm_per_px_y);

/*
 * Segment one frame.
 *  pixels, format, width, height, row_stride: the frame; row_stride in bytes, >= width * pixel size.
 *  label_mask: width x height bytes (mask_stride bytes per row): 0 background, i + 1 class i.
 *  probabilities (nullable): n_classes planes of height rows of width floats, rows
 *    prob_row_stride floats apart, planes height * prob_row_stride floats apart.
 * The frame is resized to the model's input as its metadata says, normalised, run,
 * and the probabilities resized back to the frame. Instances (connected components of
 * each class of at least VENSEG_OPT_MIN_INSTANCE_AREA px) are kept by the session until
 * the next call: see venseg_session_instance_count().
 */
VENSEG_API venseg_status venseg_segment(venseg_session *session, const void *pixels,
                                        venseg_pixel_format format, int32_t width, int32_t height,
                                        int64_t row_stride, uint8_t *label_mask, int64_t mask_stride,
                                        float *probabilities, int64_t prob_row_stride);

/* One connected vessel region of the last segmented frame. The caller sets
 * struct_size = sizeof(venseg_instance); fields beyond it are not written, and new
 * fields are only ever appended. */
typedef struct venseg_instance {
    uint32_t struct_size;
    int32_t label;                /* 1 + class index (1 artery, 2 vein for the shipped models) */
    int64_t area_px;
    double area_mm2;              /* NaN when the pixel spacing is unknown */
    double centroid_x, centroid_y; /* px, frame coordinates of the centre of mass */
    int32_t bbox_x, bbox_y, bbox_width, bbox_height;
    double equivalent_diameter_px; /* diameter of the disc of equal area */
    double equivalent_diameter_mm; /* NaN when the pixel spacing is unknown */
    double mean_probability;      /* mean class probability over the instance */
} venseg_instance;

/* Instances are ordered by label, then by decreasing area. */
VENSEG_API venseg_status venseg_session_instance_count(const venseg_session *session, int32_t *count);
VENSEG_API venseg_status venseg_session_instance_at(const venseg_session *session, int32_t index,
                                                    venseg_instance *out);
/* Alias of venseg_session_instance_at (ABI 1 name). */
VENSEG_API venseg_status venseg_session_instance(const venseg_session *session, int32_t index,
                                                 venseg_instance *out);

/* ---------------------------------------------------------------- metrics */

/* Stateless and reentrant. Masks are label images (uint8, row strides in bytes); the
 * classes to score are sets of label values given as bit masks: bit v set = label v
 * belongs (values 0..31). E.g. artery: VENSEG_LABEL_BIT(1); "vessel" = artery or vein
 * or vessel-of-unknown-class in a ground truth: bits 1 | 2 | 3. */
#define VENSEG_LABEL_BIT(value) (1u << (value))

/* Pixel counts of one class: counts[0] = true positives (in both), counts[1] = false
 * positives (predicted only), counts[2] = false negatives (truth only). Pixels whose
 * truth label is in ignore_labels are not counted. */
VENSEG_API venseg_status venseg_overlap_counts(const uint8_t *pred, int64_t pred_stride, uint32_t pred_labels,
                                               const uint8_t *truth, int64_t truth_stride, uint32_t truth_labels,
                                               uint32_t ignore_labels, int32_t width, int32_t height,
                                               int64_t counts[3]);
/* The same with the prediction a probability map (row stride in floats): positive where
 * p > threshold (strictly, as segmentation_models thresholds; a NaN threshold is invalid). */
VENSEG_API venseg_status venseg_overlap_counts_prob(const float *prob, int64_t prob_stride, float threshold,
                                                    const uint8_t *truth, int64_t truth_stride,
                                                    uint32_t truth_labels, uint32_t ignore_labels, int32_t width,
                                                    int32_t height, int64_t counts[3]);

/* What Dice and Jaccard are when the ground truth is empty. */
typedef enum venseg_empty_rule {
    VENSEG_EMPTY_NAN = 0,   /* MONAI ignore_empty=True: NaN (leave the case out of means) */
    VENSEG_EMPTY_MONAI = 1, /* MONAI ignore_empty=False: 1 if the prediction is empty too, else 0 */
    VENSEG_EMPTY_SMOOTH = 2 /* segmentation_models: (2tp + s) / (2tp + fp + fn + s), (tp + s) / (tp + fp + fn + s) */
} venseg_empty_rule;

/* Dice = 2tp / (2tp + fp + fn); Jaccard = tp / (tp + fp + fn). smooth is s of
 * VENSEG_EMPTY_SMOOTH (segmentation_models uses 1e-5) and must be 0 otherwise; with
 * smooth 0 and both masks empty that rule is VENSEG_E_UNDEFINED. */
VENSEG_API venseg_status venseg_dice(const int64_t counts[3], venseg_empty_rule rule, double smooth, double *dice);
VENSEG_API venseg_status venseg_jaccard(const int64_t counts[3], venseg_empty_rule rule, double smooth,
                                        double *jaccard);

typedef enum venseg_ssim_window {
    VENSEG_SSIM_UNIFORM = 0, /* win_size x win_size mean filter (scikit-image default, 7) */
    VENSEG_SSIM_GAUSSIAN = 1 /* Gaussian sigma 1.5, 11 taps (Wang et al. 2004; gaussian_weights=True) */
} venseg_ssim_window;

/*
 * SSIM as scikit-image's structural_similarity computes it for 2-D float images:
 * filters with 'reflect' borders, C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L = data_range
 * (required, > 0), covariances scaled by NP / (NP - 1) when sample_covariance is set
 * (scikit-image's default; Wang et al. use 0), mean over the map cropped by
 * (win - 1) / 2 pixels. win_size: odd, 3..63 and at most the width and height, for the
 * uniform window (0 = 7); ignored (11) for the Gaussian one. map (nullable): the full,
 * uncropped SSIM map. All three row strides are in floats.
 */
VENSEG_API venseg_status venseg_ssim(const float *x, int64_t x_stride, const float *y, int64_t y_stride,
                                     int32_t width, int32_t height, venseg_ssim_window window, int32_t win_size,
                                     int sample_covariance, double data_range, double *mssim, float *map,
                                     int64_t map_stride);

/*
 * Surface distances between the class regions of two masks, as MONAI computes them:
 * the boundary of a region is its pixels with a 4-neighbour outside it (outside the
 * image counts as outside), distances are exact Euclidean distances between boundary
 * pixel centres scaled by the pixel spacing (1, 1 for pixels; mm per pixel for mm).
 *  hausdorff: max over both directions of the `percentile` (0..100, linear
 *             interpolation; 95 = HD95, 100 = HD) of the directed distances.
 *  mean_distance: mean of pred->truth distances (MONAI symmetric=False).
 *  symmetric_mean: mean over both directions' distances together (ASSD).
 * Both regions empty: NaN; one empty: +infinity (MONAI). Outputs are nullable.
 */
VENSEG_API venseg_status venseg_surface_distance(const uint8_t *pred, int64_t pred_stride, uint32_t pred_labels,
                                                 const uint8_t *truth, int64_t truth_stride, uint32_t truth_labels,
                                                 int32_t width, int32_t height, double spacing_x, double spacing_y,
                                                 double percentile, double *hausdorff, double *mean_distance,
                                                 double *symmetric_mean);

/* Chen et al.: (A_pre - A_compressed) / A_pre x 100 %. Areas in any one unit, >= 0.
 * VENSEG_E_UNDEFINED when area_pre is 0 (no vein before compression). */
VENSEG_API venseg_status venseg_compressibility(double area_pre, double area_compressed, double *percent);

#ifdef __cplusplus
}
#endif

/* the tracker, exam and phantom API: after everything it uses, and it includes nothing back */
#include "venseg/venseg_tracking.h"
#if defined(VENSEG_EXPERIMENTAL)
#include "venseg/venseg_experimental.h"
#endif

#endif /* VENSEG_VENSEG_H */
