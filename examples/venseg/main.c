/*
 * venseg: the libvenseg command-line program.
 *
 *   venseg demo | segment | analyze | phantom | bench ...  (venseg COMMAND --help)
 *   venseg eval MODEL --images DIR --labels DIR [options]   score a model on labelled images
 *   venseg labelme [--label-map MAP] IN.json OUT.png          rasterise a LabelMe file
 *   venseg --version | --help | COMMAND --help
 *
 * Subcommands live in their own files (eval_cmd.c, ...) behind the table below.
 */
#include <stdio.h>
#include <string.h>
#include <venseg/venseg.h>

#include "commands.h"
#include "util/cli_util.h"
#include "report/analyze_pipeline.h"
#include "util/bench.h"
#include "util/labelme.h"
#include "util/media.h"

/* `venseg bench` is the harness benchmarks/bench_segment shares, without the oneDNN ceiling and
 * with --pipeline CLIP (the whole analysis, report/analyze_pipeline.c). */
int vs_cmd_bench(int argc, char **argv)
{
    return vs_bench_main_ex(argc, argv, "venseg bench", NULL, vs_bench_pipeline);
}

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"demo", vs_cmd_demo, "the demo: a real frame and two phantom clips (normal, thrombosed), with reports"},
    {"segment", vs_cmd_segment, "images -> label PNG, overlay PNG, JSON of per-class areas"},
    {"analyze", vs_cmd_analyze, "a compression clip (video, GIF, frames) -> verdict, curve, overlay, HTML report"},
    {"phantom", vs_cmd_phantom, "write a synthetic compression clip (normal or thrombosed vein)"},
    {"eval", vs_cmd_eval, "segment labelled images, score Dice/Jaccard/SSIM/HD95 (CSV + summary)"},
    {"bench", vs_cmd_bench, "time the network on one backend and precision, or a whole analysis (JSON)"},
    {"labelme", vs_cmd_labelme, "rasterise a LabelMe JSON to a label PNG, as LabelMe does"},
};

static void print_help(FILE *f)
{
    fprintf(f, "usage: venseg COMMAND [options]    (venseg COMMAND --help for its options)\n\n"
               "Artery and vein segmentation in B-mode ultrasound (libvenseg %s).\n"
               "A research tool, not a medical device.\n\ncommands:\n",
            venseg_version_string());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\noptions:\n  -h, --help     this help\n  --version      versions of the program and the library\n\n%s",
            VS_EXIT_HELP);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return VS_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return VS_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("venseg %s (library %s; %s; LabelMe JSON %s; video %s; GIF %s)\n", VENSEG_VERSION_STRING,
               venseg_version_string(), venseg_build_info(), vs_labelme_available() ? "yes" : "no (built without cJSON)",
               vs_media_have_video() ? "FFmpeg" : "no (built without FFmpeg)",
               vs_media_have_gif() ? "giflib" : "no (built without giflib)");
        return VS_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "venseg: unknown command '%s'\n\n", argv[1]);
    print_help(stderr);
    return VS_EXIT_USAGE;
}
