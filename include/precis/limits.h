/*
 * precis/limits.h: every size Precis accepts, in one place.
 *
 * Conventions: all limits are inclusive maxima (or minima where named MIN).
 * Exceeding one yields PRECIS_E_OUT_OF_RANGE (or PRECIS_E_FRAME_TOO_LARGE for
 * frames) with a message naming the limit; nothing is changed. The server may
 * lower some of them by configuration (frame size), never raise them past
 * these values. The server's own tuning is in server/srv_limits.h.
 */
#ifndef PRECIS_LIMITS_H
#define PRECIS_LIMITS_H

#define PRECIS_MAX_DIM            4096        /* vector dimension: 1..4096 */
#define PRECIS_MAX_NAME_LEN       64          /* collection name: [A-Za-z0-9_.-]{1,64} */
#define PRECIS_MAX_K              1000        /* k of search / retrieve */
#define PRECIS_MAX_SEEDS          2000        /* ANN seeds of retrieve */
#define PRECIS_MAX_POOL           5000        /* candidate pool of retrieve */
#define PRECIS_MAX_HOPS           3           /* graph hops of retrieve */
#define PRECIS_MAX_FANOUT         256         /* edges followed per node */
#define PRECIS_MAX_THETA          1024.0f     /* COMPRESS log-det quality exponent */
#define PRECIS_MAX_BATCH          100000      /* points in one upsert/get/delete */
#define PRECIS_MAX_TEXT_BYTES     (1u << 20)  /* 1 MiB of text per point */
#define PRECIS_MAX_META_BYTES     (64u << 10) /* 64 KiB of metadata JSON */
#define PRECIS_MAX_LINK_KIND_LEN  32          /* knowledge-link label */
#define PRECIS_MAX_KNN_K          64          /* kNN-graph degree */
#define PRECIS_MAX_INDEX_SPEC_LEN 128         /* FAISS factory string */
#define PRECIS_MAX_COLLECTIONS    1024
#define PRECIS_MAX_TOKEN_BUDGET   10000000u
/* Repeated fields (issue 11): every repeated field of a request is bounded
 * before it is decoded; those not named here take PRECIS_MAX_BATCH
 * (points, ids, links) or PRECIS_MAX_DIM (vectors). */
#define PRECIS_MAX_LINK_KINDS     64   /* link_kinds of one retrieve */
#define PRECIS_MAX_AUTH_TOKEN_LEN 4095 /* auth token bytes */

#define PRECIS_DEFAULT_MAX_FRAME (64u << 20)  /* 64 MiB */
#define PRECIS_HARD_MAX_FRAME    (256u << 20) /* configurable up to 256 MiB */
/* Server tuning (connections, in-flight requests, listing sizes) is not
 * part of the installed API: it lives in server/srv_limits.h. */

/* Retrieval defaults, shared by the engine, the server and libprecis so that
 * they cannot drift apart. Chosen across corpora, fitted on some and
 * reported on others (docs/RETRIEVAL.md, "How the defaults were chosen").
 * Seeds: PRECIS_DEFAULT_SEEDS_PER_K * k, at least PRECIS_DEFAULT_SEEDS_MIN;
 * with hops > 0 at most half the pool, so that expansion has room. The
 * graph is walked from the expand_from most similar seeds, by default
 * PRECIS_DEFAULT_EXPAND_FROM(k) = 4 k, 40 at k 10 (since the sixteenth pass
 * on issue 10; ceil(1.5 k) before). */
#define PRECIS_DEFAULT_K              10
#define PRECIS_DEFAULT_SEEDS_PER_K    10
#define PRECIS_DEFAULT_SEEDS_MIN      50
#define PRECIS_DEFAULT_EXPAND_FROM(k) ((k)*4u)
#define PRECIS_DEFAULT_FANOUT         16
#define PRECIS_DEFAULT_POOL           300
/* relevance = r + graph_weight * (sum of path scores), see docs/RETRIEVAL.md */
#define PRECIS_DEFAULT_GRAPH_WEIGHT 2.7f
#define PRECIS_MAX_GRAPH_WEIGHT     10.0f
#define PRECIS_DEFAULT_DECAY        0.2f
/* Specificity (docs/RETRIEVAL.md, "Specificity"): hop 1 weighs a knowledge
 * link u -> x by exp(specificity * (1 - clamp((sim(u, x) - sim(q, x)) /
 * span, -PRECIS_SPECIFICITY_CLAMP, PRECIS_SPECIFICITY_CLAMP))), so a link
 * end that resembles the query as much as its source counts more than one
 * that is its source's own. 0 = every link at its own weight. */
