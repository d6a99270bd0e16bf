/* tracker_study: the tracker on corrupted ground-truth masks (issue 16, part 3).
 *
 * Exam-like phantom clips (tests/tracker_corruption.c draws them from their number) have
 * their truth label masks corrupted the way segmenters fail (clean, labels swapped on the
 * whole clip, swapped in 30 % of frames, vein missed in 30 % of frames, artery and vein
 * merged, spurious blobs) and fed to the tracker, once with MEDIAL_SIDE = the vein's side
 * and once with it unknown. Prints JSON: per variant, family and kind the verdicts (right /
 * indeterminate / wrong), the wrong ones with no flag but informational ones, the mean
 * |compressibility - truth|, and every failing sequence. See docs/tracking.md, "Study:
 * corrupted ground-truth masks".
 *
 *   tracker_study [--count N] [--offset K] [--threads T] [--size W H] [--json PATH]
 *                 [--markdown PATH] [--all] [--curve SEQ FAMILY [known|unknown]]
 *
 * --count: sequences per family (default 60: 20 of each kind; every family sees the same
 * sequences); --offset: first sequence number (default 0); --threads: OpenMP threads over
 * sequences (default: OpenMP's); --curve: print the per-frame curve of one run instead. */
#include <venseg/venseg.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "tracker_corruption.h"

enum { N_VARIANTS = 2 };
static const char *const variant_names[N_VARIANTS] = {"medial_side_known", "medial_side_unknown"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void usage(void)
{
    fprintf(stderr, "usage: tracker_study [--count N] [--offset K] [--threads T] [--size W H] [--json PATH]\n"
                    "                     [--markdown PATH] [--all] [--curve SEQ FAMILY [known|unknown]]\n"
                    "families:");
    for (int f = 0; f < TC_FAMILY_COUNT; f++) fprintf(stderr, " %s", tc_family_name(f));
    fprintf(stderr, "\n");
}

/* ------------------------------------------------------------------- JSON */

static void json_num(FILE *o, double v)
{
    if (v == v && !isinf(v)) fprintf(o, "%.4f", v);
    else fprintf(o, "null");
}

static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(o, "\\%c", ch);
        else if (ch < 0x20) fprintf(o, "\\u%04x", ch);
        else fputc(ch, o);
    }
    fputc('"', o);
}

static void json_flags(FILE *o, uint32_t flags)
{
    fputc('[', o);
    int first = 1;
    for (int b = 0; b < 32; b++)
        if (flags & (1u << b)) {
            fprintf(o, "%s", first ? "" : ", ");
            json_str(o, venseg_flag_name(1u << b));
            first = 0;
        }
    fputc(']', o);
}

static const char *short_verdict(int v)
{
    switch (v) {
    case VENSEG_VERDICT_COMPRESSIBLE: return "compressible";
    case VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE: return "partial";
    case VENSEG_VERDICT_NON_COMPRESSIBLE: return "non_compressible";
    default: return "indeterminate";
    }
}

static const char *failure_reason(const tc_result *r)
{
    if (r->status) return "error";
    if (!tc_result_failed(r)) return "right";
    if (r->wrong_unflagged) return "wrong_unflagged";
    if (r->outcome == TC_WRONG) return "wrong";
    if (r->outcome == TC_INDETERMINATE) return "indeterminate";
    return "error_above_3_points";
}

static void json_tally(FILE *o, const tc_tally *t)
{
    fprintf(o, "\"n\": %d, \"right\": %d, \"indeterminate\": %d, \"wrong\": %d, \"wrong_unflagged\": %d, "
               "\"run_errors\": %d, \"accuracy_percent\": ",
            t->n, t->right, t->indeterminate, t->wrong, t->wrong_unflagged, t->errors);
    json_num(o, tc_tally_accuracy(t));
    fprintf(o, ", \"judged\": %d, \"mean_abs_error\": ", t->judged);
    json_num(o, tc_tally_mean_error(t));
}

