/* analyze_cmd.c: `venseg analyze`: a compression clip -> verdict, curve, overlay, report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <venseg/venseg.h>

#include "report/analysis.h"
#include "report/html_report.h"
#include "commands.h"
#include "util/cli_util.h"
#include "util/options.h"
#include "util/media.h"

static const char analyze_help[] =
    "usage: venseg analyze [options] CLIP\n"
    "\n"
    "Follows the vein beside the artery through a compression clip with the model and\n"
    "the tracker (docs/tracking.md): vein area per frame, baseline and maximum\n"
    "compression, compressibility, a verdict (compressible, partially compressible,\n"
    "non-compressible, indeterminate) and quality flags.\n"
    "\n"
    "CLIP: a video file FFmpeg can decode (.mp4, .avi, .mov, ...), an animated GIF, a DICOM\n"
    "file (a multi-frame cine loop; docs/dicom.md), or a folder of frames, PNG, JPEG, BMP,\n"
    "TIFF or DICOM (in natural order of their names, slice_9 before slice_10; *_label.png\n"
    "skipped). A DICOM clip gives its pixel spacing, frame rate and ultrasound region (as\n"
    "--roi) unless the options below do.\n"
    "\n"
    "Writes into --out, for NAME (default: the clip's stem):\n"
    "  NAME-report.html   self-contained report (a few MB): verdict, curve, key frames\n"
    "                     (baseline, maximum compression), quality flags, the overlay clip\n"
    "                     (the MP4 when it is H.264, else the GIF), model, versions\n"
    "  NAME-overlay.gif   analysed frames, artery red, vein blue: a preview of bounded size\n"
    "                     (at most 320 px a side, frames taken evenly to stay a few MB);\n"
    "                     --full-gif: every analysed frame at up to 640 px\n"
    "  NAME-overlay.mp4   every analysed frame as video, up to 640 px (when FFmpeg can\n"
    "                     encode: libx264, else MPEG-4)\n"
    "  NAME-curve.png     vein (raw, smoothed) and artery area over time\n"
    "  NAME.json          summary (verdict, its confidence, flags), the vessels with their\n"
    "                     identity and evidence, per-frame areas and file names, and\n"
    "                     \"timing\": ms per frame of each stage (decode, segment_track, network,\n"
    "                     overlay, encode), frames/s end to end, peak memory (peak_rss_mb)\n"
    "  NAME.csv           per-frame areas; last column `file`: the frame's file name\n"
    "                     (PNG folders; empty for a video or GIF)\n"
    "  NAME-summary.csv   one row: verdict, confidences, medial side, flags, vein and artery\n"
    "                     evidence, the clip's input flags\n"
    "\n"
    "A clip that is damaged (FFmpeg reports decoding errors) or cut short (read to its end,\n"
    "more than 2 frames fewer than the container declares: nb_frames, else duration x frame\n"
    "rate) is flagged DECODE_ERRORS / FRAMES_MISSING: a warning on stderr, in the summary and\n"
    "beside the verdict in the report, and input.flags, input.frames_declared,\n"
    "input.frames_decoded, input.decode_errors in the JSON (input_flags, ... in the summary CSV).\n"
    "\n"
    "  --model FILE       the .vseg model (default: $VENSEG_MODEL, weights/resunet34.vseg,\n"
    "                     or the installed copy)\n"
    "  --out DIR          output folder (default venseg-out; made if missing)\n"
    "  --name NAME        output file stem\n"
    "  --spacing MM[,MMY] pixel size in mm (areas in mm2, residual lumen); default: DICOM's, else\n"
    "                     unknown\n"
    "  --fps HZ           frame rate (default: the clip's; frame folders have none)\n"
    "  --stride K         analyse every K-th frame (default 1; Chen et al. used 2)\n"
    "  --site LABEL       site, e.g. common_femoral, femoral, popliteal (shown in the report;\n"
    "                     these three give the tracker the anatomy cue of where the vein\n"
    "                     lies); up to 63 printable characters\n"
    "  --medial-side left|right|unknown\n"
    "                     the image side toward the body's midline (usual transverse view:\n"
    "                     right for a right leg, left for a left leg); at the common femoral\n"
    "                     site the vein lies medial to the artery; default unknown: detected\n"
    "  --roi X,Y,W,H      segment only this rectangle (e.g. the B-mode sector of a screen)\n"
    "  --max-frames N     stop after N frames\n"
    "  --track-size N|full  label and track the vessels at most N px on the longer side (default\n"
    "                     320, or the model's input side if larger; the network's maps are never\n"
    "                     made at a larger frame's size); areas, positions and mm stay in the\n"
    "                     clip's pixels. full: at the clip's own size. The JSON's\n"
    "                     input.track_size says which ran (0: full)\n"
    "  --threads N        compute threads (default 0: all)\n"
    "  --precision P      auto (default), fp32, bf16, int8 or fp16 (docs/precision.md); the\n"
    "                     JSON's model.precision says what ran\n"
    "  --use-labels       a frame folder with <stem>_label.png masks (1 artery, 2 vein; e.g.\n"
    "                     from venseg phantom): track those masks instead of the model's,\n"
    "                     to check the tracker and the report against ground truth\n"
    "  --no-mp4           do not write the MP4\n"
    "  --no-pipeline      decode, segment and encode one after another on one thread (by\n"
    "                     default they overlap on their own threads; the results are the\n"
    "                     same, bit for bit: frames are tracked in order)\n"
    "  --full-gif         the overlay GIF with every analysed frame at up to 640 px (large:\n"
    "                     ~50 MB for a 15 s cine) instead of the preview\n"
    "  --strict           a damaged or cut-short clip is an error: exit status 3 (the outputs are\n"
    "                     written all the same and carry the flags)\n"
    "  --progress         draw the progress bar even when stderr is not a terminal\n"
    "  -q, --quiet        print nothing but errors\n"
    "  --verbose          the session (JSON, report) as the library describes it, in full:\n"
    "                     why AUTO did not take a GPU (otherwise \"CPU (no GPU found)\" and\n"
    "                     the like)\n"
    "  -h, --help         this help\n"
    "\n"
    "Prints the verdict with its confidence (and, when indeterminate, the flags that are the\n"
    "reason), the compressibility, one line per vessel with its identity and the evidence for\n"
    "it, and where the outputs are. A failed run leaves nothing behind: the files it began\n"
    "to write and the folders it made are removed.\n"
    "\n" VS_EXIT_HELP;

static void join_args(char *out, size_t size, int argc, char **argv)
{
    size_t at = (size_t)snprintf(out, size, "venseg");
    for (int i = 0; i < argc && at < size; i++) at += (size_t)snprintf(out + at, size - at, " %s", argv[i]);
}

void vs_print_analysis(const vs_analysis_result *r, const char *label)
{
    const venseg_track_summary *s = &r->summary;
    printf("%s: %s", label, vs_verdict_words(s->verdict));
    if (s->verdict != VENSEG_VERDICT_INDETERMINATE && s->compressibility_percent == s->compressibility_percent)
        printf(", compressibility %.1f %%", s->compressibility_percent);
    printf(" (%d frames, %d analysed; found the artery in %d, the vein in %d", r->frames_read, s->frames_analysed,
           r->with_artery, r->with_vein);
    if (s->baseline_frame >= 0) printf("; baseline frame %d, maximum compression frame %d", s->baseline_frame, s->min_frame);
    printf(")\n");
    vs_print_identity(s, r->vessels, r->vessel_count < VS_MAX_VESSELS ? r->vessel_count : VS_MAX_VESSELS,
                      r->vessel_count, "  ");
    for (int b = 0; b < 32; b++)
        if (s->flags & (1u << b)) printf("  flag %s: %s\n", vs_flag_short(1u << b), vs_flag_text(1u << b));
    for (uint32_t bit = 1; bit <= VS_INPUT_FRAMES_MISSING; bit <<= 1)
        if (r->input_flags & bit) { /* the clip itself: damaged or cut short */
            char line[512];
            vs_input_warning(&r->health, bit, line, sizeof line);
            printf("  WARNING input %s: %s\n", vs_input_flag_short(bit), line);
        }
    printf("  report   %s\n  overlay  %s%s%s\n  curve    %s\n  data     %s, %s, %s\n", r->report, r->gif,
           r->mp4[0] ? ", " : "", r->mp4, r->curve, r->json, r->csv, r->summary_csv);
}