#define PRECIS_DEFAULT_SPECIFICITY 1.0f
#define PRECIS_MAX_SPECIFICITY     4.0f
#define PRECIS_SPECIFICITY_CLAMP   3.0f
/* With hops > 0 the `anchors` most similar seeds carry at least the pool's
 * strongest graph evidence, so they rank above every point the walk
 * reached: the walk adds to the nearest points instead of displacing them.
 * Automatic (PRECIS_ANCHORS_AUTO): PRECIS_DEFAULT_ANCHORS(k) = ceil(k/4),
 * 3 at k 10. */
#define PRECIS_ANCHORS_AUTO       (-1.0f)
#define PRECIS_DEFAULT_ANCHORS(k) (((k) + 3u) / 4u)
#define PRECIS_DEFAULT_LAMBDA     0.5f
#define PRECIS_DEFAULT_A          0.0f
#define PRECIS_DEFAULT_B          0.0f
#define PRECIS_DEFAULT_C          1.0f
/* COMPRESS's one knob, 0 (= TOPK) .. 1 (most diverse); it sets theta unless
 * theta is given (PRECIS_THETA_AUTO means "from diversity"). Unset, it is
 * PRECIS_DEFAULT_DIVERSITY at hops 0 and PRECIS_DEFAULT_DIVERSITY_EXPANDED
 * when the graph is walked (linked points resemble their seeds, and more
 * diversity then removed them again). */
#define PRECIS_DEFAULT_DIVERSITY          0.5f
#define PRECIS_DEFAULT_DIVERSITY_EXPANDED 0.1f
#define PRECIS_DIVERSITY_AUTO             (-1.0f)
/* theta at the default diversity (select_theta_for_diversity(0.5)) */
#define PRECIS_DEFAULT_THETA 2.0f
#define PRECIS_THETA_AUTO    (-1.0f)
/* The similarity floor of MMR and COMPRESS: the chosen set's mean
 * similarity to the query (graph evidence included) stays at least
 * floor x that of the top-k set (m - (1 - floor)|m| for a mean m <= 0).
 * Automatic (PRECIS_SIMILARITY_FLOOR_AUTO), it is
 * 1 - PRECIS_FLOOR_SPAN * diversity for COMPRESS and
 * 1 - PRECIS_FLOOR_SPAN * (1 - lambda) for MMR: 0.975 at the defaults. */
#define PRECIS_SIMILARITY_FLOOR_AUTO (-1.0f)
#define PRECIS_FLOOR_SPAN            0.05f
/* COMPRESS (its log-det term) and MMR (its redundancy) compare points by
 * (1 - w) cosine + w (shared kNN-graph neighbours, cosine of the
 * neighbourhood sets); two points in one region of the graph count as
 * alike even where their own vectors differ (docs/RETRIEVAL.md). Unset, w is
 * PRECIS_DEFAULT_SHARED_NEIGHBOURS at hops 0 and 0 when the graph is
 * walked (it traded linked entries away there). */
#define PRECIS_DEFAULT_SHARED_NEIGHBOURS 0.5f
#define PRECIS_SHARED_NEIGHBOURS_AUTO    (-1.0f)
#define PRECIS_DEFAULT_MAX_REPRESENTED   16

/* ---- filters (docs/PROTOCOL.md, Filter) ---- */
#define PRECIS_MAX_FILTER_GROUPS      64     /* must/should/must_not groups */
#define PRECIS_MAX_FILTER_DEPTH       8      /* nesting of groups */
#define PRECIS_MAX_FILTER_CONDITIONS  256    /* conditions over all groups */
#define PRECIS_MAX_FILTER_VALUES      10000  /* any-of/none-of values and ids */
#define PRECIS_MAX_FILTER_KEY_LEN     256    /* dotted metadata path */
#define PRECIS_MAX_FILTER_KEY_PARTS   16     /* segments of a dotted path */
#define PRECIS_MAX_FILTER_KEYWORD_LEN 1024   /* one keyword value */
#define PRECIS_MAX_PAYLOAD_INDEXES    32     /* payload indexes per collection */
#define PRECIS_MAX_SCROLL_LIMIT       10000  /* points in one scroll page */
#define PRECIS_SCROLL_SCAN_BUDGET     100000 /* stored points one scroll page may examine */

/* ---- search knobs (precis/params.h) ---- */
#define PRECIS_MAX_EF_SEARCH   4096  /* per-request HNSW efSearch */
#define PRECIS_MAX_NPROBE      65536 /* per-request IVF nprobe */
#define PRECIS_MAX_REPRESENTED 1000  /* represented_ids per item */

#endif /* PRECIS_LIMITS_H */
