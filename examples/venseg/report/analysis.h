/*
 * analysis.h: one compression clip through the model and the tracker, with every
 * output of `venseg analyze` (overlay GIF/MP4, curve PNG, JSON, CSV, HTML report).
 * `venseg demo` runs it too.
 */
#ifndef VENSEG_CLI_ANALYSIS_H
#define VENSEG_CLI_ANALYSIS_H

#include <stdint.h>
#include <venseg/venseg.h>

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
    int max_frames;        /* 0: all */
    int mp4;               /* 1: also write MP4 when FFmpeg can */
    int progress;          /* progress bar mode: 1, 0, -1 (tty) */
    const char *command_line; /* shown in the report */
    const char *note;      /* extra HTML-escaped line in the report (nullable) */
    int use_labels;        /* PNG folders: track the frames' <stem>_label.png masks, not the model's */
} vs_analysis_opts;

typedef struct vs_analysis_result {
    venseg_track_summary summary;
    int32_t frames_read;
    int32_t with_artery, with_vein; /* analysed frames where the tracker found the artery / the vein of interest */
    double fps;
    char report[4096], json[4096], csv[4096], gif[4096], mp4[4096], curve[4096];
} vs_analysis_result;

/* Returns a VS_EXIT_* status; err receives the message of a failure. */
int vs_analysis_run(const vs_analysis_opts *o, venseg_model *model, vs_analysis_result *res, char *err,
                    size_t err_size);
/* Prints the verdict, flags and output paths (analyze_cmd.c). */
void vs_print_analysis(const vs_analysis_result *r, const char *label);
/* Human words for a verdict: "compressible", "NON-COMPRESSIBLE", ... */
const char *vs_verdict_words(int verdict);
/* One line explaining a flag bit. */
const char *vs_flag_text(uint32_t flag);

#endif
