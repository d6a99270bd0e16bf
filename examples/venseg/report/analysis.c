/* analysis.c: see analysis.h. */
#include "report/analysis.h"
#include "util/dicom_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cli_util.h"
#include "util/media.h"
#include "util/options.h"
#include "util/png_io.h"
#include "report/analyze_pipeline.h"
#include "report/html_report.h"
#include "report/viz.h"

#ifdef VENSEG_CLI_HAVE_CJSON
#include <cjson/cJSON.h>
#endif

const char *vs_verdict_words(int verdict)
{
    switch (verdict) {
    case VENSEG_VERDICT_COMPRESSIBLE: return "compressible";
    case VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE: return "PARTIALLY compressible";
    case VENSEG_VERDICT_NON_COMPRESSIBLE: return "NON-COMPRESSIBLE";
    default: return "indeterminate";
    }
}

const char *vs_flag_text(uint32_t flag)
{
    switch (flag) {
    case VENSEG_FLAG_NO_VESSEL: return "no artery and no vein found in any analysed frame";
    case VENSEG_FLAG_NO_VEIN: return "no vein of interest found (or seen too briefly)";
    case VENSEG_FLAG_NO_ARTERY: return "no artery: the vein is the largest one, not the one beside the artery";
    case VENSEG_FLAG_VEIN_LOST: return "the vein vanished while still open (segmentation or tracking lost it)";
    case VENSEG_FLAG_PROBE_MOVED: return "the vessels drifted sideways: the probe slid";
    case VENSEG_FLAG_ARTERY_NOT_DEFORMED: return "the artery never flattened: the pressure may have been too light";
    case VENSEG_FLAG_SEQUENCE_TOO_SHORT: return "too few analysed frames";
    case VENSEG_FLAG_NO_COMPRESSION: return "no compression phase detected";
    case VENSEG_FLAG_NO_RELEASE: return "informational: the vein did not reopen after the minimum";
    case VENSEG_FLAG_SPACING_UNKNOWN: return "informational: no pixel spacing, so no mm values";
    case VENSEG_FLAG_UNSTABLE: return "the vein area jumps between frames like noise, not like a compression";
    case VENSEG_FLAG_IDENTITY_CONFLICT:
        return "the network's artery/vein labels disagree with the dynamics and the anatomy";
    case VENSEG_FLAG_IDENTITY_UNCERTAIN: return "which vessel is the vein is not clear enough";
    case VENSEG_FLAG_LOW_CONFIDENCE: return "the evidence is too weak for a verdict (verdict confidence below the minimum)";
    case VENSEG_FLAG_VESSELS_MERGED: return "informational: touching vessels were split into artery and vein";
    case VENSEG_FLAG_VEIN_INTERMITTENT:
        return "informational: the vein was missed in some open frames; they were skipped";
    case VENSEG_FLAG_SHRANK_NOT_FLATTENED:
        return "the vein's mask shrank every way instead of flattening: the segmentation lost it, the probe did not compress it";
    default: return "unknown flag";
    }
}

int vs_flag_informational(uint32_t flag)
{
    return flag == VENSEG_FLAG_NO_RELEASE || flag == VENSEG_FLAG_SPACING_UNKNOWN || flag == VENSEG_FLAG_VESSELS_MERGED ||
           flag == VENSEG_FLAG_VEIN_INTERMITTENT;
}

int vs_indeterminate_reasons(uint32_t flags, char *out, size_t size)
{
    int n = 0;
    size_t at = 0;
    if (size) out[0] = '\0';
    for (int b = 0; b < 32; b++) {
        uint32_t bit = 1u << b;
        if (!(flags & bit) || vs_flag_informational(bit)) continue;
        if (size > at) at += (size_t)snprintf(out + at, size - at, "%s%s", n ? ", " : "", vs_flag_short(bit));
        n++;
    }
    if (n == 0 && size) snprintf(out, size, "no flag set");
    return n;
}

const char *vs_input_flag_short(uint32_t flag)
{
    return flag == VS_INPUT_DECODE_ERRORS ? "DECODE_ERRORS" : flag == VS_INPUT_FRAMES_MISSING ? "FRAMES_MISSING" : "UNKNOWN";
}

uint32_t vs_input_flags(const vs_reader_health *h)
{
    uint32_t f = 0;
    if (h->decode_errors > 0 || h->damaged_frames > 0) f |= VS_INPUT_DECODE_ERRORS;
    if (h->at_end && h->frames_declared > 0 && h->frames_decoded < h->frames_declared - VS_FRAMES_TOLERANCE)
        f |= VS_INPUT_FRAMES_MISSING;
    return f;
}

void vs_input_warning(const vs_reader_health *h, uint32_t flag, char *out, size_t size)
{
    if (flag == VS_INPUT_FRAMES_MISSING) {
        double share = h->frames_declared > 0 ? 100.0 * h->frames_decoded / h->frames_declared : 0;
        snprintf(out, size,
                 "the clip declares %d frames (%s) but only %d could be decoded: the file is cut short or damaged, "
                 "and the analysis covers %.0f %% of it",
                 h->frames_declared, !strcmp(h->declared_from, "duration") ? "its duration x frame rate" : h->declared_from,
                 h->frames_decoded, share);
    } else if (flag == VS_INPUT_DECODE_ERRORS) {
        char damaged[64] = "";
        if (h->damaged_frames > 0)
            snprintf(damaged, sizeof damaged, ", %d frame%s decoded only in part", h->damaged_frames,
                     h->damaged_frames == 1 ? "" : "s");
        snprintf(out, size, "FFmpeg reported %d decoding error%s%s (first: %s): the clip is damaged; frames near the "
                            "damage may be wrong",
                 h->decode_errors, h->decode_errors == 1 ? "" : "s", damaged, h->first_error[0] ? h->first_error : "none named");
    } else {
        snprintf(out, size, "unknown input flag");
    }
}

int vs_parse_medial_side(const char *s, int *side)
{
    static const char *const names[] = {"left", "unknown", "right"};
    int k = s ? vs_parse_choice(s, names, 3) : -1;
    if (k < 0) return 0;
    *side = k - 1;
    return 1;
}

