/* html_report.c: the clip's HTML report (see html_report.h). */
#include "report/html_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/cli_util.h"
#include "util/png_io.h"

const char *vs_flag_short(uint32_t flag)
{
    const char *n = venseg_flag_name(flag);
    return strncmp(n, "VENSEG_FLAG_", 12) == 0 ? n + 12 : n;
}

const char *vs_verdict_short(int verdict)
{
    const char *n = venseg_verdict_name((venseg_verdict)verdict);
    return strncmp(n, "VENSEG_VERDICT_", 15) == 0 ? n + 15 : n;
}

/* ------------------------------------------------------------------ state */


void vs_frames_store_free(vs_frames_store *s)
{
    for (int32_t i = 0; i < s->n; i++) free(s->index[i]);
    free(s->index);
    free(s->frame_index);
    memset(s, 0, sizeof *s);
}

int vs_frames_store_add(vs_frames_store *s, uint8_t *index, int32_t frame)
{
    if (s->n == s->cap) {
        int32_t cap = s->cap ? 2 * s->cap : 64;
        uint8_t **ni = realloc(s->index, (size_t)cap * sizeof *ni);
        if (!ni) return -1;
        s->index = ni;
        int32_t *nf = realloc(s->frame_index, (size_t)cap * sizeof *nf);
        if (!nf) return -1;
        s->frame_index = nf;
        s->cap = cap;
    }
    s->index[s->n] = index;
    s->frame_index[s->n++] = frame;
    return 0;
}

int32_t vs_frames_store_find(const vs_frames_store *s, int32_t frame)
{
    for (int32_t i = 0; i < s->n; i++)
        if (s->frame_index[i] == frame) return i;
    return -1;
}

/* -------------------------------------------------------------------- HTML */

static void html_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* <img> with the bytes embedded as a data: URI (the report stands alone); height 0: not given. */
static int html_img(FILE *f, const char *id, const char *alt, const char *mime, const uint8_t *bytes, size_t n,
                    int32_t w, int32_t h)
{
    char *b64 = vs_base64(bytes, n);
    if (!b64) return -1;
    fprintf(f, "<img id=\"%s\" alt=\"", id);
    html_text(f, alt);
    fprintf(f, "\" width=\"%d\"", w);
    if (h > 0) fprintf(f, " height=\"%d\"", h);
    fprintf(f, " src=\"data:%s;base64,%s\">", mime, b64);
    free(b64);
    return 0;
}

static int html_png(FILE *f, const char *id, const char *alt, const uint8_t *rgb, int32_t w, int32_t h)
{
    uint8_t *png = NULL;
    size_t n = 0;
    if (vs_png_encode_rgb(rgb, w, h, &png, &n) != 0) return -1;
    int rc = html_img(f, id, alt, "image/png", png, n, w, h);
    free(png);
    return rc;
}

/* The base64 of the open file `in`, written to f a chunk at a time (and `in` closed): the
 * report's memory does not grow with the clip it embeds. 0, or -1 on a read error. */
static int base64_stream(FILE *f, FILE *in)
{
    uint8_t buf[3 * 8192]; /* a multiple of 3: the chunks' base64 joins without padding */
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        char *b64 = vs_base64(buf, n);
        if (!b64) rc = -1;
        else fputs(b64, f);
        free(b64);
    }
    if (ferror(in)) rc = -1;
    fclose(in);
    return rc;
}

static int html_file(FILE *f, const char *id, const char *alt, const char *path, const char *mime, int32_t w)
{
    FILE *in = fopen(path, "rb");
    if (!in) return -1;
    fprintf(f, "<img id=\"%s\" alt=\"", id);
    html_text(f, alt);
    fprintf(f, "\" width=\"%d\" src=\"data:%s;base64,", w, mime);
    int rc = base64_stream(f, in);
    fputs("\">", f);
    return rc;
}

/* <video> with an MP4 embedded as a data: URI: muted, looping, with controls. */
static int html_video(FILE *f, const char *id, const char *path, int32_t w, int32_t h)
{
    FILE *in = fopen(path, "rb");
    if (!in) return -1;
    fprintf(f, "<video id=\"%s\" width=\"%d\" height=\"%d\" controls autoplay loop muted playsinline "
               "src=\"data:video/mp4;base64,",
            id, w, h);
    int rc = base64_stream(f, in);
    fputs("\"></video>", f);
    return rc;
}

