/*
 * html_report.h: the self-contained HTML report of one analysed clip (verdict, curve, key
 * frames, flags, overlay clip, versions; every image a data: URI), and the overlay frames
 * the analysis keeps for it.
 */
#ifndef VENSEG_APP_HTML_REPORT_H
#define VENSEG_APP_HTML_REPORT_H

#include <stdint.h>
#include <venseg/venseg.h>

#include "report/analysis.h"
#include "report/viz.h"

/* Overlay frames (palette indices, reduced to <= 640 px) kept for the GIF, the MP4 and the
 * report's key frames. */
typedef struct vs_frames_store {
    int32_t width, height;  /* of the stored overlay frames */
    int32_t n, cap;
    uint8_t **index;        /* overlay palette frames, one per analysed frame */
    int32_t *frame_index;   /* pushed-frame index of each */
} vs_frames_store;
void vs_frames_store_free(vs_frames_store *s);
/* Takes index (malloc'ed) for pushed frame `frame`. 0, or -1 when out of memory. */
int vs_frames_store_add(vs_frames_store *s, uint8_t *index, int32_t frame);
/* The position of pushed frame `frame` in the store, or -1. */
int32_t vs_frames_store_find(const vs_frames_store *s, int32_t frame);

/* What the report shows. */
typedef struct vs_report_ctx {
    const vs_analysis_opts *o;
    const venseg_track_summary *s;
    venseg_model *model;
    const char *session_desc;
    const char *kind;
    int32_t width, height, frames_read;
    double fps;
    const vs_frames_store *store;
    const vs_canvas *plot;
    const char *gif_path, *mp4_path, *mp4_codec;
    int analysed;
    int32_t with_artery, with_vein; /* analysed frames where the tracker found them */
    const venseg_vessel *vessels;   /* the tracker's vessels with their identity and evidence */
    int32_t vessel_shown, vessel_count; /* in vessels; of the tracker */
    uint32_t input_flags;               /* VS_INPUT_*: damaged or cut-short input */
    const vs_reader_health *health;     /* nullable */
} vs_report_ctx;

/* Writes the report to path. 0, or -1 with a message in err. */
int vs_report_write_html(const char *path, const vs_report_ctx *c, char *err, size_t err_size);

/* The API's names without their prefix, as the report and the JSON give them:
 * "NO_VEIN", "COMPRESSIBLE". */
const char *vs_flag_short(uint32_t flag);
const char *vs_verdict_short(int verdict);

#endif
