/*
 * libstagedupdate: the whole flow in one call, for launchers that need no
 * more: check, ask, fetch, install.
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#include <stdlib.h>

#include "su_internal.h"


su_status_t
su_update(su_install_t *in, const char *server_id, unsigned flags,
    su_outcome_t *outcome, su_error_t *err)
{
    su_offer_t    *o;
    su_status_t    rc;
    su_outcome_t   dummy;

    if (outcome == NULL) {
        outcome = &dummy;
    }

    *outcome = SU_CURRENT;

    rc = su_check(in, server_id, flags, &o, err);
    if (rc != SU_OK || o == NULL) {
        return rc;
    }

    if (flags & SU_CHECK_ONLY) {
        *outcome = SU_OFFERED;
        su_offer_free(o);
        return SU_OK;
    }

    if (in->opts.ask != NULL && !in->opts.ask(o, in->opts.data)) {
        su_log(in, SU_LOG_INFO, "declined: %s kept", in->version);
        *outcome = SU_DECLINED;
        su_offer_free(o);
        return SU_OK;
    }

    rc = su_install(in, o, err);
    su_offer_free(o);

    if (rc == SU_OK) {
        *outcome = SU_INSTALLED;
    }

    return rc;
}
