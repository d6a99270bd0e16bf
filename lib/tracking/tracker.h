/* Tracker internals shared with the exam. Not installed. */
#ifndef VENSEG_TRACKER_H
#define VENSEG_TRACKER_H

#include "core/internal.h"

/* The site label of the tracker's configuration ("" if none). */
const char *vs_tracker_site(const venseg_tracker *tracker);

#endif