const char *vs_medial_side_name(int side) { return side < 0 ? "left" : side > 0 ? "right" : "unknown"; }

const char *vs_medial_source_name(int source)
{
    return source == 1 ? "configured" : source == 2 ? "detected" : "unknown";
}

int vs_site_valid(const char *site)
{
    venseg_tracker_config *c = NULL;
    int ok = venseg_tracker_config_create(&c) == VENSEG_OK && venseg_tracker_config_set_site(c, site) == VENSEG_OK;
    venseg_tracker_config_free(c);
    return ok;
}

const char *vs_identity_short(int identity)
{
    const char *n = venseg_identity_name((venseg_vessel_identity)identity);
    return strncmp(n, "VENSEG_IDENTITY_", 16) == 0 ? n + 16 : n;
}

const char *vs_role_short(int role)
{
    return role == 2 ? "VEIN_OF_INTEREST" : role == 1 ? "ARTERY_OF_INTEREST" : "OTHER";
}

void vs_confidence_text(double c, char *out, size_t size)
{
    if (isfinite(c)) snprintf(out, size, "%.2f", c);
    else snprintf(out, size, "n/a");
}

/* Appends one measured cue (fmt with its value) at out + at; a NaN one is left out. */
static size_t cue(char *out, size_t size, size_t at, const char *fmt, double v)
{
    if (!isfinite(v) || at >= size) return at;
    return at + (size_t)snprintf(out + at, size - at, fmt, v);
}

void vs_vessel_line(const venseg_vessel *v, char *out, size_t size)
{
    char conf[32];
    vs_confidence_text(v->identity_confidence, conf, sizeof conf);
    size_t at = (size_t)snprintf(out, size, "%-6s track %d, identity %s: ", vs_identity_short(v->identity),
                                 v->track_id, conf);
    if (at >= size) return;
    char evidence[sizeof v->evidence + 1];
    memcpy(evidence, v->evidence, sizeof v->evidence);
    evidence[sizeof v->evidence] = '\0'; /* the library terminates it; a copy bounds a bad one */
    if (evidence[0]) {
        snprintf(out + at, size - at, "%s", evidence);
        return;
    }
    size_t start = at; /* no evidence line: the measured cues */
    at = cue(out, size, at, "network vein share %.2f, ", v->network_vein_fraction);
    at = cue(out, size, at, "pulsatility %.1f %%, ", v->pulsatility_percent);
    at = cue(out, size, at, "pulse %.0f bpm, ", v->pulse_rate_bpm);
    at = cue(out, size, at, "roundness %.2f, ", v->roundness);
    at = cue(out, size, at, "position %+.2f, ", v->position_score);
    at = cue(out, size, at, "%.0f %% compressed, ", v->compressibility_percent);
    if (at == start) snprintf(out + at, size - at, "no evidence measured");
    else if (at < size && at >= 2) out[at - 2] = '\0';
}

venseg_status vs_analysis_read_vessels(const venseg_tracker *tracker, int32_t *count, venseg_vessel *vessels,
                                       int32_t capacity)
{
    int32_t n = 0;
    venseg_status st = venseg_tracker_vessel_count(tracker, &n);
    *count = 0;
    if (st) return st;
    for (int32_t i = 0; i < n && i < capacity; i++) {
        memset(&vessels[i], 0, sizeof vessels[i]);
        vessels[i].struct_size = sizeof vessels[i];
        if ((st = venseg_tracker_vessel_at(tracker, i, &vessels[i]))) return st;
    }
    *count = n;
    return VENSEG_OK;
}

static void path_join(char *out, size_t size, const char *dir, const char *name, const char *suffix)
{
    snprintf(out, size, "%s/%s%s", dir, name, suffix);
}

/* ------------------------------------------------------------------- JSON */

#ifdef VENSEG_CLI_HAVE_CJSON
/* Finishes the GIF *w (set to NULL either way); 0, or -1 with err naming path. */
static int close_gif(vs_gif_writer **w, const char *path, char *err, size_t err_size)
{
    char why[256];
    int rc = vs_gif_close(*w, why, sizeof why);
    *w = NULL;
    if (rc != 0) snprintf(err, err_size, "%s: %s", path, why);
    return rc != 0 ? -1 : 0;
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

/* Where spacing, fps and roi came from (null: unknown), and a DICOM clip's header. */
static void add_sources(cJSON *in, const vs_analysis_opts *o)
{
    const char *src[3] = {o->spacing_source, o->fps_source, o->roi_source};
    const char *key[3] = {"pixel_spacing_source", "fps_source", "roi_source"};
    for (int k = 0; k < 3; k++)
        cJSON_AddItemToObject(in, key[k], src[k] && *src[k] ? cJSON_CreateString(src[k]) : cJSON_CreateNull());
    const vs_dicom_info *d = o->dicom;
    if (!d) return;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "transfer_syntax", d->transfer_syntax);
    cJSON_AddStringToObject(j, "transfer_syntax_uid", d->transfer_syntax_uid);
    cJSON_AddStringToObject(j, "photometric", d->photometric);
    cJSON_AddStringToObject(j, "modality", d->modality);
    cJSON_AddNumberToObject(j, "frames", d->frames);
    cJSON_AddNumberToObject(j, "bits_stored", d->bits_stored);
    cJSON_AddItemToObject(j, "pixel_spacing_mm", d->spacing_x > 0 ? cJSON_CreateDoubleArray((double[]){d->spacing_x, d->spacing_y}, 2) : cJSON_CreateNull());
    cJSON_AddItemToObject(j, "fps", d->fps > 0 ? cJSON_CreateNumber(d->fps) : cJSON_CreateNull());
    cJSON_AddItemToObject(j, "region", d->roi[2] > 0 ? cJSON_CreateIntArray((const int[]){d->roi[0], d->roi[1], d->roi[2], d->roi[3]}, 4) : cJSON_CreateNull());
    if (d->grey_mapping && *d->grey_mapping) cJSON_AddStringToObject(j, "grey_mapping", d->grey_mapping);
    cJSON_AddItemToObject(in, "dicom", j);
}

