/*
 * analysis.h: one compression clip through the model and the tracker, with every
 * output of `venseg analyze` (overlay GIF/MP4, curve PNG, JSON, CSV, HTML report).
 * `venseg demo` runs it too.
 */
#ifndef VENSEG_CLI_ANALYSIS_H
#define VENSEG_CLI_ANALYSIS_H

#include <stdint.h>
#include <venseg/venseg.h>

#include "report/analyze_pipeline.h"
#include "util/media.h"

typedef struct vs_analysis_opts {
    const char *input;     /* video file, GIF, or folder of PNG frames */
    const char *out_dir;   /* made if missing */
    const char *name;      /* output file stem (default: the input's stem) */
    const char *model_path;
    double spacing_x, spacing_y; /* mm per px, 0: unknown */
    double fps;            /* 0: the clip's own */
    int stride;            /* analyse every stride-th frame */
    const char *site;      /* "" or a site label */
    int32_t roi[4];        /* x, y, w, h; w == 0: whole frame */
    int threads;
    int precision;         /* venseg_precision asked (--precision); vs_analysis_run sets what ran, -1: no model */
    int max_frames;        /* 0: all */
    int mp4;               /* 1: also write MP4 when FFmpeg can */
    int full_gif;          /* 1: the overlay GIF with every analysed frame at the stored size (<= 640 px);
                              0: a preview of bounded size (VS_GIF_PREVIEW_*) */
    int progress;          /* progress bar mode: 1, 0, -1 (tty) */
    const char *command_line; /* shown in the report */
    const char *note;      /* extra HTML-escaped line in the report (nullable) */
    int use_labels;        /* PNG folders: track the frames' <stem>_label.png masks, not the model's */
    int medial_side;       /* image side toward the body's midline: -1 left, +1 right, 0 unknown (detected) */
    int verbose;           /* the session as the library describes it, in full (vs_session_text) */
    int sequential;        /* --no-pipeline: decode, segment and encode in turn on one thread */
    int track_size;        /* --track-size: 0 the default (vs_track_size_for), VS_TRACK_SIZE_FULL, or the
                              longer side in px; vs_analysis_run sets the VENSEG_TRACKER_MAX_SIDE it used */
    /* where spacing, fps and roi came from, for the JSON: vs_analysis_run fills them ("option",
     * "dicom:...", "container"; "" unknown) and takes a DICOM clip's own for those not given */
    const char *spacing_source, *fps_source, *roi_source;
    const struct vs_dicom_info *dicom; /* the clip's DICOM header (set by vs_analysis_run), or NULL */
} vs_analysis_opts;

/* The program's own quality flags of the input (not the tracker's, which judge the vessels):
 * the clip was damaged or cut short, so the verdict covers less than the clip. */
enum {
    VS_INPUT_DECODE_ERRORS = 1u << 0, /* FFmpeg reported errors decoding it (damaged data) */
    VS_INPUT_FRAMES_MISSING = 1u << 1 /* read to its end, fewer frames than the container declares
                                         (nb_frames, else duration x frame rate) by more than
                                         VS_FRAMES_TOLERANCE */
};
#define VS_FRAMES_TOLERANCE 2
/* "DECODE_ERRORS", "FRAMES_MISSING". */
const char *vs_input_flag_short(uint32_t flag);
/* The input flags a reader's health gives. */
uint32_t vs_input_flags(const vs_reader_health *h);
/* One line for people about an input flag: what was found and what it means for the verdict. */
void vs_input_warning(const vs_reader_health *h, uint32_t flag, char *out, size_t size);

/* The default overlay GIF, a preview: at most this many px a side, and at most this many frame
 * pixels in all (frames taken evenly): a few MB whatever the clip's length. */
#define VS_GIF_PREVIEW_SIDE 320
#define VS_GIF_PREVIEW_PIXELS (5 * 1000 * 1000)
/* The report embeds the MP4 (H.264, which browsers play) up to this size, else the GIF up to
 * VS_REPORT_GIF_MAX, else links to them. */