static void json_failure(FILE *o, const tc_result *r)
{
    fprintf(o, "{\"seq\": %lld, \"phantom_seed\": %.0f, \"reason\": \"%s\", \"truth_verdict\": \"%s\", "
               "\"true_compressibility\": ",
            (long long)r->number, r->phantom_seed, failure_reason(r), short_verdict(r->truth_verdict));
    json_num(o, r->true_compressibility);
    fprintf(o, ", \"verdict\": \"%s\", \"compressibility\": ", short_verdict(r->verdict));
    json_num(o, r->compressibility);
    fprintf(o, ", \"abs_error\": ");
    json_num(o, r->abs_error);
    fprintf(o, ", \"flags\": ");
    json_flags(o, r->flags);
    fprintf(o, ", \"verdict_confidence\": ");
    json_num(o, r->verdict_confidence);
    fprintf(o, ", \"identity_confidence\": ");
    json_num(o, r->identity_confidence);
    fprintf(o, ", \"medial_side\": %d, \"medial_side_source\": %d", r->medial_side, r->medial_side_source);
    tc_sequence s; /* the clip's parameters, for debugging (drawn again: no rendering) */
    tc_sequence_params(r->number, 0, 0, &s);
    fprintf(o, ", \"clip\": {\"frames\": %d, \"baseline_s\": %.2f, \"heart_rate_bpm\": %.1f, \"pulse_amplitude\": %.3f, "
               "\"respiration\": %.3f, \"respiratory_rate\": %.1f, \"vein_side_key\": %d, \"vein_to_artery\": %.2f, "
               "\"probe_motion_mm\": %.2f, \"thrombus_age\": %d, \"bridge_px\": %d}",
            s.frames, s.baseline_s, s.heart_rate_bpm, s.pulse_amplitude, s.respiration, s.respiratory_rate,
            s.vein_side_key, s.vein_to_artery, s.probe_motion_mm, s.thrombus_age, s.bridge_px);
    if (r->status) {
        fprintf(o, ", \"error\": ");
        json_str(o, r->error);
    }
    fputc('}', o);
}

/* ---------------------------------------------------------------- curve mode */

typedef struct curve_ctx {
    FILE *o;
} curve_ctx;