/* files: per pushed frame its file name ("" when the clip has none): the frames' "file". */
static int write_json(const char *path, const vs_report_ctx *c, int32_t n, const int32_t *fi, const double *raw,
                      const double *smooth, const double *art, const double *raw_mm, const double *smooth_mm,
                      const double *art_mm, const vs_strlist *files, const vs_pipeline_timing *tm, char *err,
                      size_t err_size)
{
    const venseg_track_summary *s = c->s;
    cJSON *root = cJSON_CreateObject(), *sum = cJSON_CreateObject(), *flags = cJSON_CreateArray(),
          *frames = cJSON_CreateArray(), *in = cJSON_CreateObject(), *mod = cJSON_CreateObject();
    const char *arch = "", *enc = "";
    venseg_model_meta_string(c->model, "general.architecture", &arch);
    venseg_model_meta_string(c->model, "encoder.name", &enc);
    cJSON_AddStringToObject(root, "format", "venseg-analysis-1");
    cJSON_AddStringToObject(in, "path", c->o->input);
    cJSON_AddStringToObject(in, "kind", c->kind);
    cJSON_AddNumberToObject(in, "width", c->width);
    cJSON_AddNumberToObject(in, "height", c->height);
    cJSON_AddNumberToObject(in, "frames_read", c->frames_read);
    cJSON_AddItemToObject(in, "fps", num_or_null(c->fps > 0 ? c->fps : NAN));
    cJSON_AddNumberToObject(in, "stride", c->o->stride);
    /* the longer side the tracker labelled and tracked at (0: the frames' own size) */
    cJSON_AddNumberToObject(in, "track_size", c->o->track_size);
    cJSON_AddStringToObject(in, "site", c->o->site ? c->o->site : "");
    cJSON_AddStringToObject(in, "medial_side", vs_medial_side_name(c->o->medial_side));
    cJSON_AddItemToObject(in, "pixel_spacing_mm", c->o->spacing_x > 0 ? cJSON_CreateDoubleArray((double[]){c->o->spacing_x, c->o->spacing_y}, 2) : cJSON_CreateNull());
    cJSON_AddItemToObject(in, "roi", c->o->roi[2] > 0 ? cJSON_CreateIntArray((const int[]){c->o->roi[0], c->o->roi[1], c->o->roi[2], c->o->roi[3]}, 4) : cJSON_CreateNull());
    add_sources(in, c->o);
    /* the clip's own health: a damaged or cut-short clip is flagged here (the tracker's flags
     * are about the vessels) */
    const vs_reader_health *h = c->health;
    cJSON *iflags = cJSON_CreateArray(), *warnings = cJSON_CreateArray();
    if (h) {
        cJSON_AddItemToObject(in, "frames_declared", h->frames_declared >= 0 ? cJSON_CreateNumber(h->frames_declared) : cJSON_CreateNull());
        cJSON_AddStringToObject(in, "frames_declared_from", h->declared_from);
        cJSON_AddNumberToObject(in, "frames_decoded", h->frames_decoded);
        cJSON_AddNumberToObject(in, "decode_errors", h->decode_errors);
        cJSON_AddNumberToObject(in, "damaged_frames", h->damaged_frames);
        cJSON_AddItemToObject(in, "first_decode_error", h->first_error[0] ? cJSON_CreateString(h->first_error) : cJSON_CreateNull());
        for (uint32_t bit = 1; bit <= VS_INPUT_FRAMES_MISSING; bit <<= 1) {
            if (!(c->input_flags & bit)) continue;
            char line[512];
            vs_input_warning(h, bit, line, sizeof line);
            cJSON_AddItemToArray(iflags, cJSON_CreateString(vs_input_flag_short(bit)));
            cJSON_AddItemToArray(warnings, cJSON_CreateString(line));
        }
    }
    cJSON_AddItemToObject(in, "flags", iflags);
    cJSON_AddItemToObject(in, "warnings", warnings);
    cJSON_AddItemToObject(root, "input", in);
    cJSON_AddStringToObject(mod, "path", c->o->model_path);
    cJSON_AddBoolToObject(mod, "masks_from_labels", c->o->use_labels != 0);
    cJSON_AddStringToObject(mod, "architecture", arch);
    cJSON_AddStringToObject(mod, "encoder", enc);
    cJSON_AddStringToObject(mod, "session", c->session_desc);
    cJSON_AddStringToObject(mod, "precision", c->o->precision >= 0 ? vs_precision_label(c->o->precision) : "none");
    cJSON_AddStringToObject(mod, "library", venseg_version_string());
    cJSON_AddItemToObject(root, "model", mod);
    cJSON_AddStringToObject(sum, "verdict", vs_verdict_short(s->verdict));
    for (int b = 0; b < 32; b++)
        if (s->flags & (1u << b)) cJSON_AddItemToArray(flags, cJSON_CreateString(vs_flag_short(1u << b)));
    cJSON_AddItemToObject(sum, "flags", flags);
    cJSON_AddNumberToObject(sum, "frames_analysed", s->frames_analysed);
    cJSON_AddNumberToObject(sum, "frames_with_artery", c->with_artery);
    cJSON_AddNumberToObject(sum, "frames_with_vein", c->with_vein);
    cJSON_AddNumberToObject(sum, "baseline_frame", s->baseline_frame);
    cJSON_AddNumberToObject(sum, "min_frame", s->min_frame);
    cJSON_AddItemToObject(sum, "baseline_area_px", num_or_null(s->baseline_area_px));
    cJSON_AddItemToObject(sum, "min_area_px", num_or_null(s->min_area_px));
    cJSON_AddItemToObject(sum, "baseline_area_mm2", num_or_null(s->baseline_area_mm2));
    cJSON_AddItemToObject(sum, "min_area_mm2", num_or_null(s->min_area_mm2));
    /* the result only with a verdict; the measurement always, under its own name */
    const int judged = s->verdict != VENSEG_VERDICT_INDETERMINATE;
    cJSON_AddItemToObject(sum, "compressibility_percent", num_or_null(judged ? s->compressibility_percent : NAN));
    cJSON_AddItemToObject(sum, "measured_compressibility_percent", num_or_null(s->compressibility_percent));
    cJSON_AddItemToObject(sum, "artery_deformation_percent", num_or_null(s->artery_deformation_percent));
    cJSON_AddItemToObject(sum, "max_lateral_shift_px", num_or_null(s->max_lateral_shift_px));
    cJSON_AddItemToObject(sum, "verdict_confidence", num_or_null(s->verdict_confidence));
    cJSON_AddItemToObject(sum, "identity_confidence", num_or_null(s->identity_confidence));
    cJSON_AddItemToObject(sum, "pressure_correlation", num_or_null(s->pressure_correlation));
    cJSON_AddStringToObject(sum, "medial_side", vs_medial_side_name(s->medial_side));
    cJSON_AddStringToObject(sum, "medial_side_source", vs_medial_source_name(s->medial_side_source));
    cJSON_AddNumberToObject(sum, "identity_frames", s->identity_frames);
    cJSON_AddNumberToObject(sum, "vessel_count", s->vessel_count);
    cJSON *reasons = cJSON_CreateArray(); /* why there is no verdict: [] when there is one */
    for (int b = 0; b < 32 && s->verdict == VENSEG_VERDICT_INDETERMINATE; b++)
        if ((s->flags & (1u << b)) && !vs_flag_informational(1u << b))
            cJSON_AddItemToArray(reasons, cJSON_CreateString(vs_flag_short(1u << b)));
    cJSON_AddItemToObject(sum, "indeterminate_reasons", reasons);
    cJSON_AddItemToObject(sum, "input_warnings", cJSON_Duplicate(warnings, 1)); /* the clip damaged or cut short */
    cJSON_AddItemToObject(root, "summary", sum);
    cJSON *vessels = cJSON_CreateArray();
    for (int32_t i = 0; i < c->vessel_shown; i++) {
        const venseg_vessel *v = &c->vessels[i];
        cJSON *o = cJSON_CreateObject();
        char evidence[sizeof v->evidence + 1];
        memcpy(evidence, v->evidence, sizeof v->evidence);
        evidence[sizeof v->evidence] = '\0';
        cJSON_AddNumberToObject(o, "track_id", v->track_id);
        cJSON_AddStringToObject(o, "identity", vs_identity_short(v->identity));
        cJSON_AddStringToObject(o, "role", vs_role_short(v->role));
        cJSON_AddItemToObject(o, "identity_confidence", num_or_null(v->identity_confidence));
        cJSON_AddNumberToObject(o, "frames_present", v->frames_present);
        cJSON_AddNumberToObject(o, "first_frame", v->first_frame);
        cJSON_AddItemToObject(o, "network_vein_fraction", num_or_null(v->network_vein_fraction));
        cJSON_AddItemToObject(o, "pulsatility_percent", num_or_null(v->pulsatility_percent));
        cJSON_AddItemToObject(o, "pulse_rate_bpm", num_or_null(v->pulse_rate_bpm));
        cJSON_AddItemToObject(o, "roundness", num_or_null(v->roundness));
        cJSON_AddItemToObject(o, "wall_contrast", num_or_null(v->wall_contrast));
        cJSON_AddItemToObject(o, "size_ratio", num_or_null(v->size_ratio));
        cJSON_AddItemToObject(o, "position_score", num_or_null(v->position_score));
        cJSON_AddItemToObject(o, "mean_area_px", num_or_null(v->mean_area_px));
        cJSON_AddItemToObject(o, "compressibility_percent", num_or_null(v->compressibility_percent));
        cJSON_AddStringToObject(o, "evidence", evidence);
        cJSON_AddItemToArray(vessels, o);
    }
    cJSON_AddItemToObject(root, "vessels", vessels);
    for (int32_t i = 0; i < n; i++) {
        cJSON *fr = cJSON_CreateObject();
        cJSON_AddNumberToObject(fr, "frame", fi[i]);
        cJSON_AddItemToObject(fr, "time_s", num_or_null(c->fps > 0 ? fi[i] / c->fps : NAN));
        cJSON_AddNumberToObject(fr, "vein_area_px", raw[i]);
        cJSON_AddNumberToObject(fr, "vein_area_smoothed_px", smooth[i]);
        cJSON_AddNumberToObject(fr, "artery_area_px", art[i]);
        if (raw_mm) {
            cJSON_AddNumberToObject(fr, "vein_area_mm2", raw_mm[i]);
            cJSON_AddNumberToObject(fr, "vein_area_smoothed_mm2", smooth_mm[i]);
            cJSON_AddNumberToObject(fr, "artery_area_mm2", art_mm[i]);
        }
        const char *file = fi[i] >= 0 && (size_t)fi[i] < files->n ? files->v[fi[i]] : "";
        cJSON_AddItemToObject(fr, "file", *file ? cJSON_CreateString(file) : cJSON_CreateNull());
        cJSON_AddItemToArray(frames, fr);
    }
    cJSON_AddItemToObject(root, "frames", frames);
    cJSON_AddItemToObject(root, "timing", vs_pipeline_timing_json(tm));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    FILE *f = text ? fopen(path, "w") : NULL;
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0) ok = 0;
    cJSON_free(text);
    if (!ok) {
        snprintf(err, err_size, "%s: cannot write", path);
        return -1;
    }
    return 0;
}
#endif