#define VS_REPORT_MP4_MAX (8L << 20)
#define VS_REPORT_GIF_MAX (4L << 20)

/* The vessels a result keeps (the tracker may have more: vessel_count says how many). */
#define VS_MAX_VESSELS 8

typedef struct vs_analysis_result {
    venseg_track_summary summary;
    int32_t frames_read;
    int32_t with_artery, with_vein; /* analysed frames where the tracker found the artery / the vein of interest */
    double fps;
    int32_t vessel_count;            /* the tracker's vessels; the first VS_MAX_VESSELS are in vessels */
    venseg_vessel vessels[VS_MAX_VESSELS]; /* the vein of interest, the artery, then the others by size */
    char report[4096], json[4096], csv[4096], summary_csv[4096], gif[4096], mp4[4096], curve[4096];
    uint32_t input_flags;            /* VS_INPUT_*: the clip was damaged or cut short */
    vs_reader_health health;         /* what the clip declared, what was decoded, FFmpeg's errors */
    vs_pipeline_timing timing;       /* per stage, end to end, peak memory (the JSON's "timing") */
} vs_analysis_result;

/* Returns a VS_EXIT_* status; err receives the message of a failure. */
int vs_analysis_run(const vs_analysis_opts *o, venseg_model *model, vs_analysis_result *res, char *err,
                    size_t err_size);
/* Prints the verdict, its confidence, the vessels, flags and output paths (analyze_cmd.c). */
void vs_print_analysis(const vs_analysis_result *r, const char *label);
/* Prints the verdict and identity confidence, the medial side, why the verdict is
 * indeterminate (flags by name) and one line per vessel (shown of count) with its evidence,
 * each line led by indent (analyze_cmd.c; the demo prints its ground truth with it). */
void vs_print_identity(const venseg_track_summary *s, const venseg_vessel *vessels, int32_t shown, int32_t count,
                       const char *indent);
/* Human words for a verdict: "compressible", "NON-COMPRESSIBLE", ... */
const char *vs_verdict_words(int verdict);
/* One line explaining a flag bit. */
const char *vs_flag_text(uint32_t flag);
/* Whether a flag bit only informs (NO_RELEASE, SPACING_UNKNOWN, VESSELS_MERGED,
 * VEIN_INTERMITTENT) rather than being a reason for an indeterminate verdict. */
int vs_flag_informational(uint32_t flag);
/* Why a verdict is indeterminate: the short names of the flags that are not informational,
 * ", "-separated ("IDENTITY_UNCERTAIN, LOW_CONFIDENCE"), or "no flag set" when none is.
 * Returns the number of such flags. */
int vs_indeterminate_reasons(uint32_t flags, char *out, size_t size);

/* --medial-side: "left" -1, "right" +1, "unknown" 0. 1 when s is one of them, else 0. */
int vs_parse_medial_side(const char *s, int *side);
/* "left", "right", "unknown" (any other value). */
const char *vs_medial_side_name(int side);
/* venseg_track_summary.medial_side_source: "configured", "detected", "unknown". */
const char *vs_medial_source_name(int source);
/* A site label the tracker accepts (venseg_tracker_config_set_site: 0..63 printable ASCII). */
int vs_site_valid(const char *site);
/* The identity's name without its prefix: "VEIN", "ARTERY", "OTHER", "UNKNOWN". */
const char *vs_identity_short(int identity);
/* venseg_vessel.role: "VEIN_OF_INTEREST", "ARTERY_OF_INTEREST", "OTHER". */
const char *vs_role_short(int role);
/* One line for people about a vessel: "VEIN   track 2, identity 0.94: <evidence>"; when the
 * library gave no evidence, its measured cues instead. */
void vs_vessel_line(const venseg_vessel *v, char *out, size_t size);
/* "0.91", or "n/a" for NaN. */
void vs_confidence_text(double c, char *out, size_t size);
/* Reads the tracker's vessels into res (vessel_count, vessels). VENSEG_OK or the failure. */
venseg_status vs_analysis_read_vessels(const venseg_tracker *tracker, int32_t *count, venseg_vessel *vessels,
                                       int32_t capacity);

#endif