static void print_curve(const venseg_tracker *t, const tc_sequence *s, int family, void *vctx)
{
    FILE *o = ((curve_ctx *)vctx)->o;
    int32_t n = 0;
    venseg_tracker_curve(t, VENSEG_AREA_PX, 0, &n, NULL, NULL, NULL, NULL);
    int32_t *fi = calloc((size_t)n + 1, sizeof *fi);
    double *raw = calloc((size_t)n + 1, sizeof *raw), *sm = calloc((size_t)n + 1, sizeof *sm),
           *art = calloc((size_t)n + 1, sizeof *art);
    uint8_t *buf = malloc((size_t)s->width * s->height);
    if (!fi || !raw || !sm || !art || !buf ||
        venseg_tracker_curve(t, VENSEG_AREA_PX, n, &n, fi, raw, sm, art) != VENSEG_OK) {
        fprintf(o, "curve unavailable: %s\n", venseg_last_error());
        n = 0;
    }
    fprintf(o, "# frame pressure truth_vein_px truth_artery_px pushed_vein_px pushed_artery_px | vein_present "
               "vein_px vein_smoothed artery_px vein_id artery_id instances vein_cx,cy artery_cx,cy\n");
    for (int32_t i = 0; i < n; i++) {
        venseg_phantom_truth tr;
        memset(&tr, 0, sizeof tr);
        tr.struct_size = sizeof tr;
        venseg_phantom_truth_at(s->phantom, fi[i], &tr);
        tc_corrupt(s, family, fi[i], buf);
        long long pv = 0, pa = 0;
        for (size_t k = 0, m = (size_t)s->width * s->height; k < m; k++) {
            pv += buf[k] == 2;
            pa += buf[k] == 1;
        }
        venseg_track_frame fr;
        memset(&fr, 0, sizeof fr);
        fr.struct_size = sizeof fr;
        venseg_tracker_frame_at(t, i, &fr);
        fprintf(o, "%4d %5.3f %6lld %6lld %6lld %6lld | %d %6.0f %8.1f %6.0f %3d %3d %2d %6.1f,%6.1f %6.1f,%6.1f\n",
                fi[i], tr.pressure, (long long)tr.vein_area_px, (long long)tr.artery_area_px, pv, pa, fr.vein_present,
                raw[i], sm[i], art[i], fr.vein_track_id, fr.artery_track_id, fr.instance_count, fr.vein_centroid_x,
                fr.vein_centroid_y, fr.artery_centroid_x, fr.artery_centroid_y);
    }
    venseg_track_summary sum;
    memset(&sum, 0, sizeof sum);
    sum.struct_size = sizeof sum;
    venseg_tracker_summary_get(t, &sum);
    fprintf(o, "# summary: %s, C %.2f %% (truth %.2f), baseline frame %d (%.0f px), min frame %d (%.0f px), "
               "artery deformation %.1f %%, verdict confidence %.3f, identity confidence %.3f, medial side %d "
               "(source %d), vein track %d, artery track %d\n# flags:",
            venseg_verdict_name((venseg_verdict)sum.verdict), sum.compressibility_percent, s->true_compressibility,
            sum.baseline_frame, sum.baseline_area_px, sum.min_frame, sum.min_area_px, sum.artery_deformation_percent,
            sum.verdict_confidence, sum.identity_confidence, sum.medial_side, sum.medial_side_source,
            sum.vein_track_id, sum.artery_track_id);
    for (int b = 0; b < 32; b++)
        if (sum.flags & (1u << b)) fprintf(o, " %s", venseg_flag_name(1u << b));
    fprintf(o, "\n");
    int32_t nv = 0;
    if (venseg_tracker_vessel_count(t, &nv) == VENSEG_OK)
        for (int32_t i = 0; i < nv; i++) {
            venseg_vessel v;
            memset(&v, 0, sizeof v);
            v.struct_size = sizeof v;
            if (venseg_tracker_vessel_at(t, i, &v) != VENSEG_OK) break;
            fprintf(o, "# vessel track %d: %s (conf %.2f) role %d, frames %d, first %d, net vein frac %.2f, pulsatility "
                       "%.2f %% at %.0f bpm, roundness %.2f, size ratio %.2f, position %.2f, mean area %.0f px, C %.1f "
                       "%%: %s\n",
                    v.track_id, venseg_identity_name((venseg_vessel_identity)v.identity), v.identity_confidence, v.role,
                    v.frames_present, v.first_frame, v.network_vein_fraction, v.pulsatility_percent, v.pulse_rate_bpm,
                    v.roundness, v.size_ratio, v.position_score, v.mean_area_px, v.compressibility_percent, v.evidence);
        }
    free(fi);
    free(raw);
    free(sm);
    free(art);
    free(buf);
}

static int curve_mode(long long seq_no, int family, int medial_known, int w, int h)
{
    tc_sequence s;
    tc_sequence_params(seq_no, w, h, &s);
    char err[256] = "";
    if (tc_sequence_load(&s, err, sizeof err)) {
        fprintf(stderr, "tracker_study: sequence %lld: %s\n", seq_no, err);
        return 1;
    }
    printf("# sequence %lld (phantom seed %.0f), %s, family %s, medial side %s (vein side %d%s)\n"
           "# %d frames at %.0f Hz, %d x %d px at %.2f mm, baseline %.2f s, heart %.0f bpm, pulse %.3f, "
           "respiration %.3f at %.1f/min, vein side key %d, vein/artery %.2f, probe motion %.2f mm, thrombus %d "
           "age %d, bridge %d px; truth C %.2f %% (%s); phantom keys ignored: 0x%x\n",
           seq_no, s.phantom_seed, tc_kind_name(s.kind), tc_family_name(family), medial_known ? "known" : "unknown",
           s.vein_side, s.vein_side_from_labels ? ", from the labels" : "", s.frames, s.frame_rate, s.width, s.height,
           s.spacing_mm, s.baseline_s, s.heart_rate_bpm, s.pulse_amplitude, s.respiration, s.respiratory_rate,
           s.vein_side_key, s.vein_to_artery, s.probe_motion_mm, s.thrombus, s.thrombus_age, s.bridge_px,
           s.true_compressibility, short_verdict(s.truth_verdict), s.ignored_keys);
    curve_ctx ctx = {stdout};
    tc_result r;
    venseg_status st = tc_run(&s, family, medial_known, &r, print_curve, &ctx);
    if (st) fprintf(stderr, "tracker_study: %s\n", r.error);
    else
        printf("# outcome: %s, |error| %.2f\n", r.outcome == TC_RIGHT ? "right" : r.outcome == TC_WRONG ? "WRONG" : "indeterminate",
               r.abs_error);
    tc_sequence_free(&s);
    return st ? 1 : 0;
}

