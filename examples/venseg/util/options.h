/*
 * options.h: the options several venseg commands share (--model, --out, --spacing, --roi,
 * --threads, --precision, --progress, -q, --verbose, -h), parsed and checked in one place so that every command
 * accepts the same spellings and says the same thing about a bad value.
 */
#ifndef VENSEG_APP_OPTIONS_H
#define VENSEG_APP_OPTIONS_H

#include <stdint.h>

#include <venseg/venseg.h>

/* Which shared options a command takes (-h / --help always). */
enum {
    VS_OPT_MODEL = 1u << 0,    /* --model FILE */
    VS_OPT_OUT = 1u << 1,      /* --out DIR */
    VS_OPT_SPACING = 1u << 2,  /* --spacing MM[,MMY] */
    VS_OPT_ROI = 1u << 3,      /* --roi X,Y,W,H */
    VS_OPT_THREADS = 1u << 4,  /* --threads N (0..1024) */
    VS_OPT_PROGRESS = 1u << 5, /* --progress */
    VS_OPT_QUIET = 1u << 6,    /* -q, --quiet */
    VS_OPT_VERBOSE = 1u << 7,  /* --verbose: the library's session text in full (vs_session_text) */
    VS_OPT_PRECISION = 1u << 8, /* --precision auto|fp32|bf16|int8|fp16 */
    /* the commands that segment images or clips (segment, analyze) */
    VS_OPT_SEGMENTING = VS_OPT_MODEL | VS_OPT_OUT | VS_OPT_SPACING | VS_OPT_ROI | VS_OPT_THREADS | VS_OPT_PROGRESS |
                        VS_OPT_QUIET | VS_OPT_VERBOSE | VS_OPT_PRECISION
};

/* The programs' --precision default, as the binding's venseg.DEFAULT_PRECISION: auto, since
 * int8 costs at most 0.005 of any mean Dice on the shipped models' validation split (0.0027
 * ResUNet-34, 0.0022 UNet-16: the model cards' precision section; docs/precision.md). */
#define VS_DEFAULT_PRECISION VENSEG_PRECISION_AUTO

/* --precision NAME ("auto", "fp32", "bf16", "int8", "fp16") -> venseg_precision; -1 for
 * any other name. The one parser of precision names (segment, analyze, eval, bench). */
int vs_parse_precision(const char *name);
/* A venseg_precision's name as --precision spells it ("?" outside the enum). */
const char *vs_precision_label(int precision);
/* The names vs_parse_precision takes, for messages: "auto, fp32, bf16, int8 or fp16". */
extern const char vs_precision_choices[];

/* --track-size N|full (analyze, bench --pipeline): the longer side, px, at which the tracker
 * labels and tracks (VENSEG_TRACKER_MAX_SIDE; the network's maps never grow to the frame's
 * size). Unless given: VS_TRACK_SIZE_DEFAULT, or the model's input side if that is larger
 * (vs_track_size_for). 320: at 640 x 480 it cut postprocessing and tracking from 9.6 to 3.0 ms
 * a frame with the verdicts of full resolution (docs/cli.md "Tracking size"). */
#define VS_TRACK_SIZE_DEFAULT 320
#define VS_TRACK_SIZE_FULL (-1)
/* "full" -> VS_TRACK_SIZE_FULL, or N the tracker takes (1 when valid; else 0 and err says
 * why, in the library's words). */
int vs_parse_track_size(const char *s, int *size, char *err, size_t err_size);
/* The VENSEG_TRACKER_MAX_SIDE for a --track-size (0: not given) and a model (nullable): 0
 * for full resolution. */
int vs_track_size_for(int track_size, const venseg_model *model);

/* A session of `model` with `threads` (--threads) and `precision` (--precision); on failure
 * the status, and err says why (int8 on a model without ranges: what to do instead). */
venseg_status vs_open_session(const venseg_model *model, int threads, int precision, venseg_session **out, char *err,
                              size_t err_size);
/* The precision a session runs, as --precision spells it: what the JSON outputs record. */
const char *vs_session_precision(const venseg_session *session);

typedef struct vs_common_opts {
    const char *model_path;      /* NULL: vs_default_model() */
    const char *out_dir;         /* the command's default until given */
    double spacing_x, spacing_y; /* mm per px; 0: unknown */
    int32_t roi[4];              /* x, y, w, h; w == 0: the whole frame */
    int has_roi;
    int threads;                 /* 0: all */
    int progress;                /* 1: --progress; -1: when stderr is a terminal */
    int quiet;
    int verbose;                 /* --verbose */
    int precision;               /* venseg_precision; VS_DEFAULT_PRECISION until given */
} vs_common_opts;

/* Defaults: no model, out_dir as given, no spacing, no ROI, all threads, bar on a terminal. */
void vs_common_opts_init(vs_common_opts *o, const char *default_out_dir);

/*
 * Looks at argv[*i] for command `cmd` (its name in messages) accepting the options in
 * `accepted`. "--key value" and "--key=value" both work. Returns
 *    1  a shared option: taken into o, *i moved past its value;
 *    0  not one of them: the command's own option or argument;
 *   -1  the command ends now with *status: VS_EXIT_OK after printing help (-h, --help),
 *       VS_EXIT_USAGE after printing what is wrong with the value.
 */
int vs_common_option(const char *cmd, const char *help, unsigned accepted, int argc, char **argv, int *i,
                     vs_common_opts *o, int *status);

/* The value of option argv[*i]: after '=' in "--key=value", else argv[*i + 1] (then *i
 * moves on); NULL when there is none. */
const char *vs_option_value(int argc, char **argv, int *i);

/* 1 when argv[i] is option `name`, alone or as "name=value". */
int vs_is_option(const char *arg, const char *name);

/* Prints "venseg CMD: MSG[ARG] (venseg CMD --help)" on stderr; returns VS_EXIT_USAGE. */
int vs_usage_error(const char *cmd, const char *msg, const char *arg);

#endif
