/* Session internals read by the floor above (tracking). Not installed. */
#ifndef VENSEG_SESSION_H
#define VENSEG_SESSION_H

#include "core/regions.h"

/* The regions of the last frame venseg_segment labelled (its ROI, at the ROI's origin),
 * with the small ones the mask lost erased (label 0, no pixels). Valid until the next
 * call on the session. */
const vs_regions *vs_session_regions(const venseg_session *session);

#endif