void vs_print_identity(const venseg_track_summary *s, const venseg_vessel *vessels, int32_t shown, int32_t count,
                       const char *indent)
{
    char vc[32], ic[32], line[512], why[512];
    vs_confidence_text(s->verdict_confidence, vc, sizeof vc);
    vs_confidence_text(s->identity_confidence, ic, sizeof ic);
    printf("%sverdict confidence %s, identity confidence %s; medial side %s (%s)", indent, vc, ic,
           vs_medial_side_name(s->medial_side), vs_medial_source_name(s->medial_side_source));
    if (s->identity_frames > 0)
        printf(", identity from %d frame%s before compression", s->identity_frames, s->identity_frames == 1 ? "" : "s");
    printf("\n");
    if (s->verdict == VENSEG_VERDICT_INDETERMINATE) {
        vs_indeterminate_reasons(s->flags, why, sizeof why);
        printf("%sNO VERDICT (indeterminate) because: %s\n", indent, why);
    }
    for (int32_t i = 0; i < shown; i++) {
        vs_vessel_line(&vessels[i], line, sizeof line);
        printf("%svessel %s\n", indent, line);
    }
    if (count > shown) printf("%s(%d more vessels in the JSON's count only)\n", indent, count - shown);
    if (count == 0) printf("%sno vessel tracks\n", indent);
}

