/* The corrupted-ground-truth study of the tracker (issue 16, part 3): exam-like phantom
 * clips whose truth label masks are corrupted the way segmenters fail, fed to the tracker.
 * Shared by benchmarks/tracker_study.c (the full study) and tests/test_tracker_corruption.cpp
 * (a short seeded subset); see docs/tracking.md, "Study: corrupted ground-truth masks".
 *
 * Everything is deterministic: a sequence is a function of its number, a corruption of
 * (sequence, family, frame). Plain C11 on the public API; no printing. */
#ifndef VENSEG_TESTS_TRACKER_CORRUPTION_H
#define VENSEG_TESTS_TRACKER_CORRUPTION_H

#include <venseg/venseg.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How the masks are corrupted. */
typedef enum tc_family {
    TC_CLEAN = 0,       /* the truth labels as they are */
    TC_SWAP_ALL = 1,    /* artery and vein labels swapped in every frame */
    TC_SWAP_30 = 2,     /* swapped in 30 % of the frames, drawn independently per frame */
    TC_VEIN_MISSED_30 = 3, /* the vein label erased in 30 % of the frames, independently per frame */
    TC_MERGED = 4,      /* a 3-5 px bridge joins artery and vein, and every vessel pixel is labelled vein, every frame */
    TC_SPURIOUS = 5,    /* small vessel-labelled blobs in random places, ~2 per frame, a quarter lasting 3-8 frames */
    TC_FAMILY_COUNT = 6
} tc_family;

typedef enum tc_kind { TC_NORMAL = 0, TC_PARTIAL = 1, TC_THROMBOSED = 2, TC_KIND_COUNT = 3 } tc_kind;

/* Short names: "clean", "swap_all", ...; "normal", "partial", "thrombosed". */
const char *tc_family_name(int family);
const char *tc_kind_name(int kind);
/* The family or kind of a name, -1 if none. */
int tc_family_from_name(const char *name);

/* Flags that do not excuse a wrong verdict: a wrong verdict that carries none but these is
 * "wrong with no flag". */
#define TC_INFORMATIONAL_FLAGS                                                                            \
    (VENSEG_FLAG_SPACING_UNKNOWN | VENSEG_FLAG_NO_RELEASE | VENSEG_FLAG_VESSELS_MERGED |                  \
     VENSEG_FLAG_VEIN_INTERMITTENT)

/* Bits of tc_sequence.ignored_keys: 1 << key for each phantom key the linked library refused
 * (an older phantom); the clip is then rendered without it. */

/* One exam-like clip: its parameters (drawn from its number) and its rendered truth. */
typedef struct tc_sequence {
    int64_t number;          /* sequence number; kind = number % 3 */
    int kind;                /* tc_kind */
    double phantom_seed;     /* VENSEG_PHANTOM_SEED = 100000 + number */
    int width, height, frames;
    double frame_rate, spacing_mm;
    double baseline_s, heart_rate_bpm, pulse_amplitude, respiration, respiratory_rate;
    int vein_side_key;       /* VENSEG_PHANTOM_VEIN_SIDE asked: 1 left, 2 right */
    double vein_to_artery, probe_motion_mm;
    int thrombus, thrombus_age;
    int bridge_px;           /* TC_MERGED: bridge width */
    uint32_t ignored_keys;   /* phantom keys the library refused (see above) */
    /* truth */
    double true_compressibility;  /* phantom truth, % */
    int truth_verdict;            /* venseg_verdict from it against 90 / 25 */
    int vein_side;                /* truth.vein_side (-1 left, +1 right); from the labels if the phantom gives 0 */
    int vein_side_from_labels;    /* 1 when vein_side came from the frame-0 centroids (older phantom) */
    uint8_t *labels;              /* frames x height x width truth labels */
    venseg_phantom *phantom;
} tc_sequence;

/* Fills the parameters of sequence `number` (no rendering). width/height 0: 256. */
void tc_sequence_params(int64_t number, int width, int height, tc_sequence *out);
/* Creates the phantom and renders every frame's truth labels. On failure returns the status,
 * with the library's message in err (nullable, err_size bytes). */
venseg_status tc_sequence_load(tc_sequence *seq, char *err, size_t err_size);
void tc_sequence_free(tc_sequence *seq);

/* The labels of `frame` under `family` into out (width x height, stride width). */
void tc_corrupt(const tc_sequence *seq, int family, int frame, uint8_t *out);

/* Truth verdict of a true compressibility against the tracker's default thresholds. */
int tc_truth_verdict(double true_compressibility);

enum { TC_RIGHT = 0, TC_INDETERMINATE = 1, TC_WRONG = 2 };

typedef struct tc_result {
    int64_t number;
    int family, kind, medial_known;
    double phantom_seed;
    int truth_verdict;
    double true_compressibility;
    int verdict;
    uint32_t flags;
    double compressibility, verdict_confidence, identity_confidence;
    int medial_side, medial_side_source;
    int outcome;             /* TC_RIGHT / TC_INDETERMINATE / TC_WRONG */
    int wrong_unflagged;     /* wrong, and no flag but the informational ones */
    double abs_error;        /* |compressibility - truth|, 100 when NaN; NaN when indeterminate */
    venseg_status status;    /* VENSEG_OK, or the failing call's status */
    char error[256];
} tc_result;

/* Called after the last push, before the tracker is freed (for curves). */
typedef void (*tc_inspect_fn)(const venseg_tracker *tracker, const tc_sequence *seq, int family, void *ctx);

/* Runs one (sequence, family) through a fresh tracker told the spacing, frame rate, site
 * "common_femoral" and MEDIAL_SIDE = the vein's side (medial_known) or 0. */
venseg_status tc_run(const tc_sequence *seq, int family, int medial_known, tc_result *out, tc_inspect_fn inspect,
                     void *ctx);

/* Per (variant, family, kind) tallies. */
typedef struct tc_tally {
    int n, right, indeterminate, wrong, wrong_unflagged, errors;
    int judged;              /* non-indeterminate verdicts */
    double sum_abs_error;    /* over judged */
} tc_tally;

void tc_tally_add(tc_tally *t, const tc_result *r);
void tc_tally_merge(tc_tally *into, const tc_tally *t);
double tc_tally_accuracy(const tc_tally *t);       /* % right; NaN when n = 0 */
double tc_tally_mean_error(const tc_tally *t);     /* NaN when nothing judged */
/* Whether a result counts as a failure to list: not right, or |error| > 3 points. */
int tc_result_failed(const tc_result *r);

/* The targets per family. */
#define TC_TARGET_ACCURACY_PERCENT 95.0
#define TC_TARGET_MEAN_ABS_ERROR 3.0
#define TC_TARGET_WRONG_UNFLAGGED 0
int tc_tally_meets_targets(const tc_tally *t);

#ifdef __cplusplus
}
#endif

#endif