/* --------------------------------------------------------------------- main */

static const char *const key_names[] = {
    [VENSEG_PHANTOM_BASELINE_S] = "VENSEG_PHANTOM_BASELINE_S",
    [VENSEG_PHANTOM_PULSE_AMPLITUDE] = "VENSEG_PHANTOM_PULSE_AMPLITUDE",
    [VENSEG_PHANTOM_RESPIRATION] = "VENSEG_PHANTOM_RESPIRATION",
    [VENSEG_PHANTOM_RESPIRATORY_RATE] = "VENSEG_PHANTOM_RESPIRATORY_RATE",
    [VENSEG_PHANTOM_VEIN_SIDE] = "VENSEG_PHANTOM_VEIN_SIDE",
    [VENSEG_PHANTOM_VEIN_TO_ARTERY] = "VENSEG_PHANTOM_VEIN_TO_ARTERY",
    [VENSEG_PHANTOM_THROMBUS_AGE] = "VENSEG_PHANTOM_THROMBUS_AGE",
};

static void write_markdown(FILE *o, tc_tally tally[N_VARIANTS][TC_FAMILY_COUNT][TC_KIND_COUNT], int count,
                           long long offset)
{
    for (int v = 0; v < N_VARIANTS; v++) {
        fprintf(o, "\n%s (%d sequences per family from %lld; right / indeterminate / wrong per kind):\n\n",
                v == 0 ? "MEDIAL_SIDE = the vein's side" : "MEDIAL_SIDE = 0 (unknown)", count, offset);
        fprintf(o, "| family | normal | partial | thrombosed | accuracy | wrong, no flag | mean \\|err\\| (points) | "
                   "targets |\n|---|---|---|---|---|---|---|---|\n");
        for (int f = 0; f < TC_FAMILY_COUNT; f++) {
            tc_tally all = {0};
            fprintf(o, "| %s |", tc_family_name(f));
            for (int k = 0; k < TC_KIND_COUNT; k++) {
                const tc_tally *t = &tally[v][f][k];
                fprintf(o, " %d / %d / %d |", t->right, t->indeterminate, t->wrong);
                tc_tally_merge(&all, t);
            }
            double err = tc_tally_mean_error(&all);
            fprintf(o, " %.1f %% | %d |", tc_tally_accuracy(&all), all.wrong_unflagged);
            if (err == err) fprintf(o, " %.2f |", err);
            else fprintf(o, " – |");
            fprintf(o, " %s |\n", tc_tally_meets_targets(&all) ? "met" : "**missed**");
        }
    }
}

