/* options.c: the options the venseg commands share (see options.h). */
#include "util/options.h"

#include <stdio.h>
#include <string.h>

#include "util/cli_util.h"

void vs_common_opts_init(vs_common_opts *o, const char *default_out_dir)
{
    memset(o, 0, sizeof *o);
    o->out_dir = default_out_dir;
    o->progress = -1;
    o->precision = VS_DEFAULT_PRECISION;
}

static const char *const precision_names[] = {"fp32", "bf16", "int8", "fp16", "auto"}; /* by enum value */
const char vs_precision_choices[] = "auto, fp32, bf16, int8 or fp16";

int vs_parse_precision(const char *name)
{
    return vs_parse_choice(name, precision_names, (int)(sizeof precision_names / sizeof precision_names[0]));
}

const char *vs_precision_label(int precision)
{
    return precision >= 0 && precision < (int)(sizeof precision_names / sizeof precision_names[0])
               ? precision_names[precision]
               : "?";
}

int vs_parse_track_size(const char *s, int *size, char *err, size_t err_size)
{
    long v;
    if (!strcmp(s, "full")) {
        *size = VS_TRACK_SIZE_FULL;
        return 1;
    }
    venseg_tracker_config *c = NULL;
    venseg_status st = vs_parse_long(s, 1, 1L << 20, &v) ? venseg_tracker_config_create(&c) : VENSEG_E_INVALID_ARGUMENT;
    if (!st) st = venseg_tracker_config_set(c, VENSEG_TRACKER_MAX_SIDE, (double)v); /* the library's range */
    venseg_tracker_config_free(c);
    if (st) {
        snprintf(err, err_size, "--track-size must be full or a side in px (at least 32), not %s", s);
        return 0;
    }
    *size = (int)v;
    return 1;
}

int vs_track_size_for(int track_size, const venseg_model *model)
{
    if (track_size == VS_TRACK_SIZE_FULL) return 0;
    if (track_size > 0) return track_size;
    int32_t w = 0, h = 0, c = 0;
    if (model && venseg_model_input_size(model, &w, &h, &c) == VENSEG_OK && (w > h ? w : h) > VS_TRACK_SIZE_DEFAULT)
        return w > h ? w : h;
    return VS_TRACK_SIZE_DEFAULT;
}

venseg_status vs_open_session(const venseg_model *model, int threads, int precision, venseg_session **out, char *err,
                              size_t err_size)
{
    venseg_session_config *opt = NULL;
    venseg_status st = venseg_session_config_create(&opt);
    if (!st) st = venseg_session_config_set(opt, VENSEG_OPT_NUM_THREADS, threads);
    if (!st) st = venseg_session_config_set(opt, VENSEG_OPT_PRECISION, precision);
    if (!st) st = venseg_session_create(model, opt, out);
    venseg_session_config_free(opt);
    const char *unused;
    if (st == VENSEG_E_UNSUPPORTED && precision == VENSEG_PRECISION_INT8 &&
        venseg_model_meta_string(model, "int8.activation_names", &unused) == VENSEG_E_NOT_FOUND)
        /* the library's text names its C calls: say what to do here */
        snprintf(err, err_size,
                 "--precision int8: the model stores no int8 activation ranges (add them with python -m "
                 "venseg.toolkit.calibrate); --precision auto runs fp32 on it");
    else if (st)
        snprintf(err, err_size, "%s: %s", venseg_status_name(st), venseg_last_error());
    return st;
}

const char *vs_session_precision(const venseg_session *session)
{
    int64_t p = -1;
    return venseg_session_get(session, VENSEG_OPT_PRECISION, &p) == VENSEG_OK ? vs_precision_label((int)p) : "?";
}

int vs_usage_error(const char *cmd, const char *msg, const char *arg)
{
    fprintf(stderr, "venseg %s: %s%s (venseg %s --help)\n", cmd, msg, arg ? arg : "", cmd);
    return VS_EXIT_USAGE;
}

int vs_is_option(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || (arg[n] == '=' && name[1] == '-'));
}

const char *vs_option_value(int argc, char **argv, int *i)
{
    const char *eq = argv[*i][0] == '-' && argv[*i][1] == '-' ? strchr(argv[*i], '=') : NULL;
    if (eq) return eq + 1;
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

int vs_common_option(const char *cmd, const char *help, unsigned accepted, int argc, char **argv, int *i,
                     vs_common_opts *o, int *status)
{
    const char *a = argv[*i], *v;
    long lv;

    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
        fputs(help, stdout);
        *status = VS_EXIT_OK;
        return -1;
    }
    if ((accepted & VS_OPT_QUIET) && (!strcmp(a, "-q") || !strcmp(a, "--quiet"))) {
        o->quiet = 1;
        return 1;
    }
    if ((accepted & VS_OPT_VERBOSE) && !strcmp(a, "--verbose")) {
        o->verbose = 1;
        return 1;
    }
    if ((accepted & VS_OPT_PROGRESS) && !strcmp(a, "--progress")) {
        o->progress = 1;
        return 1;
    }
    static const struct {
        unsigned flag;
        const char *name;
    } valued[] = {{VS_OPT_MODEL, "--model"},     {VS_OPT_OUT, "--out"}, {VS_OPT_SPACING, "--spacing"},
                  {VS_OPT_ROI, "--roi"},         {VS_OPT_THREADS, "--threads"}, {VS_OPT_PRECISION, "--precision"}};
    unsigned which = 0;
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
        if ((accepted & valued[k].flag) && vs_is_option(a, valued[k].name)) which = valued[k].flag;
    if (!which) return 0;
    if (!(v = vs_option_value(argc, argv, i))) {
        *status = vs_usage_error(cmd, "unknown or incomplete option ", a);
        return -1;
    }
    switch (which) {
    case VS_OPT_MODEL: o->model_path = v; break;
    case VS_OPT_OUT: o->out_dir = v; break;
    case VS_OPT_SPACING:
        if (!vs_parse_spacing(v, &o->spacing_x, &o->spacing_y)) {
            *status = vs_usage_error(cmd, "--spacing must be MM or MMX,MMY > 0, not ", v);
            return -1;
        }
        break;
    case VS_OPT_ROI:
        if (!vs_parse_roi(v, o->roi)) {
            *status = vs_usage_error(cmd, "--roi must be X,Y,W,H (W, H > 0), not ", v);
            return -1;
        }
        o->has_roi = 1;
        break;
    case VS_OPT_PRECISION:
        if ((o->precision = vs_parse_precision(v)) < 0) {
            char msg[96];
            snprintf(msg, sizeof msg, "--precision must be %s, not ", vs_precision_choices);
            *status = vs_usage_error(cmd, msg, v);
            return -1;
        }
        break;
    default: /* VS_OPT_THREADS */
        if (!vs_parse_long(v, 0, 1024, &lv)) {
            *status = vs_usage_error(cmd, "--threads must be 0..1024, not ", v);
            return -1;
        }
        o->threads = (int)lv;
    }
    return 1;
}
