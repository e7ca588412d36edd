/* fault_alloc.h: arming the allocation-failure injection of fault_alloc.c
 * from a test linked with it (-Wl,--wrap=malloc,--wrap=calloc,
 * --wrap=realloc,--wrap=strdup; Makefile FAULT_WRAP). Only allocations
 * made by Precis's own code pass through it; RocksDB, FAISS, jansson and
 * libc allocate unaffected. Not thread-safe against a concurrent re-arm:
 * call it with no engine call in flight. */
#ifndef PRECIS_TESTS_FAULT_ALLOC_H
#define PRECIS_TESTS_FAULT_ALLOC_H

/* From now on, counting from 1, allocation n fails (once, NULL with errno
 * ENOMEM); n <= 0 disarms. Either way the counts restart at 0. */
void fault_alloc_fail_nth(long n);
/* Allocations failed since the last fault_alloc_fail_nth(): 0 or 1. */
long fault_alloc_failures(void);

#endif
