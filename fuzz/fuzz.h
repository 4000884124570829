
/*
 * Copyright (C) The ngx_http_staged_update_module authors
 *
 * What every fuzz target shares: the entry point libFuzzer calls, and
 * FUZZ_ASSERT(), which aborts with the invariant that failed.
 */


#ifndef _FUZZ_H_INCLUDED_
#define _FUZZ_H_INCLUDED_


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>


#define FUZZ_ASSERT(e)                                                        \
    do {                                                                      \
        if (!(e)) {                                                           \
            fprintf(stderr, "%s:%d: invariant failed: %s\n",                  \
                    __FILE__, __LINE__, #e);                                  \
            abort();                                                          \
        }                                                                     \
    } while (0)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#endif /* _FUZZ_H_INCLUDED_ */
