/* demo_cmd.c: `venseg demo`: the README's main command (see demo_help). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <venseg/venseg.h>

#include "report/analysis.h"
#include "commands.h"
#include "util/cli_util.h"
#include "util/options.h"
#include "util/png_io.h"

#ifdef VENSEG_CLI_HAVE_CJSON
#include <cjson/cJSON.h>
#endif

static const char demo_help[] =
    "usage: venseg demo [options]\n"
    "\n"
    "Runs the shipped ResUNet-34 on\n"
    "  1. a real B-mode frame: the groin validation frame examples/data/groin_sample_227.png\n"
    "     (never trained on), scored against its label; with --data DIR, the first usgra-seg\n"
    "     validation frame there (validation-split.json beside the model names them);\n"
    "  2. two synthetic compression exams of libvenseg's phantom (docs/phantom.md), a normal\n"
    "     vein and a thrombosed one: 2.5 s at rest with the artery pulsing, then the probe\n"
    "     presses, holds and releases; the vein lies on the image left, medial to the artery\n"
    "     as in a left leg shown the usual way. venseg phantom writes them, venseg analyze\n"
    "     reports on them.\n"
    "Prints both verdicts, with their confidence and each vessel's identity and evidence,\n"
    "next to the verdicts from the phantom's ground-truth masks, and where the outputs are\n"
    "(an HTML report per clip).\n"
    "\n"
    "  --model FILE   the model (default: $VENSEG_MODEL, weights/resunet34.vseg, installed copy)\n"
    "  --out DIR      output folder (default venseg-demo)\n"
    "  --data DIR     a folder with groin_sample_227.png (default examples/data) or a data\n"
    "                 root with usgra-seg/images (../shared/data)\n"
    "  --frames N     phantom frames per clip at 30 frames/s (default 180: 6 s)\n"
    "  --site LABEL   the clips' site label (default common_femoral)\n"
    "  --medial-side left|right|unknown\n"
    "                 the image side toward the body's midline for both trackers (default\n"
    "                 left, where the clips put the vein; unknown: detected)\n"
    "  --threads N    compute threads (default 0: all)\n"
    "  --progress     draw progress bars even when stderr is not a terminal\n"
    "  --verbose      the session (JSON, reports) as the library describes it, in full\n"
    "  -h, --help     this help\n"
    "\n"
    "The model was trained on nerve-block frames of the groin, knee, arm and neck and on 12\n"
    "carotid series, never on the phantom; on phantom frames its masks can be weak, and the\n"
    "reports say so. A verdict counts as agreeing only when both are the same and neither is\n"
    "indeterminate.\n"
    "\n" VS_EXIT_HELP;

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The examiner's label of an image: usgra-seg/labels/<stem>.png beside images/, or
 * <stem>_label.png beside the image (examples/data). Values 1 artery, 2 vein, 3 vessel,
 * 4 ignore. 0, or -1 when there is none. */
static int label_of(const char *image, vs_png *label)
{
    char path[4096], err[256];
    const char *images = strstr(image, "/images/");
    if (images) {
        snprintf(path, sizeof path, "%.*s/labels/%s", (int)(images - image), image, images + 8);
        if (vs_png_read_label(path, label, err, sizeof err) == 0) return 0;
    }
    if (vs_label_path_beside(image, path, sizeof path) == 0 && vs_png_read_label(path, label, err, sizeof err) == 0)
        return 0;
    return -1;
}

/* Dice of the predicted label PNG against the examiner's label, artery and vein (vessel of
 * unknown class and ignore left out, as venseg eval does). */
static void print_dice(const char *image, const char *pred_path)
{
    vs_png l, p;
    char err[256];
    if (label_of(image, &l) != 0) return;
    if (vs_png_read_label(pred_path, &p, err, sizeof err) != 0) {
        vs_png_free(&l);
        return;
    }
    if (p.width == l.width && p.height == l.height) {
        printf("   against the examiner's label:");
        for (int c = 1; c <= 2; c++) {
            int64_t counts[3];
            double dice = NAN;
            if (venseg_overlap_counts(p.data, p.width, VENSEG_LABEL_BIT(c), l.data, l.width, VENSEG_LABEL_BIT(c),
                                      VENSEG_LABEL_BIT(3) | VENSEG_LABEL_BIT(4), l.width, l.height, counts) == VENSEG_OK)
                venseg_dice(counts, VENSEG_EMPTY_NAN, 0, &dice);
            char d[32] = "n/a";
            if (!isnan(dice)) snprintf(d, sizeof d, "%.3f", dice);
            printf("%s %s Dice %s (true %lld px, predicted %lld px)", c == 1 ? "" : ";", c == 1 ? "artery" : "vein", d,
                   (long long)(counts[0] + counts[2]), (long long)(counts[0] + counts[1]));
        }
        printf("\n");
    }
    vs_png_free(&l);
    vs_png_free(&p);
}