/* ------------------------------------------------------------ summary CSV */

static void csv_number(FILE *f, double v, const char *fmt)
{
    fputc(',', f);
    if (isfinite(v)) fprintf(f, fmt, v);
}

/* NAME-summary.csv: one header row and one row for the clip (the per-frame areas are in
 * NAME.csv): the verdict, its confidence, the identity and, per vessel of the pair, its
 * identity and evidence. */
static int write_summary_csv(const char *path, const vs_report_ctx *c, char *err, size_t err_size)
{
    const venseg_track_summary *s = c->s;
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_size, "%s: cannot write", path);
        return -1;
    }
    fputs("name,site,verdict,compressibility_percent,verdict_confidence,identity_confidence,medial_side,"
          "medial_side_source,flags,indeterminate_reasons,frames_analysed,vessel_count,"
          "vein_track_id,vein_identity_confidence,vein_evidence,artery_track_id,artery_identity_confidence,"
          "artery_evidence,input_flags,frames_declared,frames_decoded,decode_errors\n",
          f);
    vs_csv_field(f, c->o->name);
    fputc(',', f);
    vs_csv_field(f, c->o->site ? c->o->site : "");
    fprintf(f, ",%s", vs_verdict_short(s->verdict));
    csv_number(f, s->verdict != VENSEG_VERDICT_INDETERMINATE ? s->compressibility_percent : NAN, "%.2f");
    csv_number(f, s->verdict_confidence, "%.4f");
    csv_number(f, s->identity_confidence, "%.4f");
    fprintf(f, ",%s,%s,", vs_medial_side_name(s->medial_side), vs_medial_source_name(s->medial_side_source));
    char names[512] = "", reasons[512] = ""; /* ';'-separated short names */
    size_t at = 0, at_r = 0;
    for (int b = 0; b < 32; b++) {
        uint32_t bit = 1u << b;
        if (!(s->flags & bit)) continue;
        if (at < sizeof names) at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", at ? ";" : "", vs_flag_short(bit));
        if (s->verdict == VENSEG_VERDICT_INDETERMINATE && !vs_flag_informational(bit) && at_r < sizeof reasons)
            at_r += (size_t)snprintf(reasons + at_r, sizeof reasons - at_r, "%s%s", at_r ? ";" : "", vs_flag_short(bit));
    }
    vs_csv_field(f, names);
    fputc(',', f);
    vs_csv_field(f, reasons);
    fprintf(f, ",%d,%d", s->frames_analysed, s->vessel_count);
    for (int role = 2; role >= 1; role--) { /* the vein of interest, then the artery */
        const venseg_vessel *v = NULL;
        for (int32_t i = 0; i < c->vessel_shown && !v; i++)
            if (c->vessels[i].role == role) v = &c->vessels[i];
        char evidence[sizeof v->evidence + 1] = "";
        if (v) {
            memcpy(evidence, v->evidence, sizeof v->evidence);
            evidence[sizeof v->evidence] = '\0';
            fprintf(f, ",%d", v->track_id);
        } else {
            fputc(',', f);
        }
        csv_number(f, v ? v->identity_confidence : NAN, "%.4f");
        fputc(',', f);
        vs_csv_field(f, evidence);
    }
    /* the clip's health: its flags (';'-separated), declared and decoded frames, FFmpeg's errors */
    char iflags[64] = "";
    for (uint32_t bit = 1, at_i = 0; bit <= VS_INPUT_FRAMES_MISSING; bit <<= 1)
        if (c->input_flags & bit)
            at_i += (uint32_t)snprintf(iflags + at_i, sizeof iflags - at_i, "%s%s", at_i ? ";" : "", vs_input_flag_short(bit));
    fputc(',', f);
    vs_csv_field(f, iflags);
    if (c->health && c->health->frames_declared >= 0) fprintf(f, ",%d", c->health->frames_declared);
    else fputc(',', f);
    fprintf(f, ",%d,%d", c->health ? c->health->frames_decoded : c->frames_read, c->health ? c->health->decode_errors : 0);
    fputc('\n', f);
    if (fclose(f) != 0) {
        snprintf(err, err_size, "%s: write failed", path);
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------------------- run */

/* The clip is missing, or a folder without frames (vs_list_frames finds none). */
static int input_missing(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return 1;
    if (!S_ISDIR(sb.st_mode)) return 0;
    vs_strlist names = {0};
    char e[512];
    int none = vs_list_frames(path, &names, e, sizeof e) != 0;
    vs_strlist_free(&names);
    return none;
}

/* A DICOM clip's spacing, frame rate and ultrasound region, for what the caller did not give
 * (an option wins over the file); each value's source for the JSON. */
static void dicom_defaults(vs_analysis_opts *o, const vs_reader *rd)
{
    const vs_dicom_info *d = vs_reader_dicom(rd);
    o->dicom = d;
    o->spacing_source = o->spacing_x > 0 ? "option" : "";
    o->roi_source = o->roi[2] > 0 ? "option" : "";
    o->fps_source = o->fps > 0 ? "option" : NULL; /* NULL: decided with the reader's own rate */
    if (!d) return;
    if (!(o->spacing_x > 0) && d->spacing_x > 0)
        o->spacing_x = d->spacing_x, o->spacing_y = d->spacing_y, o->spacing_source = d->spacing_source;
    if (!(o->fps > 0) && d->fps > 0) o->fps = d->fps, o->fps_source = d->fps_source;
    if (o->roi[2] <= 0 && d->roi[2] > 0) {
        memcpy(o->roi, d->roi, sizeof o->roi);
        o->roi_source = d->roi_source;
    }
}

static int status_fail(char *err, size_t err_size, const char *what, venseg_status st)
{
    snprintf(err, err_size, "%s: %s: %s", what, venseg_status_name(st), venseg_last_error());
    return VS_EXIT_ERROR;
}

int vs_analysis_run(const vs_analysis_opts *o, venseg_model *model, vs_analysis_result *res, char *err,
                    size_t err_size)
{
    int rc = VS_EXIT_ERROR;
    vs_reader *rd = NULL;
    venseg_session *ses = NULL;
    venseg_tracker_config *cfg = NULL;
    venseg_tracker *trk = NULL;
    vs_frames_store store = {0}; /* the report's two key frames (made again at the end) */
    vs_pipeline_out pout = {0};  /* frames read, per pushed frame its file name, the MP4's failure */
    vs_strlist made = {0};  /* the output folders this run made: a failed run takes them away */
    vs_gif_writer *gif = NULL;
    vs_mp4_writer *mp4 = NULL;
    vs_gif_preview preview = {0};
    const double t_start = vs_now_ms();
    vs_canvas plot = {0};
    int32_t *fi = NULL;
    double *curve[6] = {NULL};
    venseg_status st;
    char name[256], e2[512];
    vs_analysis_opts oo = *o;

    memset(res, 0, sizeof *res);
#ifndef VENSEG_CLI_HAVE_CJSON
    snprintf(err, err_size, "venseg analyze writes JSON with cJSON; this venseg was built without it");
    return VS_EXIT_UNAVAILABLE;
#endif
    if (!oo.name || !*oo.name) {
        vs_stem(oo.input, name, sizeof name);
        if (!*name) snprintf(name, sizeof name, "clip");
        oo.name = name;
    }
    if (oo.stride < 1) oo.stride = 1;
    if (vs_reader_open(oo.input, &rd, e2, sizeof e2) != 0) {
        snprintf(err, err_size, "%s", e2);
        /* missing or unreadable inputs get their own status, and so does a folder without
         * frames (as in segment) */
        return input_missing(oo.input) || strstr(e2, "No such file") || strstr(e2, "cannot open") ||
                       strstr(e2, "Permission")
                   ? VS_EXIT_INPUT
               : strstr(e2, "built without")                    ? VS_EXIT_UNAVAILABLE
               : strstr(e2, VS_DICOM_BAD) || strstr(e2, VS_DICOM_UNSUPPORTED) ? VS_EXIT_INPUT
                                                                : VS_EXIT_ERROR;
    }
    dicom_defaults(&oo, rd);
    if (vs_mkdirs_made(oo.out_dir, &made, err, err_size) != 0) goto out;
    int32_t w = vs_reader_width(rd), h = vs_reader_height(rd);
    double fps = oo.fps > 0 ? oo.fps : vs_reader_fps(rd);
    if (!oo.fps_source) oo.fps_source = fps > 0 ? (oo.fps > 0 ? "option" : "container") : "";
    if (oo.roi[2] > 0 && ((int64_t)oo.roi[0] + oo.roi[2] > w || (int64_t)oo.roi[1] + oo.roi[3] > h)) {
        snprintf(err, err_size, "--roi %d,%d,%d,%d lies outside the %dx%d frames", oo.roi[0], oo.roi[1], oo.roi[2],
                 oo.roi[3], w, h);
        rc = VS_EXIT_USAGE;
        goto out;
    }
    if (!oo.model_path) oo.model_path = "none";
    if (!model && !oo.use_labels) {
        snprintf(err, err_size, "no model");
        goto out;
    }
    /* decoding and encoding run beside the network on their own threads: it takes the other cores */
    if (oo.threads == 0 && !oo.sequential) oo.threads = vs_pipeline_network_threads();
    char why[768];
    if (model && (st = vs_open_session(model, oo.threads, oo.precision, &ses, why, sizeof why))) {
        snprintf(err, err_size, "session: %s", why);
        rc = VS_EXIT_ERROR;
        goto out;
    }
    int64_t ran = -1; /* the JSON records what ran (auto resolved) */
    if (ses) venseg_session_get(ses, VENSEG_OPT_PRECISION, &ran);
    oo.precision = (int)ran;
    if (ses && oo.roi[2] > 0 && (st = venseg_session_set_roi(ses, oo.roi[0], oo.roi[1], oo.roi[2], oo.roi[3]))) {
        rc = status_fail(err, err_size, "--roi", st);
        goto out;
    }
    /* labels and tracking at a bounded size (the overlays are bounded apart, below) */
    oo.track_size = vs_track_size_for(oo.track_size, model);
    if ((st = venseg_tracker_config_create(&cfg)) ||
        (st = venseg_tracker_config_set(cfg, VENSEG_TRACKER_FRAME_STRIDE, oo.stride)) ||
        (oo.spacing_x > 0 && (st = venseg_tracker_config_set(cfg, VENSEG_TRACKER_PIXEL_SPACING_X, oo.spacing_x))) ||
        (oo.spacing_y > 0 && (st = venseg_tracker_config_set(cfg, VENSEG_TRACKER_PIXEL_SPACING_Y, oo.spacing_y))) ||
        (fps > 0 && (st = venseg_tracker_config_set(cfg, VENSEG_TRACKER_FRAME_RATE, fps))) ||
        (oo.site && *oo.site && (st = venseg_tracker_config_set_site(cfg, oo.site))) ||
        (oo.medial_side && (st = venseg_tracker_config_set(cfg, VENSEG_TRACKER_MEDIAL_SIDE, oo.medial_side))) ||
        (st = venseg_tracker_config_set(cfg, VENSEG_TRACKER_MAX_SIDE, oo.track_size)) ||
        (st = venseg_tracker_create(cfg, &trk))) {
        rc = status_fail(err, err_size, "tracker configuration", st);
        goto out;
    }
    if (ses && oo.spacing_x > 0) venseg_session_set_pixel_spacing(ses, oo.spacing_x, oo.spacing_y);
    /* overlays at <= 640 px (the MP4, the GIF, the key frames), streamed as frames come: none is
     * held (report/analyze_pipeline.h) */
    int shrink = (w > h ? w : h) > 640 ? ((w > h ? w : h) + 639) / 640 : 1;
    store.width = w / shrink, store.height = h / shrink;
    int total = vs_reader_frame_count(rd);
    if (oo.max_frames > 0 && (total == 0 || total > oo.max_frames)) total = oo.max_frames;
    /* the GIF: --full-gif every analysed frame at the stored size, written as they come; by
     * default a preview of bounded size (VS_GIF_PREVIEW_*), held and written at the end */
    const char *gif_path = NULL, *mp4_path = NULL, *mp4_codec = NULL;
    int gif_delay = 0;
    if (vs_media_have_gif()) {
        path_join(res->gif, sizeof res->gif, oo.out_dir, oo.name, "-overlay.gif");
        if (oo.full_gif) {
            gif_delay = fps > 0 ? (int)lround(100.0 * oo.stride / fps) : 10;
            if (gif_delay < 2) gif_delay = 2;
            if (vs_gif_open(res->gif, store.width, store.height, vs_overlay_palette(), &gif, e2, sizeof e2) != 0) {
                snprintf(err, err_size, "%s", e2);
                goto out;
            }
        } else {
            int32_t expected = total > 0 ? (total + oo.stride - 1) / oo.stride : 0;
            vs_gif_preview_init(&preview, store.width, store.height, expected);
            /* a clip that declares its length: the preview's frames are written as they come */
            preview.delay = fps > 0 ? (int)lround(100.0 * oo.stride * preview.step / fps) : 10 * preview.step;
            if (preview.delay < 2) preview.delay = 2;
            if (expected > 0 && vs_gif_open(res->gif, preview.width, preview.height, vs_overlay_palette(),
                                             &preview.writer, e2, sizeof e2) != 0) {
                snprintf(err, err_size, "%s", e2);
                goto out;
            }
        }
    }
    if (oo.mp4 && vs_media_have_video()) {
        path_join(res->mp4, sizeof res->mp4, oo.out_dir, oo.name, "-overlay.mp4");
        if (vs_mp4_open(res->mp4, store.width, store.height, fps > 0 ? fps / oo.stride : 10, &mp4, &mp4_codec,
                        pout.mp4_error, sizeof pout.mp4_error) != 0)
            pout.mp4_failed = 1;
    }
    vs_progress bar;
    vs_progress_start(&bar, "analysing", total, oo.progress);
    vs_pipeline_io io = {rd, oo.input, ses, trk, oo.use_labels, oo.max_frames, oo.sequential, w, h, shrink,
                         store.width, store.height, mp4, gif, gif_delay,
                         vs_media_have_gif() && !oo.full_gif ? &preview : NULL, &bar};
    rc = vs_pipeline_run(&io, &pout, &res->timing, err, err_size);
    vs_progress_end(&bar);
    if (rc != VS_EXIT_OK) goto out;
    rc = VS_EXIT_ERROR;
    const double t_streamed = vs_now_ms();
    const int32_t pushed = pout.pushed, with_artery = pout.with_artery, with_vein = pout.with_vein;
    if (pushed == 0) {
        snprintf(err, err_size, "%s: no frames", oo.input);
        goto out;
    }
    res->frames_read = pushed;
    vs_reader_get_health(rd, &res->health);
    res->input_flags = vs_input_flags(&res->health);
    for (uint32_t bit = 1; bit <= VS_INPUT_FRAMES_MISSING; bit <<= 1)
        if (res->input_flags & bit) { /* never silent: the outputs carry it, and so does stderr */
            vs_input_warning(&res->health, bit, e2, sizeof e2);
            fprintf(stderr, "venseg: warning: %s: %s\n", oo.input, e2);
        }
    res->with_artery = with_artery, res->with_vein = with_vein;
    res->fps = fps;
    res->summary.struct_size = sizeof res->summary;
    if ((st = venseg_tracker_summary_get(trk, &res->summary))) {
        rc = status_fail(err, err_size, "tracker summary", st);
        goto out;
    }
    if ((st = vs_analysis_read_vessels(trk, &res->vessel_count, res->vessels, VS_MAX_VESSELS))) {
        rc = status_fail(err, err_size, "tracker vessels", st);
        goto out;
    }
    /* the curve, in px and (with spacing) mm2 */
    int32_t n = 0;
    venseg_tracker_curve(trk, VENSEG_AREA_PX, 0, &n, NULL, NULL, NULL, NULL);
    int have_mm = oo.spacing_x > 0;
    fi = malloc(sizeof *fi * (size_t)(n ? n : 1));
    for (int k = 0; k < 6; k++) curve[k] = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!fi || !curve[0] || !curve[1] || !curve[2] || !curve[3] || !curve[4] || !curve[5]) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    if ((st = venseg_tracker_curve(trk, VENSEG_AREA_PX, n, &n, fi, curve[0], curve[1], curve[2])) ||
        (have_mm && (st = venseg_tracker_curve(trk, VENSEG_AREA_MM2, n, &n, NULL, curve[3], curve[4], curve[5])))) {
        rc = status_fail(err, err_size, "tracker curve", st);
        goto out;
    }
    /* plot */
    double *xs = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!xs) goto out;
    for (int32_t i = 0; i < n; i++) xs[i] = fps > 0 ? fi[i] / fps : fi[i];
    const venseg_track_summary *s = &res->summary;
    vs_plot_data pd = {n,
                       xs,
                       have_mm ? curve[3] : curve[0],
                       have_mm ? curve[4] : curve[1],
                       have_mm ? curve[5] : curve[2],
                       s->baseline_frame >= 0 ? (fps > 0 ? s->baseline_frame / fps : s->baseline_frame) : NAN,
                       s->min_frame >= 0 ? (fps > 0 ? s->min_frame / fps : s->min_frame) : NAN,
                       fps > 0 ? "TIME (S)" : "FRAME",
                       have_mm ? "AREA (MM2)" : "AREA (PX)",
                       NULL};
    char title[160];
    snprintf(title, sizeof title, "VEIN AREA - %s", vs_verdict_words(s->verdict));
    pd.title = title;
    int prc = vs_plot_render(&pd, 760, 340, &plot);
    free(xs);
    if (prc != 0) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    path_join(res->curve, sizeof res->curve, oo.out_dir, oo.name, "-curve.png");
    if (vs_png_write_rgb(res->curve, plot.rgb, plot.width, plot.height, e2, sizeof e2) != 0) {
        snprintf(err, err_size, "%s: %s", res->curve, e2);
        goto out;
    }
    /* the GIF: the --full-gif one finished, or the preview written from the held frames (at most
     * VS_GIF_PREVIEW_SIDE px a side, at most VS_GIF_PREVIEW_PIXELS frame pixels, frames taken
     * evenly and each shown longer) */
    double t0 = vs_now_ms();
    if (gif) {
        if (close_gif(&gif, res->gif, err, err_size)) goto out;
        gif_path = res->gif;
    } else if (preview.writer) {
        if (close_gif(&preview.writer, res->gif, err, err_size)) goto out;
        gif_path = res->gif;
    } else if (io.preview) {
        int32_t step;
        vs_gif_preview_select(&preview, res->timing.analysed, &step);
        int delay = fps > 0 ? (int)lround(100.0 * oo.stride * step / fps) : 10 * step;
        if (delay < 2) delay = 2;
        if (vs_gif_open(res->gif, preview.width, preview.height, vs_overlay_palette(), &gif, e2, sizeof e2) != 0) {
            snprintf(err, err_size, "%s", e2);
            goto out;
        }
        for (int32_t i = 0; i < preview.n; i++)
            if (preview.analysed_index[i] % step == 0 && vs_gif_add(gif, preview.frames[i], delay, e2, sizeof e2) != 0) {
                snprintf(err, err_size, "%s: %s", res->gif, e2);
                goto out;
            }
        if (close_gif(&gif, res->gif, err, err_size)) goto out;
        gif_path = res->gif;
    }
    if (mp4 && vs_mp4_close(mp4, e2, sizeof e2) != 0 && !pout.mp4_failed) {
        pout.mp4_failed = 1;
        snprintf(pout.mp4_error, sizeof pout.mp4_error, "%s", e2);
    }
    mp4 = NULL;
    if (res->mp4[0] && !pout.mp4_failed) {
        mp4_path = res->mp4;
    } else if (res->mp4[0]) {
        fprintf(stderr, "venseg: warning: no MP4 written (%s)\n", pout.mp4_error);
        remove(res->mp4);
        res->mp4[0] = '\0';
    }
    const double finish_ms = vs_now_ms() - t0;
    res->timing.encode_ms += finish_ms;
    /* the report's key frames: the baseline and the maximum compression, else the first and the
     * middle analysed frame, made again from a second read of the clip */
    t0 = vs_now_ms();
    int32_t want[2] = {s->baseline_frame, s->min_frame};
    for (int k = 0; k < 2; k++) {
        venseg_track_frame tf = {.struct_size = sizeof tf};
        if (want[k] < 0)
            want[k] = venseg_tracker_frame_at(trk, k == 0 ? 0 : res->timing.analysed / 2, &tf) == VENSEG_OK
                          ? tf.frame_index
                          : 0;
    }
    if ((rc = vs_pipeline_key_frames(oo.input, ses, oo.use_labels, oo.track_size, want, shrink, store.width, store.height, &store,
                                     err, err_size)) != VS_EXIT_OK)
        goto out;
    rc = VS_EXIT_ERROR;
    res->timing.key_frames_ms = vs_now_ms() - t0;
    /* the network alone on this session: splits the library's time per frame */
    t0 = vs_now_ms();
    res->timing.network_ms = ses ? vs_pipeline_network_ms(ses, model, 5) : 0;
    const double probe_ms = vs_now_ms() - t0;
    int64_t nthreads = 0;
    if (ses && venseg_session_get(ses, VENSEG_OPT_NUM_THREADS, &nthreads) == VENSEG_OK)
        res->timing.network_threads = (int)nthreads;
    char session_text[1024]; /* "...; CPU (no GPU found)" rather than the CUDA runtime's error, unless --verbose */
    vs_report_ctx rc_ = {&oo, s, model,
                      ses ? vs_session_text(venseg_session_describe(ses), oo.verbose, session_text, sizeof session_text)
                          : "none (--use-labels)",
                      vs_reader_kind(rd), w, h, pushed, fps, &store,
                      &plot, gif_path, mp4_path, mp4_codec, n, with_artery, with_vein, res->vessels,
                      res->vessel_count < VS_MAX_VESSELS ? res->vessel_count : VS_MAX_VESSELS, res->vessel_count,
                      res->input_flags, &res->health};
    /* CSV */
    path_join(res->csv, sizeof res->csv, oo.out_dir, oo.name, ".csv");
    FILE *csv = fopen(res->csv, "w");
    if (!csv) {
        snprintf(err, err_size, "%s: cannot write", res->csv);
        goto out;
    }
    fprintf(csv, "frame,time_s,vein_area_px,vein_area_smoothed_px,artery_area_px%s,file\n",
            have_mm ? ",vein_area_mm2,vein_area_smoothed_mm2,artery_area_mm2" : "");
    for (int32_t i = 0; i < n; i++) {
        char t[40] = "";
        if (fps > 0) snprintf(t, sizeof t, "%.4f", fi[i] / fps);
        fprintf(csv, "%d,%s,%.0f,%.1f,%.0f", fi[i], t, curve[0][i], curve[1][i], curve[2][i]);
        if (have_mm) fprintf(csv, ",%.4f,%.4f,%.4f", curve[3][i], curve[4][i], curve[5][i]);
        fputc(',', csv);
        vs_csv_field(csv, fi[i] >= 0 && (size_t)fi[i] < pout.files.n ? pout.files.v[fi[i]] : "");
        fputc('\n', csv);
    }
    if (fclose(csv) != 0) {
        snprintf(err, err_size, "%s: write failed", res->csv);
        goto out;
    }
    path_join(res->summary_csv, sizeof res->summary_csv, oo.out_dir, oo.name, "-summary.csv");
    if (write_summary_csv(res->summary_csv, &rc_, err, err_size) != 0) goto out;