/* The size of a file in bytes; -1 when path is NULL or the file cannot be opened. */
static long file_size(const char *path)
{
    FILE *f = path && *path ? fopen(path, "rb") : NULL;
    long n = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (f) fclose(f);
    return n;
}

static void fmt_num(char *buf, size_t size, double v, const char *unit)
{
    if (isfinite(v)) snprintf(buf, size, "%.1f%s", v, unit);
    else snprintf(buf, size, "n/a");
}


int vs_report_write_html(const char *path, const vs_report_ctx *c, char *err, size_t err_size)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_size, "%s: cannot write", path);
        return -1;
    }
    const venseg_track_summary *s = c->s;
    const char *arch = "", *enc = "", *mname = "";
    venseg_model_meta_string(c->model, "general.architecture", &arch);
    venseg_model_meta_string(c->model, "encoder.name", &enc);
    venseg_model_meta_string(c->model, "general.name", &mname);
    const char *vclass = s->verdict == VENSEG_VERDICT_COMPRESSIBLE ? "ok"
                         : s->verdict == VENSEG_VERDICT_INDETERMINATE ? "unknown" : "bad";
    char b1[64], b2[64], b3[64], b4[64], b5[64];
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>venseg report: ", f);
    html_text(f, c->o->name);
    fputs("</title>\n<style>\n"
          "body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:24px auto;max-width:980px;color:#222}\n"
          "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #ddd}\n"
          "#disclaimer{background:#fff4d6;border:1px solid #e5c76b;padding:8px 12px;border-radius:6px}\n"
          ".verdict{font-size:26px;font-weight:bold;padding:10px 14px;border-radius:8px;display:inline-block}\n"
          ".ok{background:#e3f5e6;color:#17622a}.bad{background:#fde3e1;color:#9c1c13}"
          ".unknown{background:#eceff3;color:#444}\n"
          "#input-warning{background:#ffefd9;border:1px solid #e8a33d;padding:8px 12px;border-radius:6px;margin:10px 0}\n"
          "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}\n"
          ".frames{display:flex;gap:16px;flex-wrap:wrap}.frames figure{margin:0}.frames img,#overlay{min-width:320px;height:auto}img,video{max-width:100%;"
          "image-rendering:auto}\nfigcaption{font-size:13px;color:#555}code{font-size:12px}\n"
          "</style></head><body>\n",
          f);
    fputs("<h1>Vein compression analysis: ", f);
    html_text(f, c->o->name);
    fputs("</h1>\n<p id=\"disclaimer\"><b>A research tool, not a medical device.</b> The verdict is decision "
          "support computed by software from an automatic segmentation; it is not a diagnosis. Check the "
          "overlay and the curve; the diagnosis stays with the clinician.</p>\n",
          f);
    if (c->o->note) {
        fputs("<p id=\"note\">", f);
        html_text(f, c->o->note);
        fputs("</p>\n", f);
    }
    fprintf(f, "<h2>Verdict</h2>\n<div id=\"verdict\" class=\"verdict %s\" data-verdict=\"%s\">", vclass,
            vs_verdict_short(s->verdict));
    html_text(f, vs_verdict_words(s->verdict));
    /* an indeterminate result reports no compressibility: the measurement is shown only as such */
    if (s->verdict == VENSEG_VERDICT_INDETERMINATE) snprintf(b1, sizeof b1, "none (indeterminate)");
    else fmt_num(b1, sizeof b1, s->compressibility_percent, " %");
    fputs("</div>\n", f);
    if (c->input_flags && c->health) { /* the clip itself was damaged or cut short: said beside the verdict */
        fputs("<div id=\"input-warning\"><b>Warning: the clip is damaged or incomplete.</b> The verdict covers what "
              "could be decoded.<ul>\n", f);
        for (uint32_t bit = 1; bit <= VS_INPUT_FRAMES_MISSING; bit <<= 1) {
            if (!(c->input_flags & bit)) continue;
            char line[512];
            vs_input_warning(c->health, bit, line, sizeof line);
            fprintf(f, "<li data-input-flag=\"%s\"><code>%s</code>: ", vs_input_flag_short(bit), vs_input_flag_short(bit));
            html_text(f, line);
            fputs("</li>\n", f);
        }
        fputs("</ul></div>\n", f);
    }
    char vc[32], ic[32];
    vs_confidence_text(s->verdict_confidence, vc, sizeof vc);
    vs_confidence_text(s->identity_confidence, ic, sizeof ic);
    fprintf(f, "<p id=\"confidence\">Verdict confidence <b id=\"verdict-confidence\">%s</b> &middot; identity "
               "confidence (that the vein is the vein and the artery the artery) <b id=\"identity-confidence\">%s</b> "
               "&middot; medial side <b id=\"medial-side\">%s</b> (%s)</p>\n",
            vc, ic, vs_medial_side_name(s->medial_side), vs_medial_source_name(s->medial_side_source));
    if (s->verdict == VENSEG_VERDICT_INDETERMINATE) {
        fputs("<p id=\"indeterminate\"><b>No verdict (indeterminate)</b> because ", f);
        int n = 0;
        for (int b = 0; b < 32; b++) {
            uint32_t bit = 1u << b;
            if (!(s->flags & bit) || vs_flag_informational(bit)) continue;
            fprintf(f, "%s<code data-reason=\"%s\">%s</code>: ", n++ ? "; " : "", vs_flag_short(bit), vs_flag_short(bit));
            html_text(f, vs_flag_text(bit));
        }
        if (!n) fputs("no quality flag is set (no data to judge)", f);
        fputs(". Check the overlay: did the model find the vein?</p>\n", f);
    }
    fprintf(f, "<p>Compressibility (Chen et al.: (A<sub>baseline</sub> &minus; A<sub>min</sub>) / "
               "A<sub>baseline</sub>): <b id=\"compressibility\">%s</b>",
            b1);
    if (c->o->site && *c->o->site) {
        fputs(" &middot; site <b id=\"site\">", f);
        html_text(f, c->o->site);
        fputs("</b>", f);
    }
    fputs("</p>\n<table id=\"summary\">\n", f);
    int mm = s->flags & VENSEG_FLAG_SPACING_UNKNOWN ? 0 : 1;
    fmt_num(b1, sizeof b1, s->baseline_area_px, " px");
    fmt_num(b2, sizeof b2, s->min_area_px, " px");
    fmt_num(b3, sizeof b3, s->baseline_area_mm2, " mm&sup2;");
    fmt_num(b4, sizeof b4, s->min_area_mm2, " mm&sup2;");
    char at1[32] = "", at2[32] = "";
    if (s->baseline_frame >= 0) snprintf(at1, sizeof at1, "frame %d", s->baseline_frame);
    if (s->min_frame >= 0) snprintf(at2, sizeof at2, "frame %d", s->min_frame);
    fprintf(f, "<tr><th>baseline vein area</th><td>%s%s%s</td><td>%s</td></tr>\n", b1,
            mm && isfinite(s->baseline_area_mm2) ? " = " : "", mm && isfinite(s->baseline_area_mm2) ? b3 : "", at1);
    fprintf(f, "<tr><th>minimum (residual) vein area</th><td>%s%s%s</td><td>%s</td></tr>\n", b2,
            mm && isfinite(s->min_area_mm2) ? " = " : "", mm && isfinite(s->min_area_mm2) ? b4 : "", at2);
    fprintf(f, "<tr><th>found</th><td id=\"found\">artery in %d, vein of interest in %d of %d analysed frames"
               "</td><td></td></tr>\n",
            c->with_artery, c->with_vein, c->analysed);
    fmt_num(b5, sizeof b5, s->artery_deformation_percent, " %");
    fprintf(f, "<tr><th>artery deformation</th><td>%s</td><td></td></tr>\n", b5);
    fmt_num(b5, sizeof b5, s->max_lateral_shift_px, " px");
    fprintf(f, "<tr><th>largest lateral drift</th><td>%s</td><td></td></tr>\n", b5);
    vs_confidence_text(s->pressure_correlation, b5, sizeof b5);
    fprintf(f, "<tr><th>pressure correlation</th><td id=\"pressure-correlation\">%s</td><td>vein area vs artery "
               "flattening: a real compression moves both together</td></tr>\n", b5);
    char declared[96] = "";
    if (c->health && c->health->frames_declared >= 0 && !strcmp(c->kind, "video"))
        snprintf(declared, sizeof declared, " of %d declared%s", c->health->frames_declared,
                 c->health->decode_errors ? ", FFmpeg reported decoding errors" : "");
    fprintf(f, "<tr><th>frames</th><td id=\"frames\">%d read%s, %d analysed (every %d)</td><td>%s, %dx%d, %.3g frames/s</td></tr>\n",
            c->frames_read, declared, c->analysed, c->o->stride, c->kind, c->width, c->height, c->fps);
    if (mm) fprintf(f, "<tr><th>pixel spacing</th><td>%.4g x %.4g mm</td><td></td></tr>\n", c->o->spacing_x, c->o->spacing_y);
    else fputs("<tr><th>pixel spacing</th><td>unknown (areas in px only)</td><td></td></tr>\n", f);
    if (c->o->roi[2] > 0)
        fprintf(f, "<tr><th>region of interest</th><td>x %d, y %d, %d x %d</td><td></td></tr>\n", c->o->roi[0],
                c->o->roi[1], c->o->roi[2], c->o->roi[3]);
    fputs("</table>\n<h2>Vessels</h2>\n<p>Each vessel track with the identity the tracker gave it (decided from the "
          "frames before compression, then held) and the evidence for it.</p>\n<table id=\"vessels\">\n"
          "<tr><th>identity</th><th>role</th><th>track</th><th>identity confidence</th><th>evidence</th></tr>\n",
          f);
    for (int32_t i = 0; i < c->vessel_shown; i++) {
        const venseg_vessel *v = &c->vessels[i];
        char line[512], conf[32];
        vs_vessel_line(v, line, sizeof line);
        vs_confidence_text(v->identity_confidence, conf, sizeof conf);
        const char *colon = strstr(line, ": "); /* the evidence part of the line */
        fprintf(f, "<tr data-identity=\"%s\" data-track=\"%d\"><td><b>%s</b></td><td>%s</td><td>%d</td><td>%s</td><td>",
                vs_identity_short(v->identity), v->track_id, vs_identity_short(v->identity),
                v->role == 2 ? "vein of interest" : v->role == 1 ? "artery of interest" : "other", v->track_id, conf);
        html_text(f, colon ? colon + 2 : line);
        fputs("</td></tr>\n", f);
    }
    if (c->vessel_count > c->vessel_shown)
        fprintf(f, "<tr><td colspan=\"5\">and %d smaller tracks</td></tr>\n", c->vessel_count - c->vessel_shown);
    if (c->vessel_count == 0) fputs("<tr data-identity=\"NONE\"><td colspan=\"5\">no vessel tracks</td></tr>\n", f);
    fputs("</table>\n<h2>Quality flags</h2>\n<ul id=\"flags\">\n", f);
    int any = 0;
    for (int b = 0; b < 32; b++) {
        uint32_t bit = 1u << b;
        if (!(s->flags & bit)) continue;
        any = 1;
        fprintf(f, "<li data-flag=\"%s\"><code>%s</code>: ", vs_flag_short(bit), vs_flag_short(bit));
        html_text(f, vs_flag_text(bit));
        fputs("</li>\n", f);
    }
    if (!any) fputs("<li data-flag=\"NONE\">none</li>\n", f);
    fputs("</ul>\n<h2>Vein area over time</h2>\n", f);
    if (c->plot) html_png(f, "curve", "vein and artery area over time", c->plot->rgb, c->plot->width, c->plot->height);
    fputs("\n<h2>Key frames</h2>\n<div class=\"frames\">\n", f);
    const char *ids[2] = {"keyframe-baseline", "keyframe-min"};
    const char *caps[2] = {"baseline (largest vein before the compression)", "maximum compression"};
    int32_t which[2] = {s->baseline_frame, s->min_frame};
    uint8_t *rgb = malloc((size_t)c->store->width * c->store->height * 3);
    for (int k = 0; k < 2 && rgb; k++) {
        int32_t at = which[k] >= 0 ? vs_frames_store_find(c->store, which[k]) : -1;
        const char *cap = caps[k];
        if (at < 0 && c->store->n > 0) { /* no baseline / minimum: show the first / middle frame */
            at = k == 0 ? 0 : c->store->n / 2;
            which[k] = c->store->frame_index[at];
            cap = k == 0 ? "first frame (no baseline found)" : "middle frame (no compression found)";
        }
        fprintf(f, "<figure>");
        if (at >= 0) {
            vs_index_to_rgb(c->store->index[at], (size_t)c->store->width * c->store->height, rgb);
            html_png(f, ids[k], cap, rgb, c->store->width, c->store->height);
        } else {
            fprintf(f, "<p id=\"%s\">no frames</p>", ids[k]);
        }
        fprintf(f, "<figcaption>%s, frame %d</figcaption></figure>\n", cap, which[k]);
    }
    free(rgb);
    fputs("</div>\n<p>Overlay: artery red, vein blue (filled, outlined).</p>\n<h2>Overlay clip</h2>\n", f);
    /* The MP4 when browsers can play it (H.264) and it is not huge: a 15 s cine is ~1 MB where
     * its GIF of every frame is ~50 MB; else the GIF (by default a preview of bounded size);
     * else links. The report stays a few MB. */
    long gif_size = file_size(c->gif_path), mp4_size = file_size(c->mp4_path);
    int h264 = c->mp4_codec && strstr(c->mp4_codec, "264") != NULL;
    int embedded = 0;
    if (mp4_size > 0 && h264 && mp4_size <= VS_REPORT_MP4_MAX)
        embedded = html_video(f, "overlay", c->mp4_path, c->store->width, c->store->height) == 0;
    else if (gif_size > 0 && gif_size <= VS_REPORT_GIF_MAX)
        embedded = html_file(f, "overlay", "overlay clip", c->gif_path, "image/gif", c->store->width) == 0;
    if (embedded) fputs("\n", f);
    if (gif_size > 0 || mp4_size > 0) {
        fprintf(f, "<p id=\"%s\">%s", embedded ? "overlay-files" : "overlay",
                embedded ? "Beside this report: " : "The overlay clip is too large to embed; beside this report: ");
        const char *paths[2] = {c->mp4_path, c->gif_path};
        long sizes[2] = {mp4_size, gif_size};
        for (int k = 0, n = 0; k < 2; k++) {
            if (sizes[k] <= 0) continue;
            const char *b = strrchr(paths[k], '/');
            fputs(n++ ? ", <a href=\"" : "<a href=\"", f);
            html_text(f, b ? b + 1 : paths[k]);
            fputs("\">", f);
            html_text(f, b ? b + 1 : paths[k]);
            fprintf(f, "</a> (%s, %.1f MB)", k == 0 ? (h264 ? "H.264" : c->mp4_codec ? c->mp4_codec : "MP4")
                                             : c->o->full_gif ? "every analysed frame" : "a preview: smaller, fewer frames",
                    sizes[k] / 1048576.0);
        }
        fputs(".</p>\n", f);
    }
    fputs("<h2>Method, model and versions</h2>\n<table id=\"versions\">\n<tr><th>input</th><td>", f);
    html_text(f, c->o->input);
    fputs("</td></tr>\n<tr><th>model</th><td>", f);
    if (c->o->use_labels) fputs("<b>none: the clip's own label masks were tracked (--use-labels)</b>; loaded: ", f);
    html_text(f, c->o->model_path);
    fputs(" (", f);
    html_text(f, arch);
    if (*enc) {
        fputs("-", f);
        html_text(f, enc);
    }
    if (*mname) {
        fputs(", ", f);
        html_text(f, mname);
    }
    fprintf(f, ")</td></tr>\n<tr><th>libvenseg</th><td>%s (%s)</td></tr>\n<tr><th>session</th><td>",
            venseg_version_string(), venseg_build_info());
    html_text(f, c->session_desc);
    fputs("</td></tr>\n", f);
    if (c->o->command_line) {
        fputs("<tr><th>command</th><td><code>", f);
        html_text(f, c->o->command_line);
        fputs("</code></td></tr>\n", f);
    }
    fprintf(f, "<tr><th>generated</th><td>%s</td></tr>\n</table>\n", when);
    fputs("<p>Tracker: the vein beside the artery is followed through the clip; its area is smoothed with a "
          "running median; the baseline is the largest smoothed area before the deepest drop and the minimum "
          "the bottom of it (docs/tracking.md). Thresholds are project defaults, not clinical truth.</p>\n"
          "</body></html>\n",
          f);
    if (fclose(f) != 0) {
        snprintf(err, err_size, "%s: write failed", path);
        return -1;
    }
    return 0;
}