#ifdef VENSEG_CLI_HAVE_CJSON /* pick_image reads the validation split (JSON) only with cJSON */
/* Whether the label has both an artery and a vein. */
static int has_both(const char *image)
{
    vs_png l;
    int a = 0, v = 0;
    if (label_of(image, &l) != 0) return 0;
    for (size_t i = 0; i < (size_t)l.width * l.height; i++) a |= l.data[i] == 1, v |= l.data[i] == 2;
    vs_png_free(&l);
    return a && v;
}
#endif

/* The real frame: *why tells where it comes from. */
static int pick_image(const char *data, const char *model_path, char *out, size_t size, const char **why)
{
    snprintf(out, size, "%.900s/groin_sample_227.png", data);
    if (access(out, R_OK) == 0) {
        *why = "a groin (femoral triangle) validation frame: the models never trained on it; examples/data/ATTRIBUTION.md";
        return 0;
    }
    char split[1024];
    const char *slash = strrchr(model_path, '/');
    snprintf(split, sizeof split, "%.*s%svalidation-split.json", slash ? (int)(slash - model_path) : 0, model_path,
             slash ? "/" : "");
    char dir[1024];
    snprintf(dir, sizeof dir, "%.900s/usgra-seg/images", data);
#ifdef VENSEG_CLI_HAVE_CJSON
    char *text = NULL, read_err[256];
    size_t n = 0;
    if (is_dir(dir) && vs_read_file(split, 64u << 20, &text, &n, read_err, sizeof read_err) == 0) {
        cJSON *root = cJSON_ParseWithLength(text, n), *val = cJSON_GetObjectItemCaseSensitive(root, "val"), *it;
        int found = 0;
        cJSON_ArrayForEach(it, val)
        {
            if (cJSON_IsString(it) && strncmp(it->valuestring, "usgra-seg/", 10) == 0) {
                snprintf(out, size, "%s/%.200s.png", dir, it->valuestring + 10);
                if (access(out, R_OK) == 0 && has_both(out)) { /* chosen by its label, not by the model */
                    *why = "the first usgra-seg validation frame whose label has an artery and a vein: the model never trained on it";
                    found = 1;
                    break;
                }
            }
        }
        cJSON_Delete(root);
        free(text);
        if (found) return 0;
    }
#endif
    snprintf(out, size, "%.900s/usgra-seg/images/0000.png", data);
    if (access(out, R_OK) == 0) {
        *why = "a usgra-seg frame";
        return 0;
    }
    snprintf(out, size, "%.900s/usgra_femoral_0032.png", data);
    if (access(out, R_OK) == 0) {
        *why = "examples/data sample: a TRAINING frame of the model, not an independent test";
        return 0;
    }
    return -1;
}

/* The demo clips' seconds at rest (the same for the clip and its ground truth). */
#define DEMO_BASELINE_S "2.5"

/* Verdict of the tracker on the phantom's ground-truth masks, for comparison. */
static int truth_verdict(int thrombus, int frames, double spacing, double fps, const char *site, int medial_side,
                         venseg_track_summary *s, double *true_c, venseg_vessel *vessels, int32_t *vessel_count)
{
    venseg_phantom_config *pc = NULL;
    venseg_phantom *ph = NULL;
    venseg_tracker_config *tc = NULL;
    venseg_tracker *t = NULL;
    uint8_t *lab = NULL;
    int rc = -1;
    if (venseg_phantom_config_create(&pc) || venseg_phantom_config_set(pc, VENSEG_PHANTOM_THROMBUS, thrombus) ||
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_FRAMES, frames) ||
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_BASELINE_S, atof(DEMO_BASELINE_S)) ||
        venseg_phantom_config_set(pc, VENSEG_PHANTOM_VEIN_SIDE, 1) || venseg_phantom_create(pc, &ph))
        goto out;
    double w = 0, h = 0;
    venseg_phantom_config_get(pc, VENSEG_PHANTOM_WIDTH, &w);
    venseg_phantom_config_get(pc, VENSEG_PHANTOM_HEIGHT, &h);
    if (!(lab = malloc((size_t)w * (size_t)h))) goto out;
    if (venseg_tracker_config_create(&tc) || venseg_tracker_config_set(tc, VENSEG_TRACKER_PIXEL_SPACING_X, spacing) ||
        venseg_tracker_config_set(tc, VENSEG_TRACKER_PIXEL_SPACING_Y, spacing) ||
        venseg_tracker_config_set(tc, VENSEG_TRACKER_FRAME_RATE, fps) ||
        venseg_tracker_config_set(tc, VENSEG_TRACKER_FRAME_STRIDE, 2) ||
        venseg_tracker_config_set(tc, VENSEG_TRACKER_MEDIAL_SIDE, medial_side) ||
        venseg_tracker_config_set_site(tc, site) || venseg_tracker_create(tc, &t))
        goto out;
    for (int i = 0; i < frames; i++)
        if (venseg_phantom_frame(ph, i, NULL, 0, lab, (int64_t)w) ||
            venseg_tracker_push_labels(t, lab, (int64_t)w, (int32_t)w, (int32_t)h))
            goto out;
    s->struct_size = sizeof *s;
    venseg_phantom_truth tr = {.struct_size = sizeof tr};
    if (venseg_tracker_summary_get(t, s) || venseg_phantom_truth_at(ph, 0, &tr) ||
        vs_analysis_read_vessels(t, vessel_count, vessels, VS_MAX_VESSELS))
        goto out;
    *true_c = tr.true_compressibility_percent;
    rc = 0;
