/*
 * precis/limits.h: every size Precis accepts, in one place.
 *
 * Conventions: all limits are inclusive maxima (or minima where named MIN).
 * Exceeding one yields PRECIS_E_OUT_OF_RANGE (or PRECIS_E_FRAME_TOO_LARGE for
 * frames) with a message naming the limit; nothing is changed. The server may
 * lower some of them by configuration (frame size, connections), never raise
 * them past these values.
 */
#ifndef PRECIS_LIMITS_H
#define PRECIS_LIMITS_H

#define PRECIS_MAX_DIM 4096            /* vector dimension: 1..4096 */
#define PRECIS_MAX_NAME_LEN 64         /* collection name: [A-Za-z0-9_.-]{1,64} */
#define PRECIS_MAX_K 1000              /* k of search / retrieve */
#define PRECIS_MAX_SEEDS 2000          /* ANN seeds of retrieve */
#define PRECIS_MAX_POOL 5000           /* candidate pool of retrieve */
#define PRECIS_MAX_HOPS 3              /* graph hops of retrieve */
#define PRECIS_MAX_FANOUT 256          /* edges followed per node */
#define PRECIS_MAX_THETA 20.0f         /* COMPRESS volume quality exponent */
#define PRECIS_MAX_BATCH 100000        /* points in one upsert/get/delete */
#define PRECIS_MAX_TEXT_BYTES (1u << 20)     /* 1 MiB of text per point */
#define PRECIS_MAX_META_BYTES (64u << 10)    /* 64 KiB of metadata JSON */
#define PRECIS_MAX_LINK_KIND_LEN 32    /* knowledge-link label */
#define PRECIS_MAX_KNN_K 64            /* kNN-graph degree */
#define PRECIS_MAX_INDEX_SPEC_LEN 128  /* FAISS factory string */
#define PRECIS_MAX_COLLECTIONS 1024
#define PRECIS_MAX_TOKEN_BUDGET 10000000u

#define PRECIS_DEFAULT_MAX_FRAME (64u << 20) /* 64 MiB */
#define PRECIS_HARD_MAX_FRAME (256u << 20)   /* configurable up to 256 MiB */
#define PRECIS_DEFAULT_MAX_CONNECTIONS 1024
#define PRECIS_MAX_INFLIGHT_PER_CONN 4096

/* Retrieval defaults, shared by the engine, the server and libprecis so that
 * they cannot drift apart. COMPRESS weights were chosen by measurement on
 * WordNet (docs/RETRIEVAL.md). Seeds default to max(10k, 40), at most pool. */
#define PRECIS_DEFAULT_K 10
#define PRECIS_DEFAULT_FANOUT 16
#define PRECIS_DEFAULT_POOL 300
#define PRECIS_DEFAULT_GRAPH_WEIGHT 0.5f
#define PRECIS_DEFAULT_DECAY 0.9f
#define PRECIS_DEFAULT_LAMBDA 0.5f
#define PRECIS_DEFAULT_A 0.0f
#define PRECIS_DEFAULT_B 0.5f
#define PRECIS_DEFAULT_C 1.0f
#define PRECIS_DEFAULT_THETA 1.0f
/* theta = PRECIS_THETA_AUTO (the default of retrieve) means
 * PRECIS_DEFAULT_THETA at hops 0 and PRECIS_DEFAULT_THETA_EXPANDED when the
 * graph is walked: on full WordNet, hops 1 over is_a, theta 2 found 23.5 %
 * of held-out hypernyms at 90 % of TOPK's similarity where theta 1 found
 * 20.2 % at 80 % (bench/README.md, quality). */
#define PRECIS_DEFAULT_THETA_EXPANDED 2.0f
#define PRECIS_THETA_AUTO (-1.0f)
#define PRECIS_DEFAULT_MAX_REPRESENTED 16

/* ---- filters (docs/PROTOCOL.md, Filter) ---- */
#define PRECIS_MAX_FILTER_GROUPS 64       /* must/should/must_not groups */
#define PRECIS_MAX_FILTER_DEPTH 8         /* nesting of groups */
#define PRECIS_MAX_FILTER_CONDITIONS 256  /* conditions over all groups */
#define PRECIS_MAX_FILTER_VALUES 10000    /* any-of/none-of values and ids */
#define PRECIS_MAX_FILTER_KEY_LEN 256     /* dotted metadata path */
#define PRECIS_MAX_FILTER_KEY_PARTS 16    /* segments of a dotted path */
#define PRECIS_MAX_FILTER_KEYWORD_LEN 1024 /* one keyword value */
#define PRECIS_MAX_PAYLOAD_INDEXES 32     /* payload indexes per collection */
#define PRECIS_MAX_SCROLL_LIMIT 10000     /* points in one scroll page */
#define PRECIS_SCROLL_SCAN_BUDGET 100000  /* stored points one scroll page may examine */

#endif /* PRECIS_LIMITS_H */
