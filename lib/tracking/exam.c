/* Multi-site compression exams (2-point, 3-point, custom): per-site verdicts, one report. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tracking/tracker.h"

enum { MAX_SITES = 64 };

typedef struct site_entry {
    char name[64];
    int required, recorded;
    venseg_track_summary summary;
} site_entry;

struct venseg_exam {
    venseg_exam_protocol protocol;
    site_entry sites[MAX_SITES];
    int n_sites;
};

const char *venseg_exam_outcome_name(venseg_exam_outcome o)
{
    switch (o) {
    case VENSEG_EXAM_INCOMPLETE: return "VENSEG_EXAM_INCOMPLETE";
    case VENSEG_EXAM_NORMAL: return "VENSEG_EXAM_NORMAL";
    case VENSEG_EXAM_ABNORMAL: return "VENSEG_EXAM_ABNORMAL";
    }
    return "VENSEG_EXAM_UNKNOWN";
}

static int same_site(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return *a == *b;
}

static void add_required(venseg_exam *e, const char *name)
{
    site_entry *s = &e->sites[e->n_sites++];
    memset(s, 0, sizeof *s);
    strcpy(s->name, name);
    s->required = 1;
}

venseg_status venseg_exam_create(venseg_exam_protocol protocol, venseg_exam **out)
{
    vs_clear_error();
    if (!out) return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_exam_create: out is NULL");
    if (protocol != VENSEG_EXAM_CUSTOM && protocol != VENSEG_EXAM_TWO_POINT && protocol != VENSEG_EXAM_THREE_POINT)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_exam_create: unknown protocol %d", (int)protocol);
    venseg_exam *e = calloc(1, sizeof *e);
    if (!e) return vs_fail(VENSEG_E_OUT_OF_MEMORY, "venseg_exam_create: out of memory");
    e->protocol = protocol;
    if (protocol != VENSEG_EXAM_CUSTOM) add_required(e, VENSEG_SITE_COMMON_FEMORAL);
    if (protocol == VENSEG_EXAM_THREE_POINT) add_required(e, VENSEG_SITE_FEMORAL);
    if (protocol != VENSEG_EXAM_CUSTOM) add_required(e, VENSEG_SITE_POPLITEAL);
    *out = e;
    return VENSEG_OK;
}

void venseg_exam_free(venseg_exam *e) { free(e); }

venseg_status venseg_exam_add(venseg_exam *e, const venseg_tracker *tracker)
{
    vs_clear_error();
    if (!e || !tracker)
        return vs_fail(VENSEG_E_INVALID_ARGUMENT, "venseg_exam_add: %s is NULL", e ? "tracker" : "exam");
    const char *name = vs_tracker_site(tracker);
    if (!name[0])
        return vs_fail(VENSEG_E_INVALID_ARGUMENT,
                       "venseg_exam_add: the tracker has no site (venseg_tracker_config_set_site)");
    venseg_track_summary sum;
    memset(&sum, 0, sizeof sum);
    sum.struct_size = sizeof sum;
    venseg_status st = venseg_tracker_summary(tracker, &sum);
    if (st) return st;
    site_entry *slot = NULL;
    for (int i = 0; i < e->n_sites && !slot; i++)
        if (same_site(e->sites[i].name, name)) slot = &e->sites[i];
    if (!slot) {
        if (e->n_sites == MAX_SITES)
            return vs_fail(VENSEG_E_BAD_STATE, "venseg_exam_add: the exam already has %d sites", MAX_SITES);
        slot = &e->sites[e->n_sites++];
        memset(slot, 0, sizeof *slot);
        strcpy(slot->name, name); /* < 64 bytes: checked by venseg_tracker_config_set_site */
    }
    slot->recorded = 1;
    slot->summary = sum;
    return VENSEG_OK;
}

venseg_status venseg_exam_report_get(const venseg_exam *e, venseg_exam_report *out)
{
    venseg_status st = vs_out_check("venseg_exam_report_get", e, "exam", out);
    if (st) return st;
    venseg_exam_report r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.protocol = e->protocol;
    r.site_count = e->n_sites;
    int required_ok = 1, recorded = 0;
    for (int i = 0; i < e->n_sites; i++) {
        const site_entry *s = &e->sites[i];
        if (!s->recorded) {
            r.required_missing += s->required;
            required_ok = 0;
            continue;
        }
        recorded++;
        switch (s->summary.verdict) {
        case VENSEG_VERDICT_COMPRESSIBLE: r.compressible++; break;
        case VENSEG_VERDICT_PARTIALLY_COMPRESSIBLE: r.partially_compressible++; break;
        case VENSEG_VERDICT_NON_COMPRESSIBLE: r.non_compressible++; break;
        default: r.indeterminate++; break;
        }
        if (s->summary.verdict != VENSEG_VERDICT_COMPRESSIBLE) required_ok = 0;
    }
    if (r.partially_compressible + r.non_compressible > 0) r.outcome = VENSEG_EXAM_ABNORMAL;
    else if (required_ok && recorded > 0) r.outcome = VENSEG_EXAM_NORMAL;
    else r.outcome = VENSEG_EXAM_INCOMPLETE;
    vs_struct_copy(out, &r, sizeof r);
    return VENSEG_OK;
}

venseg_status venseg_exam_site_count(const venseg_exam *e, int32_t *count)
{
    return vs_count_out("venseg_exam_site_count", e, "exam", count, e ? e->n_sites : 0);
}

venseg_status venseg_exam_site_at(const venseg_exam *e, int32_t index, venseg_exam_site *out)
{
    vs_clear_error();
    venseg_status st = vs_item_check("venseg_exam_site_at", e, "exam", out, index, e ? e->n_sites : 0);
    if (st) return st;
    const site_entry *s = &e->sites[index];
    venseg_exam_site o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    memcpy(o.site, s->name, sizeof o.site);
    o.required = s->required;
    o.recorded = s->recorded;
    o.verdict = s->recorded ? s->summary.verdict : VENSEG_VERDICT_INDETERMINATE;
    o.flags = s->recorded ? s->summary.flags : 0;
    o.compressibility_percent = s->recorded ? s->summary.compressibility_percent : NAN;
    o.residual_area_mm2 = s->recorded ? s->summary.min_area_mm2 : NAN;
    o.baseline_area_mm2 = s->recorded ? s->summary.baseline_area_mm2 : NAN;
    vs_struct_copy(out, &o, sizeof o);
    return VENSEG_OK;
}