out:
    free(lab);
    venseg_tracker_free(t);
    venseg_tracker_config_free(tc);
    venseg_phantom_free(ph);
    venseg_phantom_config_free(pc);
    return rc;
}

int vs_cmd_demo(int argc, char **argv)
{
    const char *data = NULL, *v, *site = VENSEG_SITE_COMMON_FEMORAL;
    int medial_side = -1; /* the clips' vein is on the image left (--vein-side left) */
    vs_common_opts c;
    int status;
    long frames = 180;
    char err[1024], model_buf[4096], threads[16];
    vs_common_opts_init(&c, "venseg-demo");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int shared = vs_common_option("demo", demo_help,
                                      VS_OPT_MODEL | VS_OPT_OUT | VS_OPT_THREADS | VS_OPT_PROGRESS | VS_OPT_VERBOSE,
                                      argc, argv, &i, &c, &status);
        if (shared < 0) return status;
        if (shared) continue;
        if (vs_is_option(a, "--data") && (v = vs_option_value(argc, argv, &i))) data = v;
        else if (vs_is_option(a, "--frames") && (v = vs_option_value(argc, argv, &i))) {
            if (!vs_parse_long(v, 10, 2000, &frames)) return vs_usage_error("demo", "--frames must be 10..2000, not ", v);
        } else if (vs_is_option(a, "--site") && (v = vs_option_value(argc, argv, &i))) {
            if (!vs_site_valid(v))
                return vs_usage_error("demo", "--site must be at most 63 printable ASCII characters, not ", v);
            site = v;
        } else if (vs_is_option(a, "--medial-side") && (v = vs_option_value(argc, argv, &i))) {
            if (!vs_parse_medial_side(v, &medial_side))
                return vs_usage_error("demo", "--medial-side must be left, right or unknown, not ", v);
        } else return vs_usage_error("demo", "unknown or incomplete option ", a);
    }
    const char *model_path = c.model_path, *out = c.out_dir;
    snprintf(threads, sizeof threads, "%d", c.threads);
    if (!data) data = "examples/data";
    venseg_model *model = NULL;
    int rc = vs_load_model(model_path, &model, err, sizeof err);
    if (rc != VS_EXIT_OK) {
        fprintf(stderr, "venseg demo: %s\n", err);
        return rc;
    }
    if (!model_path) model_path = vs_default_model(model_buf, sizeof model_buf);
    if (vs_mkdirs(out, err, sizeof err) != 0) {
        fprintf(stderr, "venseg demo: %s\n", err);
        venseg_model_free(model);
        return VS_EXIT_ERROR;
    }
    const char *arch = "", *enc = "";
    venseg_model_meta_string(model, "general.architecture", &arch);
    venseg_model_meta_string(model, "encoder.name", &enc);
    printf("venseg demo: model %s (%s%s%s), libvenseg %s\nA research tool, not a medical device.\n\n", model_path,
           arch, *enc ? "-" : "", enc, venseg_version_string());

    /* 1. a real frame */
    char image[4096], seg_out[4096];
    const char *why = "";
    snprintf(seg_out, sizeof seg_out, "%s/image", out);
    if (pick_image(data, model_path, image, sizeof image, &why) == 0) {
        printf("== 1. real frame: %s\n   (%s)\n", image, why);
        char *sargv[] = {"segment", "--model", (char *)model_path, "--out", seg_out, "--threads", threads, image,
                         c.verbose ? "--verbose" : NULL, NULL};
        fflush(stdout);
        int src = vs_cmd_segment(c.verbose ? 9 : 8, sargv);
        fflush(stdout);
        char pred[4096], stem_buf[512];
        vs_stem(image, stem_buf, sizeof stem_buf);
        snprintf(pred, sizeof pred, "%.3000s/%.500s-labels.png", seg_out, stem_buf);
        if (src == VS_EXIT_OK) print_dice(image, pred);
        if (src != VS_EXIT_OK) rc = src;
    } else {
        printf("== 1. real frame: none found under %s; skipped\n", data);
    }

    /* 2. phantom clips */
    const char *kinds[2] = {"normal", "thrombosed"}, *thr[2] = {"none", "full"};
    vs_analysis_result *res = malloc(sizeof *res);
    char clip[4096], frames_s[32], report_note[512];
    snprintf(frames_s, sizeof frames_s, "%ld", frames);
    for (int k = 0; k < 2 && res; k++) {
        snprintf(clip, sizeof clip, "%s/phantom-%s.gif", out, kinds[k]);
        printf("\n== %d. phantom compression clip, %s vein: %s\n", k + 2, kinds[k], clip);
        char *pargv[] = {"phantom", "--thrombus", (char *)thr[k], "--frames", frames_s, "--baseline", DEMO_BASELINE_S,
                         "--vein-side", "left", clip, NULL};
        fflush(stdout);
        int prc = vs_cmd_phantom(10, pargv);
        fflush(stdout);
        if (prc != VS_EXIT_OK) {
            rc = prc;
            continue;
        }
        venseg_track_summary ts;
        double true_c = NAN;
        int32_t truth_vessels = 0;
        venseg_vessel tv[VS_MAX_VESSELS];
        int have_truth = truth_verdict(k ? 2 : 0, (int)frames, 0.15, 30, site, medial_side, &ts, &true_c, tv,
                                       &truth_vessels) == 0;
        char truth_conf[32] = "n/a";
        if (have_truth) vs_confidence_text(ts.verdict_confidence, truth_conf, sizeof truth_conf);
        snprintf(report_note, sizeof report_note,
                 "Synthetic phantom clip (%s vein; true compressibility %.1f %%; the tracker on the phantom's "
                 "ground-truth masks says: %s, verdict confidence %s). The shipped model was never trained on "
                 "phantom frames, so its masks here can be poor: compare the verdict below with that one.",
                 kinds[k], true_c, have_truth ? vs_verdict_words(ts.verdict) : "n/a", truth_conf);
        vs_analysis_opts o;
        memset(&o, 0, sizeof o);
        o.input = clip;
        o.out_dir = out;
        o.model_path = model_path;
        o.spacing_x = o.spacing_y = 0.15;
        o.stride = 2; /* Chen et al.: every 2nd frame; halves the demo's time */
        o.site = site;
        o.medial_side = medial_side;
        o.threads = c.threads;
        o.mp4 = 1;
        o.progress = c.progress;
        o.verbose = c.verbose;
        o.command_line = "venseg demo";
        o.note = report_note;
        int arc = vs_analysis_run(&o, model, res, err, sizeof err);
        if (arc != VS_EXIT_OK) {
            fprintf(stderr, "venseg demo: %s\n", err);
            rc = arc;
            continue;
        }
        char label[128];
        snprintf(label, sizeof label, "   model verdict (%s vein)", kinds[k]);
        vs_print_analysis(res, label);
        if (have_truth) {
            printf("   ground-truth masks (same tracker, stride 2): %s, compressibility %.1f %% (true %.1f %%)\n", vs_verdict_words(ts.verdict),
                   ts.compressibility_percent, true_c);
            vs_print_identity(&ts, tv, truth_vessels < VS_MAX_VESSELS ? truth_vessels : VS_MAX_VESSELS, truth_vessels,
                              "     ");
        }
        /* two indeterminates (for whatever reasons) are no agreement on a finding */
        int same = have_truth && ts.verdict == res->summary.verdict;
        int agree = same && ts.verdict != VENSEG_VERDICT_INDETERMINATE;
        printf("   %s\n", agree ? "the model's verdict matches the ground truth's"
                        : same  ? "both are indeterminate: there is no finding to agree on; see the flags in the report"
                                : "the model's verdict does NOT match the ground truth's: the model is weak on "
                                  "phantom frames (never trained on them); see the report");
    }
    free(res);
    printf("\nOutputs in %s/: image/ (labels, overlay, segment.json), phantom-*-report.html (open in a browser),\n"
           "phantom-*-overlay.gif/.mp4, -curve.png, .json, .csv, -summary.csv. A research tool, not a medical device.\n",
           out);
    venseg_model_free(model);
    return rc;
}