#ifdef VENSEG_CLI_HAVE_CJSON
    path_join(res->json, sizeof res->json, oo.out_dir, oo.name, ".json");
    res->timing.wall_ms = vs_now_ms() - t_start;
    res->timing.outputs_ms = vs_now_ms() - t_streamed - finish_ms - res->timing.key_frames_ms - probe_ms;
    res->timing.peak_rss_mb = vs_peak_rss_mb();
    if (write_json(res->json, &rc_, n, fi, curve[0], curve[1], curve[2], have_mm ? curve[3] : NULL, curve[4],
                   curve[5], &pout.files, &res->timing, err, err_size) != 0)
        goto out;
#else
    (void)probe_ms, (void)finish_ms;
#endif
    path_join(res->report, sizeof res->report, oo.out_dir, oo.name, "-report.html");
    if (vs_report_write_html(res->report, &rc_, err, err_size) != 0) goto out;
    rc = VS_EXIT_OK;
out:
    if (rc != VS_EXIT_OK) { /* a failed run leaves nothing behind: no partial outputs, no empty folder */
        const char *written[] = {res->curve, res->gif, res->mp4, res->csv, res->summary_csv, res->json, res->report};
        vs_undo_outputs(written, (int)(sizeof written / sizeof written[0]), &made);
        res->curve[0] = res->gif[0] = res->mp4[0] = res->csv[0] = res->summary_csv[0] = res->json[0] =
            res->report[0] = '\0';
    }
    vs_strlist_free(&made);
    for (int k = 0; k < 6; k++) free(curve[k]);
    free(fi);
    vs_canvas_free(&plot);
    vs_gif_close(gif, NULL, 0);
    vs_mp4_close(mp4, NULL, 0);
    vs_gif_preview_free(&preview);
    vs_frames_store_free(&store);
    vs_strlist_free(&pout.files);
    venseg_tracker_free(trk);
    venseg_tracker_config_free(cfg);
    venseg_session_free(ses);
    vs_reader_close(rd);
    return rc;
}