int main(int argc, char **argv)
{
    int count = 60, threads = 0, w = 256, h = 256;
    long long offset = 0;
    const char *json_path = NULL, *md_path = NULL;
    long long curve_seq = -1;
    int curve_family = -1, curve_known = 1, all_results = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--count") && i + 1 < argc) count = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--offset") && i + 1 < argc) offset = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 2 < argc) {
            w = atoi(argv[++i]);
            h = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--markdown") && i + 1 < argc) md_path = argv[++i];
        else if (!strcmp(argv[i], "--all")) all_results = 1;
        else if (!strcmp(argv[i], "--curve") && i + 2 < argc) {
            curve_seq = atoll(argv[++i]);
            curve_family = tc_family_from_name(argv[++i]);
            if (i + 1 < argc && (!strcmp(argv[i + 1], "known") || !strcmp(argv[i + 1], "unknown")))
                curve_known = !strcmp(argv[++i], "known");
            if (curve_family < 0) {
                usage();
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    if (count < 1 || w < 32 || h < 32) {
        usage();
        return 2;
    }
    if (curve_seq >= 0) return curve_mode(curve_seq, curve_family, curve_known, w, h);
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
#else
    (void)threads;
#endif

    const size_t per_variant = (size_t)TC_FAMILY_COUNT * count;
    tc_result *res = calloc((size_t)N_VARIANTS * per_variant, sizeof *res);
    uint32_t *ignored = calloc((size_t)count, sizeof *ignored);
    int *side_from_labels = calloc((size_t)count, sizeof *side_from_labels);
    if (!res || !ignored || !side_from_labels) {
        fprintf(stderr, "tracker_study: out of memory\n");
        return 1;
    }
    const double t0 = now_s();
    int load_failures = 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : load_failures)
#endif
    for (int i = 0; i < count; i++) {
        tc_sequence s;
        tc_sequence_params(offset + i, w, h, &s);
        char err[256] = "";
        venseg_status st = tc_sequence_load(&s, err, sizeof err);
        if (st) {
            load_failures++;
            for (int v = 0; v < N_VARIANTS; v++)
                for (int f = 0; f < TC_FAMILY_COUNT; f++) {
                    tc_result *r = &res[v * per_variant + (size_t)f * count + i];
                    memset(r, 0, sizeof *r);
                    r->number = offset + i;
                    r->family = f;
                    r->kind = s.kind;
                    r->status = st;
                    snprintf(r->error, sizeof r->error, "%s", err);
                }
            continue;
        }
        ignored[i] = s.ignored_keys;
        side_from_labels[i] = s.vein_side_from_labels;
        for (int v = 0; v < N_VARIANTS; v++)
            for (int f = 0; f < TC_FAMILY_COUNT; f++)
                tc_run(&s, f, v == 0, &res[v * per_variant + (size_t)f * count + i], NULL, NULL);
        tc_sequence_free(&s);
    }
    const double elapsed = now_s() - t0;

    static tc_tally tally[N_VARIANTS][TC_FAMILY_COUNT][TC_KIND_COUNT];
    for (int v = 0; v < N_VARIANTS; v++)
        for (int f = 0; f < TC_FAMILY_COUNT; f++)
            for (int i = 0; i < count; i++) {
                const tc_result *r = &res[v * per_variant + (size_t)f * count + i];
                tc_tally_add(&tally[v][f][r->kind], r);
            }
    uint32_t ignored_any = 0;
    int from_labels = 0;
    for (int i = 0; i < count; i++) {
        ignored_any |= ignored[i];
        from_labels += side_from_labels[i];
    }

    FILE *o = json_path ? fopen(json_path, "w") : stdout;
    if (!o) {
        fprintf(stderr, "tracker_study: cannot write %s\n", json_path);
        return 1;
    }
    fprintf(o, "{\n  \"study\": \"tracker on corrupted ground-truth masks (issue 16 part 3)\",\n");
    fprintf(o, "  \"library_version\": \"%s\",\n", venseg_version_string());
    fprintf(o, "  \"command\": \"tracker_study --count %d --offset %lld --size %d %d\",\n", count, offset, w, h);
    fprintf(o, "  \"sequences_per_family\": %d, \"seed_offset\": %lld, \"width\": %d, \"height\": %d,\n", count, offset,
            w, h);
    fprintf(o, "  \"sequence\": \"kind = seq %% 3 (normal, partial, thrombosed); phantom seed 100000 + seq; 180-240 frames "
               "at 30 Hz, 0.15 mm, BASELINE_S 2.5-3, heart 50-110 bpm, PULSE_AMPLITUDE 0.03-0.10, RESPIRATION 0-0.15, "
               "VEIN_SIDE 1/2, VEIN_TO_ARTERY 0.8-1.8, PROBE_MOTION 0-1 mm, THROMBUS_AGE 0/1 for FULL\",\n");
    fprintf(o, "  \"tracker\": \"defaults; spacing, frame rate, site common_femoral; MEDIAL_SIDE = truth vein side "
               "(known) or 0 (unknown)\",\n");
    fprintf(o, "  \"phantom_keys_ignored\": [");
    int first = 1;
    for (int k = 0; k < (int)(sizeof key_names / sizeof key_names[0]); k++)
        if (key_names[k] && (ignored_any & (1u << k))) {
            fprintf(o, "%s\"%s\"", first ? "" : ", ", key_names[k]);
            first = 0;
        }
    fprintf(o, "],\n  \"vein_side_from_labels\": %d,\n", from_labels);
    fprintf(o, "  \"sequence_load_failures\": %d,\n", load_failures);
    fprintf(o, "  \"informational_flags\": [\"VENSEG_FLAG_SPACING_UNKNOWN\", \"VENSEG_FLAG_NO_RELEASE\", "
               "\"VENSEG_FLAG_VESSELS_MERGED\", \"VENSEG_FLAG_VEIN_INTERMITTENT\"],\n");
    fprintf(o, "  \"targets\": {\"accuracy_percent\": %.0f, \"mean_abs_error\": %.0f, \"wrong_unflagged\": %d},\n",
            TC_TARGET_ACCURACY_PERCENT, TC_TARGET_MEAN_ABS_ERROR, TC_TARGET_WRONG_UNFLAGGED);
    fprintf(o, "  \"elapsed_s\": %.1f,\n  \"variants\": [\n", elapsed);
    for (int v = 0; v < N_VARIANTS; v++) {
        fprintf(o, "    {\"variant\": \"%s\", \"families\": [\n", variant_names[v]);
        for (int f = 0; f < TC_FAMILY_COUNT; f++) {
            tc_tally all = {0};
            for (int k = 0; k < TC_KIND_COUNT; k++) tc_tally_merge(&all, &tally[v][f][k]);
            fprintf(o, "      {\"family\": \"%s\", ", tc_family_name(f));
            json_tally(o, &all);
            fprintf(o, ", \"meets_targets\": %s, \"kinds\": [\n", tc_tally_meets_targets(&all) ? "true" : "false");
            for (int k = 0; k < TC_KIND_COUNT; k++) {
                fprintf(o, "        {\"kind\": \"%s\", ", tc_kind_name(k));
                json_tally(o, &tally[v][f][k]);
                fprintf(o, ", \"%s\": [", all_results ? "results" : "failures");
                int nf = 0;
                for (int i = 0; i < count; i++) {
                    const tc_result *r = &res[v * per_variant + (size_t)f * count + i];
                    if (r->kind != k || (!all_results && !tc_result_failed(r))) continue;
                    fprintf(o, "%s\n          ", nf ? "," : "");
                    json_failure(o, r);
                    nf++;
                }
                fprintf(o, "]}%s\n", k + 1 < TC_KIND_COUNT ? "," : "");
            }
            fprintf(o, "      ]}%s\n", f + 1 < TC_FAMILY_COUNT ? "," : "");
        }
        fprintf(o, "    ]}%s\n", v + 1 < N_VARIANTS ? "," : "");
    }
    fprintf(o, "  ]\n}\n");
    if (json_path) fclose(o);

    if (md_path) {
        FILE *m = fopen(md_path, "w");
        if (!m) {
            fprintf(stderr, "tracker_study: cannot write %s\n", md_path);
            return 1;
        }
        write_markdown(m, tally, count, offset);
        fclose(m);
    }
    fprintf(stderr, "tracker_study: %d sequences x %d families x %d variants in %.1f s\n", count, TC_FAMILY_COUNT,
            N_VARIANTS, elapsed);
    free(res);
    free(ignored);
    free(side_from_labels);
    return load_failures ? 1 : 0;
}