int vs_cmd_analyze(int argc, char **argv)
{
    vs_analysis_opts o;
    vs_common_opts c;
    memset(&o, 0, sizeof o);
    o.stride = 1;
    o.site = "";
    o.mp4 = 1;
    vs_common_opts_init(&c, "venseg-out");
    long lv;
    int status, strict = 0;
    const char *v;
    char err[1024], cmd[2048], model_buf[4096];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int shared = vs_common_option("analyze", analyze_help, VS_OPT_SEGMENTING, argc, argv, &i, &c, &status);
        if (shared < 0) return status;
        if (shared) continue;
        if (!strcmp(a, "--no-mp4")) o.mp4 = 0;
        else if (!strcmp(a, "--no-pipeline")) o.sequential = 1;
        else if (!strcmp(a, "--full-gif")) o.full_gif = 1;
        else if (!strcmp(a, "--strict")) strict = 1;
        else if (!strcmp(a, "--use-labels")) o.use_labels = 1;
        else if (vs_is_option(a, "--name") && (v = vs_option_value(argc, argv, &i))) o.name = v;
        else if (vs_is_option(a, "--site") && (v = vs_option_value(argc, argv, &i))) {
            if (!vs_site_valid(v))
                return vs_usage_error("analyze", "--site must be at most 63 printable ASCII characters, not ", v);
            o.site = v;
        } else if (vs_is_option(a, "--medial-side") && (v = vs_option_value(argc, argv, &i))) {
            if (!vs_parse_medial_side(v, &o.medial_side))
                return vs_usage_error("analyze", "--medial-side must be left, right or unknown, not ", v);
        }
        else if (vs_is_option(a, "--fps") && (v = vs_option_value(argc, argv, &i))) {
            if (!vs_parse_double(v, 0.01, 10000, &o.fps)) return vs_usage_error("analyze", "--fps must be > 0, not ", v);
        } else if (vs_is_option(a, "--stride") && (v = vs_option_value(argc, argv, &i))) {
            if (!vs_parse_long(v, 1, 1000, &lv)) return vs_usage_error("analyze", "--stride must be 1..1000, not ", v);
            o.stride = (int)lv;
        } else if (vs_is_option(a, "--max-frames") && (v = vs_option_value(argc, argv, &i))) {
            if (!vs_parse_long(v, 1, 10000000, &lv))
                return vs_usage_error("analyze", "--max-frames must be >= 1, not ", v);
            o.max_frames = (int)lv;
        } else if (vs_is_option(a, "--track-size") && (v = vs_option_value(argc, argv, &i))) {
            if (!vs_parse_track_size(v, &o.track_size, err, sizeof err)) return vs_usage_error("analyze", err, NULL);
        } else if (a[0] == '-' && a[1]) return vs_usage_error("analyze", "unknown or incomplete option ", a);
        else if (!o.input) o.input = a;
        else return vs_usage_error("analyze", "one CLIP only; extra argument ", a);
    }
    if (!o.input) return vs_usage_error("analyze", "no CLIP given", NULL);
    if (o.medial_side && strcasecmp(o.site, VENSEG_SITE_COMMON_FEMORAL) != 0)
        fprintf(stderr, "venseg analyze: note: --medial-side is used with --site %s only (the vein lies medial "
                        "to the artery there); here the tracker does not use it\n",
                VENSEG_SITE_COMMON_FEMORAL);
    const char *model_path = c.model_path;
    int quiet = c.quiet;
    o.out_dir = c.out_dir;
    o.spacing_x = c.spacing_x, o.spacing_y = c.spacing_y;
    memcpy(o.roi, c.roi, sizeof o.roi);
    o.threads = c.threads;
    o.precision = c.precision;
    o.verbose = c.verbose;
    o.progress = quiet ? 0 : c.progress;
    venseg_model *model = NULL;
    int rc = o.use_labels && !model_path && !vs_default_model(model_buf, sizeof model_buf)
                 ? VS_EXIT_OK /* the masks come from the clip: no model needed */
                 : vs_load_model(model_path, &model, err, sizeof err);
    if (rc != VS_EXIT_OK) {
        fprintf(stderr, "venseg analyze: %s\n", err);
        return rc;
    }
    o.model_path = model_path ? model_path : model ? vs_default_model(model_buf, sizeof model_buf) : NULL;
    join_args(cmd, sizeof cmd, argc, argv);
    o.command_line = cmd;
    vs_analysis_result *r = malloc(sizeof *r);
    if (!r) {
        venseg_model_free(model);
        return VS_EXIT_ERROR;
    }
    rc = vs_analysis_run(&o, model, r, err, sizeof err);
    if (rc != VS_EXIT_OK) fprintf(stderr, "venseg analyze: %s\n", err);
    else if (!quiet) vs_print_analysis(r, o.input);
    if (rc == VS_EXIT_OK && strict && r->input_flags) {
        fprintf(stderr, "venseg analyze: --strict: %s is damaged or cut short (", o.input);
        for (uint32_t bit = 1, n = 0; bit <= VS_INPUT_FRAMES_MISSING; bit <<= 1)
            if (r->input_flags & bit) fprintf(stderr, "%s%s", n++ ? ", " : "", vs_input_flag_short(bit));
        fprintf(stderr, "); the outputs carry the flags\n");
        rc = VS_EXIT_SKIPPED;
    }
    free(r);
    venseg_model_free(model);
    return rc;
}
