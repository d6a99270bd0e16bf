/* labelme_cmd.c: `venseg labelme`: a LabelMe JSON -> a label PNG (see the help text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "util/cli_util.h"
#include "util/options.h"
#include "util/labelmap.h"
#include "util/labelme.h"
#include "util/png_io.h"

static const char labelme_help[] =
    "usage: venseg labelme [--label-map MAP] [--size WxH] IN.json OUT.png\n"
    "\n"
    "Draws the shapes of a LabelMe file into an 8-bit grey label PNG the way LabelMe\n"
    "does (Pillow's polygon fill; later shapes over earlier ones). Pixel values are the\n"
    "classes: 0 background, 1 artery, 2 vein, 3 vessel (unknown class), 4 ignore; score\n"
    "it with venseg eval --label-map artery=1,vein=2,vessel=3,ignore=4.\n"
    "\n"
    "  --label-map MAP  shape labels -> classes, as for venseg eval (default: the class\n"
    "                   names themselves: artery, vein, vessel, ignore, any case)\n"
    "  --size WxH       image size (default: the JSON's imageWidth x imageHeight)\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit status: 0 ok, 1 the JSON cannot be read or the PNG written, 2 bad command line.\n";

int vs_cmd_labelme(int argc, char **argv)
{
    const char *map_text = "", *in = NULL, *out = NULL;
    int w = 0, h = 0, rc = VS_EXIT_ERROR;
    vs_labelmap map;
    vs_labelme_stats st;
    uint8_t *codes = NULL;
    int32_t ow, oh;
    char err[512];

    vs_common_opts c;
    int status;
    const char *v;
    vs_common_opts_init(&c, NULL);
    for (int i = 1; i < argc; i++) {
        int shared = vs_common_option("labelme", labelme_help, 0, argc, argv, &i, &c, &status);
        if (shared < 0)
            return status;
        if (vs_is_option(argv[i], "--label-map") && (v = vs_option_value(argc, argv, &i))) {
            map_text = v;
        } else if (vs_is_option(argv[i], "--size") && (v = vs_option_value(argc, argv, &i))) {
            if (sscanf(v, "%dx%d", &w, &h) != 2 || w <= 0 || h <= 0)
                return vs_usage_error("labelme", "--size must be WxH, not ", v);
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return vs_usage_error("labelme", "unknown or incomplete option ", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return vs_usage_error("labelme", "too many arguments", NULL);
        }
    }
    if (!in || !out)
        return vs_usage_error("labelme", "IN.json and OUT.png are required", NULL);
    if (vs_labelmap_parse(map_text, &map, err, sizeof err) != 0) {
        fprintf(stderr, "venseg labelme: bad --label-map: %s\n", err);
        return VS_EXIT_USAGE;
    }
    if (vs_labelme_read(in, &map, w, h, &codes, &ow, &oh, NULL, NULL, &st, err, sizeof err) != 0) {
        fprintf(stderr, "venseg labelme: %s: %s\n", in, err);
        goto done;
    }
    if (st.unknown_label)
        fprintf(stderr, "venseg labelme: warning: %d shape(s) with labels not in the map (e.g. '%s') not drawn\n",
                st.unknown_label, st.first_unknown);
    if (st.unsupported)
        fprintf(stderr, "venseg labelme: warning: %d shape(s) of unsupported type (e.g. '%s') not drawn\n",
                st.unsupported, st.first_unsupported);
    if (vs_png_write_gray(out, codes, ow, oh, ow, err, sizeof err) != 0) {
        fprintf(stderr, "venseg labelme: %s: %s\n", out, err);
        goto done;
    }
    rc = VS_EXIT_OK;
done:
    free(codes);
    vs_labelmap_free(&map);
    return rc;
}
