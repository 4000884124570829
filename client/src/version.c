/*
 * libstagedupdate: version numbers, as the version server reads them:
 * 1 to 4 dot-separated numbers of at most 9 digits, compared numerically
 * (1.10 > 1.9, 1.2 = 1.2.0).
 *
 * Copyright (c) the ngx_http_staged_update_module authors.
 * SPDX-License-Identifier: BSD-2-Clause
 */

#include <ctype.h>
#include <stdlib.h>

#include "su_internal.h"


int
su_version_ok(const char *v)
{
    int  parts = 1, digits = 0;

    for ( ; *v; v++) {
        if (isdigit((unsigned char) *v)) {
            if (++digits > 9) {
                return 0;
            }
        } else if (*v == '.' && digits > 0 && parts < 4) {
            parts++;
            digits = 0;
        } else {
            return 0;
        }
    }

    return digits > 0;
}


/* of two valid versions: -1, 0 or 1 */

int
su_version_cmp(const char *a, const char *b)
{
    int            i;
    char          *e;
    unsigned long  x, y;

    for (i = 0; i < 4; i++) {
        x = *a ? strtoul(a, &e, 10) : 0;
        a = *a ? e + (*e == '.') : a;
        y = *b ? strtoul(b, &e, 10) : 0;
        b = *b ? e + (*e == '.') : b;

        if (x != y) {
            return x < y ? -1 : 1;
        }
    }

    return 0;
}
